"""The planning pages (DOMAIN.md §8): a year of budget, forecast, booked and last year per AE and
month, and the history of the cells with a month's forecasts as they stood on a day.

Booked is the gross of customer_total_summary (Trade is never stored); the pacing figures of
each row are revenue.py's, so the planning page and management performance agree to the cent.
"""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb import planning
from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import Column, Report, Table, _months, _options, current_month
from ctvdb.web.queries.revenue import PACE_COLUMNS, _company, _pace

LINES = (("budget", "Budget"), ("forecast", "Forecast"), ("booked", "Booked"), ("last_year", "Last year"))


def planning_grid(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    """The year `filters.year` (default this year) for every AE, or the one of `filters.ae`."""
    year = filters.year or today.year
    first, last = year * 100 + 1, year * 100 + 12
    months = _months(first, last)
    ae_sql, ae_args = (" AND ae = ?", [filters.ae]) if filters.ae else ("", [])
    booked: dict[str, dict[int, float]] = {}
    for ae, month, gross in conn.execute(
            "SELECT ae, broadcast_month, total(gross) FROM customer_total_summary"
            f" WHERE broadcast_month BETWEEN ? AND ?{ae_sql} GROUP BY 1, 2", [first - 100, last] + ae_args):
        booked.setdefault(ae, {})[month] = gross
    plans = {}
    for kind, table in planning.TABLES.items():
        plans[kind] = {}
        for ae, month, amount in conn.execute(
                f"SELECT ae, broadcast_month, amount FROM {table} WHERE broadcast_month BETWEEN ? AND ?{ae_sql}",
                [first, last] + ae_args):
            plans[kind].setdefault(ae, {})[month] = amount
    closed = frozenset(planning.closed_months(conn, first, last))
    aes = sorted(set(booked) | set(plans["budget"]) | set(plans["forecast"]))

    def grid_row(name: str, booked_by_month: dict, budget: dict, forecast: dict) -> dict:
        cells = [{"month": m, "budget": budget.get(m), "forecast": forecast.get(m),
                  "booked": round(booked_by_month.get(m, 0.0), 2), "last_year": round(booked_by_month.get(m - 100, 0.0), 2),
                  "closed": m in closed} for m in months]
        return {"ae": name, "cells": cells, "year": _pace(months, booked_by_month, budget, forecast, closed)}

    grid = [grid_row(ae, booked.get(ae, {}), plans["budget"].get(ae, {}), plans["forecast"].get(ae, {}))
            for ae in aes]
    total, goal = _company(months + [m - 100 for m in months], booked, plans["budget"], aes)
    _, expected = _company(months, {}, plans["forecast"], aes)
    company = grid_row("Company", total, goal, expected) if not filters.ae else None
    ae_rows = [{"ae": row["ae"], **row["year"]} for row in grid]
    cell_rows = [{"ae": row["ae"], "month": c["month"], "status": "CLOSED" if c["closed"] else "OPEN",
                  **_pace([c["month"]], booked.get(row["ae"], {}), plans["budget"].get(row["ae"]),
                          plans["forecast"].get(row["ae"]), closed)} for row in grid for c in row["cells"]]
    options = _options(conn)
    options["years"] = sorted(set(options["years"]) | {today.year + 1, year}, reverse=True)
    options["aes"] = sorted(set(options["aes"]) | set(aes))
    return Report(
        name="planning_grid",
        filters={**filters.as_dict(), "year": year},
        options=options,
        extra={"grid": grid, "company": company, "months": months, "year": year,
               "current_month": current_month(today), "since": planning.last_change_id(conn)},
        tables=[
            Table("aes", f"Each AE, {year}", [Column("ae", "AE", "ae")] + PACE_COLUMNS, ae_rows,
                  {"ae": "Company", **company["year"]} if company else None),
            Table("cells", f"Each AE by month, {year}",
                  [Column("ae", "AE", "ae"), Column("month", "Month", "month"), Column("status", "Status")]
                  + PACE_COLUMNS, cell_rows),
        ],
    )


HISTORY_COLUMNS = [Column("changed_at", "When", "datetime"), Column("changed_by", "Who"),
                   Column("how", "How"), Column("old_amount", "Before", "money"),
                   Column("new_amount", "After", "money")]


def planning_history(conn: sqlite3.Connection, kind: str, month: int, as_of: date,
                     filters: Filters, today: date) -> Report:
    """The changes to `kind` in `month` (one AE's with `filters.ae`), and each AE's figure as it
    stood at the end of `as_of` beside the figure now: "what did we forecast for March on 1 February?"."""
    changes = planning.history(conn, kind, month, filters.ae)
    then = planning.as_of(conn, kind, month, as_of, filters.ae)
    now = {ae: {"amount": amount} for ae, amount in conn.execute(
        f"SELECT ae, amount FROM {planning.TABLES[kind]} WHERE broadcast_month = ?"
        + (" AND ae = ?" if filters.ae else ""), [month] + ([filters.ae] if filters.ae else []))}
    rows = []
    for ae in sorted(set(then) | set(now)):
        before, after = then.get(ae, {}).get("amount"), now.get(ae, {}).get("amount")
        rows.append({"ae": ae, "then": before, "set_at": then.get(ae, {}).get("changed_at"),
                     "set_by": then.get(ae, {}).get("changed_by"), "now": after,
                     "change": None if before is None or after is None else round(after - before, 2)})
    total_then = round(sum(r["then"] or 0.0 for r in rows), 2)
    total_now = round(sum(r["now"] or 0.0 for r in rows), 2)
    label, words = month_label(month), kind.title()
    return Report(
        name="planning_history",
        filters={**filters.as_dict(), "kind": kind, "month": month, "as_of": as_of.isoformat()},
        options=_options(conn),
        extra={"kind": kind, "month": month, "as_of": as_of, "today": today},
        tables=[
            Table("as_of", f"{words}s for {label} as they stood on {as_of:%b} {as_of.day}, {as_of.year}",
                  [Column("ae", "AE", "ae"), Column("then", f"{words} then", "money"),
                   Column("set_at", "Set at", "datetime"), Column("set_by", "Set by"),
                   Column("now", f"{words} now", "money"), Column("change", "Change since", "change")],
                  rows, {"ae": "Total", "then": total_then, "now": total_now,
                         "change": round(total_now - total_then, 2)} if rows else None),
            Table("changes", f"Every change to the {kind}s for {label}",
                  [Column("ae", "AE", "ae")] + HISTORY_COLUMNS, changes),
        ],
    )
