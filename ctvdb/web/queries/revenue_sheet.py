"""The revenue sheet (issue 16): the flat table management's workbook pivots, one row per broadcast
month x customer x agency x AE x revenue type x market x language group x sector, with spots,
gross, net and the month's OPEN/CLOSED status.

It is read from customer_language_summary in its primary key's order, so SQLite hands the rows
over as it walks the index, with no sort that would hold the whole answer first; `rows` yields
them a batch (`fetchmany`) at a time and `api.revenue_sheet` streams each batch out as it comes,
so a five-year sheet costs the server no more memory than a month's. The language codes of one
month x customer x AE x revenue type x market are added up into their groups (DOMAIN §3, from
the languages table like the language page: a spot without a code, or with an unknown one, is
"Other"). Agency and sector are the customer's as people decided them (the workbench), named as
the customer revenue page names them. Trade is never stored, so never here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ctvdb.web.queries.base import UNASSIGNED

COLUMNS = ("month", "status", "customer_id", "customer", "agency", "sector", "ae", "revenue_type", "market",
           "language_group", "spots", "gross", "net")
BATCH = 1000     # rows fetched from SQLite at a time (a few MB of Python objects)

# `CROSS JOIN` keeps the summary the outer loop (SQLite never reorders one), so the rows come in its
# key order; the three lookups are by primary key. tests/test_api.py checks the plan has no sort.
SQL = """
SELECT s.broadcast_month, s.customer_id, c.name, c.agency_chain, coalesce(sec.name, ?), s.ae, s.revenue_type,
       s.market_code, coalesce(l.language_group, 'Other'), s.spots, s.gross, s.net
FROM customer_language_summary s
CROSS JOIN customers c ON c.id = s.customer_id
LEFT JOIN sectors sec ON sec.code = c.sector_code
LEFT JOIN languages l ON l.code = s.language_code
WHERE s.broadcast_month BETWEEN ? AND ?{where}
ORDER BY s.broadcast_month, s.customer_id, s.ae, s.revenue_type, s.market_code
"""


def sql(ae: str | None) -> str:
    # `+s.ae`: an AE compared as a plain filter, or SQLite takes it for a constant, drops it from the
    # order and then sorts what the index already orders.
    return SQL.format(where=" AND +s.ae = ?" if ae else "")


def arguments(first: int, last: int, ae: str | None) -> list:
    return [UNASSIGNED, first, last] + ([ae] if ae else [])


def closed_months(conn: sqlite3.Connection, first: int, last: int) -> frozenset[int]:
    return frozenset(r[0] for r in conn.execute(
        "SELECT broadcast_month FROM month_closures WHERE broadcast_month BETWEEN ? AND ?", (first, last)))


def rows(conn: sqlite3.Connection, first: int, last: int, ae: str | None = None) -> Iterator[list[tuple]]:
    """Batches of sheet rows (COLUMNS, the month as YYYYMM) for months first..last, one AE's with
    `ae`. Rows that differ only in language code are one row per language group."""
    closed = closed_months(conn, first, last)
    cursor = conn.execute(sql(ae), arguments(first, last, ae))
    key, groups = None, {}
    while True:
        fetched = cursor.fetchmany(BATCH)
        out = []
        for month, cid, name, agency, sector, row_ae, rtype, market, group, spots, gross, net in fetched:
            here = (month, cid, row_ae, rtype, market)
            if here != key:
                if key is not None:
                    out.extend(_flush(groups, closed))
                key, groups = here, {}
            found = groups.get(group)
            if found is None:
                groups[group] = [month, cid, name, agency, sector, row_ae, rtype, market, group, spots, gross, net]
            else:
                found[9] += spots
                found[10] += gross
                found[11] += net
        if not fetched:
            if key is not None:
                out.extend(_flush(groups, closed))
            if out:
                yield out
            return
        if out:
            yield out


def _flush(groups: dict, closed: frozenset) -> list[tuple]:
    out = []
    for group in sorted(groups):
        month, cid, name, agency, sector, ae, rtype, market, grp, spots, gross, net = groups[group]
        out.append((f"{month // 100}-{month % 100:02d}", "CLOSED" if month in closed else "OPEN", cid, name,
                    agency, sector, ae, rtype, market, grp, spots, round(gross, 2), round(net, 2)))
    return out
