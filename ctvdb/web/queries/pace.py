"""Booking pace (DOMAIN.md §8): how much of each coming month is booked as of today, against how
much of the same month a year earlier had been booked the same number of days before it began.

Everything is read from booking_snapshots (ctvdb/snapshots.py) and, for last year's final
figures, the customer summaries. "As of" a day is the latest snapshot on or before that day.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from ctvdb.codes import broadcast_end as month_end, broadcast_start as month_start
from ctvdb.web.curves import booking_curve
from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import (
    PACE_AHEAD, PACE_BEHIND, Column, Report, Table, _customer_table, _months_back, _options, _pct, _money,
    _where, current_month,
)

MONTHS_AHEAD = 12       # the current month and the eleven after it
CURVE_DAYS = 182        # the booking curve starts half a year before the month
PACE_SENTENCE = (f"Pace is booked now as a % of what last year's month had booked at the same point, shaded"
                 f" behind under {PACE_BEHIND:.0f} %, near from {PACE_BEHIND:.0f} % to {PACE_AHEAD:.0f} %,"
                 f" ahead from {PACE_AHEAD:.0f} %")
DIMENSIONS = (("aes", "ae", "AE", "AE", "ae"), ("revenue_types", "revenue_type", "Revenue type", "revenue type", "text"),
              ("markets", "market_code", "Market", "market", "text"))


def snapshot_version(conn: sqlite3.Connection) -> tuple:
    """Changes with every snapshot written, backfilled ones too (they are no import): part of
    the pace page's cache key."""
    return tuple(conn.execute("SELECT count(*), max(made_at) FROM snapshot_days").fetchone())


def pace_months(today: date) -> list[int]:
    now = current_month(today)
    return [_months_back(now, -i) for i in range(MONTHS_AHEAD)]


def as_of_last_year(month: int, today: date) -> date:
    """The day a year earlier that is as many days before month − 12 starts as today is before
    `month` starts (broadcast months start on a Monday, so the two days share a weekday)."""
    return month_start(_months_back(month, 12)) - (month_start(month) - today)


def _latest_day(conn, day: date) -> str | None:
    return conn.execute("SELECT max(snapshot_date) FROM snapshot_days WHERE snapshot_date <= ?",
                        (day.isoformat(),)).fetchone()[0]


def _snapshot(conn, month: int, day: str | None, group: str | None, where: str, params: list) -> dict:
    """{group value: gross} of one month in the snapshot of `day` ({None: gross} ungrouped)."""
    if day is None:
        return {}
    key = f"s.{group}" if group else "NULL"
    return {r[0]: r[1] for r in conn.execute(
        f"SELECT {key}, total(s.gross) FROM booking_snapshots s WHERE s.broadcast_month = ?"
        f" AND s.snapshot_date = ?{where} GROUP BY 1", [month, day] + params)}


def _finals(conn, filters: Filters, first: int, last: int, group: str | None, where: str, params: list) -> dict:
    """{(month, group value): gross} of the months first..last from the summaries."""
    table = "customer_month_summary" if group == "market_code" else _customer_table(filters)
    key = f"s.{group}" if group else "NULL"
    return {(r[0], r[1]): r[2] for r in conn.execute(
        f"SELECT s.broadcast_month, {key}, total(s.gross) FROM {table} s"
        f" WHERE s.broadcast_month BETWEEN ? AND ?{where} GROUP BY 1, 2", [first, last] + params)}


def _figures(booked: float | None, last_year: float | None, final: float | None) -> dict:
    return {"booked": _money(booked), "last_year": None if last_year is None else _money(last_year),
            "pace": _pct(booked or 0.0, last_year) if last_year is not None else None,
            "change": None if last_year is None else _money((booked or 0.0) - last_year),
            "final": _money(final), "of_final": _pct(booked or 0.0, final or 0.0),
            "last_year_share": _pct(last_year or 0.0, final or 0.0) if last_year is not None else None}


FIGURE_COLUMNS = [
    Column("booked", "Booked now", "money"),
    Column("last_year", "Last year, same point", "money"),
    Column("pace", "Pace", "pace"),
    Column("change", "Change", "change", minor=True),
    Column("final", "Last year's final", "money"),
    Column("of_final", "Now, % of last year's final", "pct", minor=True),
    Column("last_year_share", "Last year, % of final then", "pct", minor=True),
]


