"""Customers against the card (/rates/customers, issue 14): each customer's rate per :30 beside
what the same spots would have sold for at the company's card (the average rate per :30 of every
customer's spots in the same language code × market × daypart over the period).

Per customer, over the card cells (language code × market × daypart) they bought in:
    at card = Σ card's timed revenue × (customer's seconds in the cell ÷ card's seconds in it),
    that is Σ card rate per :30 × the customer's :30 units in the cell;
    difference = the customer's timed revenue − at card (negative: below the card);
    percent = difference ÷ at card; revenue at stake = |difference|, the sort, largest first.
Only spots with a length count (a rate per :30 needs seconds). Over every customer the
differences add up to zero: the card is their average.

The company's page reads the cuts `customer_card` and `card` of rate_cut_summary; an ae's reads
their own entries of the cube (their customers only), still against the company's card.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict
from datetime import date

import numpy as np

from ctvdb import rate_summary
from ctvdb.web.params import month_label
from ctvdb.web.queries.base import Column, Report, Table, _options
from ctvdb.web.queries.rates import (
    FEW_SPOTS, PERIODS, RateFilters, _link, card_cells, cell_totals, closed_months, period_words, resolve_period,
)

DEFINITIONS = (
    "Counted: spots with a unit rate (gross) above zero, not Trade, not bonus (BNS), by broadcast month; the"
    " comparison is over the spots that have a length. The card: for each language × market × daypart, every"
    " customer's revenue ÷ (seconds ÷ 30) in the period. At card = what a customer's spots would have sold for at"
    " the card: the card's rate per :30 × the customer's :30 units in each cell they bought, added up."
    " Difference = the customer's revenue − at card (negative: below the card); percent = difference ÷ at card;"
    " revenue at stake = the difference without its sign, the order of the table."
)


def customer_cells(conn: sqlite3.Connection, first: int, last: int, ae: str) -> dict:
    """{customer id: {(language code, market, daypart): [spots, revenue, timed revenue, seconds]}}
    of `ae`'s own spots, from their entries of the cube."""
    names, entries = rate_summary.own_cube(conn, ae, first, last)
    out: dict = {}
    for cid, code, market, part, spots, revenue, timed, seconds in rate_summary.grouped(
            [entries["customer"], entries["language"], entries["market"], entries["daypart"]],
            rate_summary.measures(entries)):
        cell = (names["language"][code], names["market"][market], names["daypart"][part])
        out.setdefault(cid, {})[cell] = [int(spots), revenue, timed, int(seconds)]
    return out


def against_card(cells: dict, card: dict) -> dict:
    """One customer's figures from their cells and the company's card cells."""
    spots, revenue, timed, seconds = cell_totals(cells.values())
    at_card = 0.0
    for key, (_, _, _, own_seconds) in cells.items():
        _, _, card_timed, card_seconds = card.get(key, (0, 0.0, 0.0, 0))
        if own_seconds and card_seconds:
            at_card += card_timed * own_seconds / card_seconds
    return _row(spots, revenue, timed, seconds, at_card)


def company_against_card(conn: sqlite3.Connection, first: int, last: int, card: dict) -> dict:
    """{customer id: (spots, revenue, timed revenue, seconds, at card)} of every customer, from the
    customer_card cut, added up by numpy (against_card's arithmetic, for thousands of cells)."""
    values, entries = rate_summary.load_cut(conn, "customer_card", first, last)
    cells = [card.get(tuple(v.split(rate_summary.SEP)), (0, 0.0, 0.0, 0)) for v in values]
    card_timed = np.array([c[2] for c in cells] or [0.0])[entries["value"]]
    card_seconds = np.array([c[3] for c in cells] or [0])[entries["value"]]
    own_seconds = entries["seconds"]
    priced = (own_seconds > 0) & (card_seconds > 0)
    at_card = np.where(priced, card_timed * own_seconds / np.where(priced, card_seconds, 1), 0.0)
    return {cid: (int(spots), revenue, timed, int(seconds), at)
            for cid, spots, revenue, timed, seconds, at in rate_summary.grouped(
                [entries["customer"]],
                [entries["spots"], entries["revenue"], entries["timed_revenue"], entries["seconds"], at_card])}


