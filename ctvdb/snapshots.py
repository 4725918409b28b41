"""The daily booking snapshot (DOMAIN.md §8): booked spots, gross and net per broadcast month ×
AE × revenue type × market, as one day saw them, for the months from that day's broadcast month
on (the months pace compares).

After every completed import `after_import` replaces the rows of the import's day (a second
import that day replaces the first's) from customer_month_summary, inside the import's
transaction. Earlier days are never rewritten. `store_day` writes a day built elsewhere (the
backfill from a saved workbook, ctvdb/pace_cli.py) the same way.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import zlib
from collections.abc import Iterable

from ctvdb import codes
from ctvdb.changes import utc_now

# (broadcast month, AE, revenue type, market) -> [spots, gross, net]
Figures = dict[tuple[int, str, str, str], list]

_INSERT = "INSERT INTO booking_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def after_import(conn: sqlite3.Connection, today: dt.date, batch_id: int) -> None:
    """Replace today's snapshot with what the database holds now (the summaries are right by
    the time this runs). Runs in the import's transaction."""
    source = conn.execute("SELECT source_file FROM import_batches WHERE id = ?", (batch_id,)).fetchone()
    day = today.isoformat()
    _clear(conn, day)
    conn.execute(
        "INSERT INTO booking_snapshots SELECT broadcast_month, ?, ae, revenue_type, market_code, sum(spots),"
        " round(total(gross), 2), round(total(net), 2) FROM customer_month_summary"
        " WHERE broadcast_month >= ? GROUP BY broadcast_month, ae, revenue_type, market_code",
        (day, codes.broadcast_month(today)))
    _record(conn, day, batch_id, source[0] if source else "")


def store_day(conn: sqlite3.Connection, day: dt.date, figures: Figures, source_file: str) -> int:
    """Replace the snapshot of `day` with `figures` (months before the day's broadcast month are
    left out, as after_import leaves them). Runs in the caller's transaction; returns the rows."""
    first = codes.broadcast_month(day)
    rows = [(month, day.isoformat(), ae, revenue_type, market, spots, round(gross, 2), round(net, 2))
            for (month, ae, revenue_type, market), (spots, gross, net) in sorted(figures.items())
            if month >= first]
    _clear(conn, day.isoformat())
    conn.executemany(_INSERT, rows)
    _record(conn, day.isoformat(), None, source_file)
    return len(rows)


def days(conn: sqlite3.Connection) -> set[str]:
    """The days that have a snapshot, as YYYY-MM-DD."""
    return {row[0] for row in conn.execute("SELECT snapshot_date FROM snapshot_days")}


def _clear(conn: sqlite3.Connection, day: str) -> None:
    conn.execute("DELETE FROM booking_snapshots WHERE snapshot_date = ?", (day,))


def _record(conn: sqlite3.Connection, day: str, batch_id: int | None, source_file: str) -> None:
    conn.execute("INSERT OR REPLACE INTO snapshot_days (snapshot_date, made_at, batch_id, source_file)"
                 " VALUES (?, ?, ?, ?)", (day, utc_now(), batch_id, source_file))


# A made-up history, for the demo and the benchmark only ------------------------------------------

# Share of a month's final bookings on the books t days before it starts: 5 % half a year ahead,
# 70 % when it starts, all of it four weeks in (straight lines between).
def booked_share(days_before: int) -> float:
    if days_before >= 0:
        return max(0.05, 0.70 - 0.65 * days_before / 182)
    return min(1.0, 0.70 + 0.30 * -days_before / 28)


def simulate_history(conn: sqlite3.Connection, today: dt.date, snapshot_days: Iterable[dt.date],
                     months_ahead: int = 12, growth: float = 1.05) -> int:
    """Write snapshots for `snapshot_days` as if bookings had grown towards what the summaries
    hold: a month's figures on day d are its summary × booked_share. A month with no summary
    yet (beyond the data) is projected from the same month a year earlier × `growth`, more or less for each AE, and is
    added to today's snapshot too. Other days that have a snapshot are left alone. Returns rows."""
    have = days(conn)
    wanted = sorted(d for d in set(snapshot_days) if d < today and d.isoformat() not in have or d == today)
    if not wanted:
        return 0
    months = codes.month_span(codes.broadcast_month(wanted[0]), codes.add_months(codes.broadcast_month(wanted[-1]), months_ahead - 1))
    base: dict[int, list] = {}
    projected = set()
    for month in months:
        base[month] = _summary(conn, month)
        if not base[month]:
            projected.add(month)
            base[month] = [(ae, rt, market, round(spots * growth * _spread(ae)), gross * growth * _spread(ae),
                            net * growth * _spread(ae))
                           for ae, rt, market, spots, gross, net in base.get(codes.add_months(month, -12)) or
                           _summary(conn, codes.add_months(month, -12))]
    written = 0
    for day in wanted:
        first, present = codes.broadcast_month(day), set()
        if day.isoformat() in have:
            present = {r[0] for r in conn.execute(
                "SELECT DISTINCT broadcast_month FROM booking_snapshots WHERE snapshot_date = ?", (day.isoformat(),))}
        rows = []
        for month in codes.month_span(first, codes.add_months(first, months_ahead - 1)):
            if month in present or (day == today and month not in projected):
                continue
            share = booked_share((codes.broadcast_start(month) - day).days)
            rows += [(month, day.isoformat(), ae, rt, market, round(spots * share), round(gross * share, 2),
                      round(net * share, 2)) for ae, rt, market, spots, gross, net in base[month]]
        conn.executemany(_INSERT, rows)
        if day.isoformat() not in have:
            _record(conn, day.isoformat(), None, "simulated history")
        written += len(rows)
    return written


def _summary(conn: sqlite3.Connection, month: int) -> list:
    return conn.execute("SELECT ae, revenue_type, market_code, sum(spots), total(gross), total(net)"
                        " FROM customer_month_summary WHERE broadcast_month = ?"
                        " GROUP BY ae, revenue_type, market_code", (month,)).fetchall()


def _spread(ae: str) -> float:
    """0.8 to 1.2, fixed per AE: so that a made-up history has AEs ahead and behind."""
    return 0.8 + 0.4 * (zlib.crc32(ae.encode()) % 101) / 100