def booking_pace(conn: sqlite3.Connection, month: int | None, history: tuple, *, filters: Filters,
                 today: date) -> Report:
    """The pace of every month from the current one on, and for `month` (default: the current
    one) the same per AE, revenue type and market, and its booking curve against last year's.
    `history` is snapshot_version's value: only the cache key needs it."""
    options = _options(conn)
    months = pace_months(today)
    chosen = month or months[0]
    where, params = _where(filters, "s", classes=False)
    latest = _latest_day(conn, today)
    first_day = conn.execute("SELECT min(snapshot_date) FROM snapshot_days").fetchone()[0]
    finals = _finals(conn, filters, _months_back(months[0], 12), _months_back(months[-1], 12), None, where, params)

    rows, unknown = [], []
    for m in months:
        last_year, aligned = _months_back(m, 12), as_of_last_year(m, today)
        then = _latest_day(conn, aligned)
        booked = _snapshot(conn, m, latest, None, where, params).get(None)
        before = _snapshot(conn, last_year, then, None, where, params).get(None, 0.0) if then else None
        final = finals.get((last_year, None))
        if then is None:
            unknown.append(m)
        if m in (chosen, months[0]) or booked or before:
            rows.append({"month": m, "aligned": aligned.isoformat(), "snapshot": then,
                         **_figures(booked, before, final)})

    last_year = _months_back(chosen, 12)
    aligned = as_of_last_year(chosen, today)
    then = _latest_day(conn, aligned)
    tables = [Table("months", f"Booked as of {latest or 'today'} against last year at the same point",
                    [Column("month", "Month", "month"), Column("aligned", "Last year as of", "date", minor=True)]
                    + FIGURE_COLUMNS + [Column("snapshot", "Last year's snapshot", "date", minor=True)], rows)]
    for name, group, label, words, kind in DIMENSIONS:
        now = _snapshot(conn, chosen, latest, group, where, params)
        before = _snapshot(conn, last_year, then, group, where, params)
        final = {k[1]: v for k, v in _finals(conn, filters, last_year, last_year, group, where, params).items()}
        keys = sorted(set(now) | set(before) | set(final), key=lambda k: (-(now.get(k) or 0.0), k))
        table_rows = [{"key": k or "(none)", **_figures(now.get(k), before.get(k, 0.0) if then else None,
                                                         final.get(k))} for k in keys]
        totals = {"key": "Total", **_figures(sum(now.values()), sum(before.values()) if then else None,
                                             sum(final.values()))}
        tables.append(Table(name, f"{month_label(chosen)} by {words}",
                            [Column("key", label, kind)] + FIGURE_COLUMNS, table_rows, totals))

    curve = _curve(conn, chosen, today, finals.get((last_year, None)), where, params)
    return Report(
        name="booking_pace",
        filters={**filters.as_dict(), "from_month": chosen, "to_month": chosen,
                 "first_month": chosen, "last_month": chosen},
        options={**options, "months": months},
        extra={"latest": latest, "first_day": first_day, "today": today.isoformat(),
               "unknown": unknown, "needed": min(as_of_last_year(m, today) for m in unknown).isoformat() if unknown else None,
               "chosen": chosen, "last_year_month": last_year, "aligned": aligned.isoformat(), "then": then,
               "curve": curve, "chart": booking_curve(curve), "pace_words": PACE_SENTENCE},
        tables=tables,
    )


def _curve(conn, month: int, today: date, final: float | None, where: str, params: list) -> dict:
    """Booked as a % of last year's final, by days from the month's start (negative before it),
    for `month` up to today and for the month a year earlier over the same stretch."""
    series = {}
    for name, m, until in (("this", month, today), ("last", _months_back(month, 12), None)):
        start = month_start(m)
        end = min(until, month_end(m)) if until else month_end(m)
        points = conn.execute(
            f"SELECT s.snapshot_date, total(s.gross) FROM booking_snapshots s WHERE s.broadcast_month = ?"
            f" AND s.snapshot_date BETWEEN ? AND ?{where} GROUP BY 1",
            [m, (start - timedelta(days=CURVE_DAYS)).isoformat(), end.isoformat()] + params).fetchall()
        series[name] = [((date.fromisoformat(d) - start).days, round(100.0 * gross / final, 1))
                        for d, gross in points] if final else []
    return {"month": month, "last_year_month": _months_back(month, 12), "final": _money(final),
            "days": (month_end(month) - month_start(month)).days + 1, "from_days": CURVE_DAYS, **series}
