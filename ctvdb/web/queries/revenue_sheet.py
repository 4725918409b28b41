"""The revenue sheet (issue 16): the flat table management's workbook pivots, one row per broadcast
month x customer x agency x AE x revenue type x market x language group x sector, with spots,
gross, net and the month's OPEN/CLOSED status.

It is read from customer_language_summary one broadcast month at a time, through its primary key
(whose first column is the month): SQLite groups each month's rows (their language codes into
their groups, DOMAIN §3, from the languages table like the language page: a spot without a code,
or with an unknown one, is "Other") a month's worth (a few thousand rows) at a time, and `rows`
hands them out a batch (`fetchmany`) at a time, so a five-year sheet costs the server no more
memory than a month's. Agency and sector are the customer's as people decided them (the
workbench), named as the customer revenue page names them. Trade is never stored, so never here.
For CSV a text Excel would take for a formula gets its leading quote in the SQL (downloads.py's
rule) rather than value by value in Python: at 1.5 M spots that loop is most of the time taken.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ctvdb import codes
from ctvdb.web.queries.base import UNASSIGNED

COLUMNS = ("month", "status", "customer_id", "customer", "agency", "sector", "ae", "revenue_type", "market",
           "language_group", "spots", "gross", "net")
BATCH = 1000     # rows fetched from SQLite at a time

# `CROSS JOIN` keeps the summary the outer loop (SQLite never reorders one); the three lookups are
# by primary key. tests/test_api.py checks that the plan reads one month through the primary key.
SQL = """
SELECT ?, ?, s.customer_id, {customer}, {agency}, {sector}, {ae}, {revenue_type}, {market},
       {group} AS language_group, sum(s.spots), round(total(s.gross), 2), round(total(s.net), 2)
FROM customer_language_summary s
CROSS JOIN customers c ON c.id = s.customer_id
LEFT JOIN sectors sec ON sec.code = c.sector_code
LEFT JOIN languages l ON l.code = s.language_code
WHERE s.broadcast_month = ?{where}
GROUP BY s.customer_id, s.ae, s.revenue_type, s.market_code, language_group
ORDER BY s.customer_id, s.ae, s.revenue_type, s.market_code, language_group
"""
TEXTS = {"customer": "c.name", "agency": "c.agency_chain", "sector": f"coalesce(sec.name, '{UNASSIGNED}')",
         "ae": "s.ae", "revenue_type": "s.revenue_type", "market": "s.market_code",
         "group": "coalesce(l.language_group, 'Other')"}
_FORMULA = ("CASE WHEN substr({0}, 1, 1) IN ('=', '+', '-', '@', char(9), char(13))"
            " THEN '''' || {0} ELSE {0} END")


def sql(ae: str | None, quote_formulas: bool = False) -> str:
    texts = {k: _FORMULA.format(v) if quote_formulas else v for k, v in TEXTS.items()}
    return SQL.format(where=" AND s.ae = ?" if ae else "", **texts)


def arguments(month: int, closed: bool, ae: str | None) -> list:
    return [f"{month // 100}-{month % 100:02d}", "CLOSED" if closed else "OPEN", month] + ([ae] if ae else [])


def closed_months(conn: sqlite3.Connection, first: int, last: int) -> frozenset[int]:
    return frozenset(r[0] for r in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month BETWEEN ? AND ?", (first, last)))


def rows(conn: sqlite3.Connection, first: int, last: int, ae: str | None = None,
         quote_formulas: bool = False) -> Iterator[list[tuple]]:
    """Batches of sheet rows (COLUMNS) for months first..last, one AE's with `ae`; with
    `quote_formulas` (CSV) a text starting =, +, -, @, tab or CR gets a leading quote."""
    closed = closed_months(conn, first, last)
    query = sql(ae, quote_formulas)
    for month in codes.month_span(first, last):
        cursor = conn.execute(query, arguments(month, month in closed, ae))
        while batch := cursor.fetchmany(BATCH):
            yield batch