def _row(spots: int, revenue: float, timed: float, seconds: int, at_card: float) -> dict:
    difference = round(timed - at_card, 2) if seconds else None
    return {"spots": spots, "revenue": round(revenue, 2),
            "per_30": round(timed / (seconds / 30), 2) if seconds else None,
            "card_per_30": round(at_card / (seconds / 30), 2) if seconds else None,
            "timed_revenue": round(timed, 2), "at_card": round(at_card, 2), "difference": difference,
            "difference_pct": round(100.0 * (timed - at_card) / at_card, 1) if seconds and at_card else None,
            "at_stake": abs(difference) if difference is not None else 0.0,
            "_raw": (spots, revenue, timed, seconds, at_card)}


COLUMNS = [Column("name", "Customer", "customer"), Column("spots", "Spots", "int"),
           Column("revenue", "Revenue", "money", minor=True),
           Column("per_30", "Rate per :30", "money"), Column("card_per_30", "Card per :30", "money"),
           Column("timed_revenue", "Revenue with a length", "money", minor=True),
           Column("at_card", "At card", "money", minor=True), Column("difference", "Difference", "change"),
           Column("difference_pct", "Difference %", "change_pct"), Column("at_stake", "Revenue at stake", "money"),
           Column("note", "Note", minor=True), Column("rates", "Rates", "actions"),
           Column("customer_id", "Customer id", "hidden")]


def rates_customers(conn: sqlite3.Connection, path: str, rates_path: str, filters: RateFilters,
                    today: date) -> Report:
    """`path`: this page's; `rates_path`: /rates/, which each customer's row drills into."""
    closed = closed_months(conn)
    first, last = resolve_period(filters, closed, today)
    card = card_cells(conn, first, last)
    names = {r[0]: r[1] for r in conn.execute("SELECT id, name FROM customers")}
    rows = []
    if filters.ae:
        figures = {cid: against_card(cells, card) for cid, cells in customer_cells(conn, first, last, filters.ae).items()}
    else:
        figures = {cid: _row(*totals) for cid, totals in company_against_card(conn, first, last, card).items()}
    for cid, own in figures.items():
        row = {"name": names.get(cid, f"Customer {cid}"), "customer_id": cid, **own}
        row["few"] = row["spots"] < FEW_SPOTS
        row["note"] = "few spots" if row["few"] else "" if row["per_30"] is not None else "no lengths"
        row["rates_href"] = _link(rates_path, filters.args(customer=cid))
        rows.append(row)
    rows.sort(key=lambda r: (-r["at_stake"], -r["revenue"], r["name"]))
    totals = None
    if rows:
        spots, revenue, timed, seconds, at_card = (sum(r["_raw"][i] for r in rows) for i in range(5))
        totals = {"name": "Total", **_row(spots, revenue, timed, seconds, at_card), "note": ""}
        totals["at_stake"] = round(sum(r["at_stake"] for r in rows), 2)   # |each|, not |their sum|
        del totals["_raw"]
    for row in rows:
        del row["_raw"]
    below = [r for r in rows if (r["difference"] or 0) < 0]
    above = [r for r in rows if (r["difference"] or 0) > 0]
    return Report(
        name="rates_customers",
        filters={**{k: v for k, v in asdict(filters).items() if v is not None}, "first_month": first,
                 "last_month": last},
        options={"aes": _options(conn)["aes"], "period_choices": [(k, v) for k, v in PERIODS.items() if k != "custom"]},
        extra={"period_words": period_words(filters, first, last, closed), "definitions": DEFINITIONS,
               "few": FEW_SPOTS, "totals": totals or {}, "below": len(below), "above": len(above),
               "below_stake": round(sum(-r["difference"] for r in below), 2),
               "above_stake": round(sum(r["difference"] for r in above), 2),
               "chart": [(r["name"], r["difference"]) for r in rows[:12] if r["difference"]],
               "span": month_label(first) if first == last else f"{month_label(first)} to {month_label(last)}"},
        tables=[Table("customers", "Customers against the card, by revenue at stake", COLUMNS, rows, totals)],
    )
