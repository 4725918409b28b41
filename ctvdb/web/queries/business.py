"""New and changed business (DOMAIN.md §8): contracts added in the last N days, cancellations
and reductions between the two latest import days, and spots waiting for copy.

The first two read what ctvdb/contracts.py keeps after every import (contracts_seen and the
daily contract_snapshots); the third reads the spots through their copy index. Each table's
function takes `filters` (an ae user's own AE) and `today`, so the daily pages (/me, /manager)
show the same tables as /reports/new-business.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from ctvdb.web.params import Filters
from ctvdb.web.queries.base import Column, Report, Table, _money, _options, _pct, current_month

ADDED_DAYS = 15                 # contracts added: first seen within (today − N days, today]
# A cancellation or reduction: open-month gross fell by more than both of these.
DROP_SHARE_PCT, DROP_DOLLARS = 10, 500
COPY_DAYS = 14                  # waiting for copy: airing from today to today + 14 days
COPY_PHRASES = ("NEED COPY", "TBD COPY", "COPY TBA")
# The condition of the spots_copy index, repeated word for word so that SQLite uses it.
_COPY_INDEXED = "instr(upper(s.media), 'COPY') > 0"


def _ae_clause(filters: Filters, alias: str) -> tuple[str, list]:
    """An ae user's own rows (or the AE chosen); `alias` '+s' keeps SQLite off the AE's index."""
    return (f" AND {alias}.ae = ?", [filters.ae]) if filters.ae else ("", [])


def customers_now(conn: sqlite3.Connection, ids) -> dict[int, dict]:
    """id -> the customer it is now (id, name, agency): one merged since is its survivor; one
    that no longer exists (a split undone) is named by its id."""
    found: dict[int, dict] = {}
    wanted = {int(i) for i in ids}
    for _ in range(20):   # a survivor merged again later: follow the chain, a few links at most
        ask = sorted(i for i in wanted if i not in found)
        if not ask:
            break
        for r in conn.execute("SELECT id, name, agency_chain, merged_into FROM customers"
                              " WHERE id IN (SELECT value FROM json_each(?))", (f"[{','.join(map(str, ask))}]",)):
            found[r[0]] = {"id": r[0], "name": r[1], "agency": r[2], "merged_into": r[3]}
        wanted = {c["merged_into"] for c in found.values() if c["merged_into"] is not None}
    out = {}
    for i in {int(i) for i in ids}:
        customer, hops = found.get(i), 0
        while customer and customer["merged_into"] in found and hops < 20:
            customer, hops = found[customer["merged_into"]], hops + 1
        out[i] = customer or {"id": None, "name": f"customer {i} (no longer exists)", "agency": ""}
    return out


def with_customer(row: dict, customer: dict) -> dict:
    return row | {"customer_id": customer["id"], "customer": customer["name"], "agency": customer["agency"]}


# Contracts added ----------------------------------------------------------------------------------

def contracts_added(conn: sqlite3.Connection, filters: Filters, today: date, days: int = ADDED_DAYS) -> Table:
    """Contracts first seen in (today − days, today], as booked in the latest import day (on or
    before today) that still had them: their months, spots and gross; largest first."""
    ae_sql, ae_args = _ae_clause(filters, "s")
    rows = [dict(r) for r in conn.execute(
        "SELECT a.contract, a.first_seen, s.snapshot_date AS last_seen, s.customer_id, s.ae,"
        " min(s.broadcast_month) AS first_month, max(s.broadcast_month) AS last_month,"
        " sum(s.spots) AS spots, total(s.gross) AS gross"
        " FROM contracts_seen a JOIN contract_snapshots s ON s.contract = a.contract"
        " AND s.snapshot_date = (SELECT max(l.snapshot_date) FROM contract_snapshots l"
        "                        WHERE l.contract = a.contract AND l.snapshot_date <= ?)"
        f" WHERE a.first_seen > ? AND a.first_seen <= ?{ae_sql}"
        " GROUP BY a.contract, s.customer_id, s.ae",
        [today.isoformat(), (today - timedelta(days=days)).isoformat(), today.isoformat()] + ae_args)]
    customers = customers_now(conn, {r["customer_id"] for r in rows})
    rows = [with_customer(r, customers[r["customer_id"]]) | {"gross": _money(r["gross"])} for r in rows]
    rows.sort(key=lambda r: (-r["gross"], r["contract"]))
    return Table("added", f"Contracts added in the last {days} days", [
        Column("contract", "Contract"), Column("customer", "Customer", "customer"),
        Column("customer_id", "Customer id", "hidden"), Column("agency", "Agency", minor=True),
        Column("ae", "AE", "ae"), Column("first_seen", "First seen", "date", minor=True),
        Column("first_month", "From", "month"), Column("last_month", "To", "month"),
        Column("spots", "Spots", "int"), Column("gross", "Gross", "money"),
        Column("last_seen", "Booked as of", "date", minor=True)], rows)


# Cancellations and reductions -------------------------------------------------------------------

def snapshot_days(conn: sqlite3.Connection, today: date) -> tuple[str | None, str | None]:
    """(later, earlier): the two latest import days with a contract snapshot, on or before today."""
    later = conn.execute("SELECT max(snapshot_date) FROM contract_snapshots WHERE snapshot_date <= ?",
                         (today.isoformat(),)).fetchone()[0]
    earlier = later and conn.execute("SELECT max(snapshot_date) FROM contract_snapshots WHERE snapshot_date < ?",
                                     (later,)).fetchone()[0]
    return later, earlier


def is_reduction(before: float, after: float) -> bool:
    """Fell by more than DROP_SHARE_PCT % and more than DROP_DOLLARS; compared in cents, so that
    exactly 10 % or exactly $500 is not a reduction whatever the floating point says."""
    before_cents, drop_cents = round(before * 100), round(before * 100) - round(after * 100)
    return drop_cents * 100 > DROP_SHARE_PCT * before_cents and drop_cents > DROP_DOLLARS * 100


def reductions(conn: sqlite3.Connection, filters: Filters, today: date) -> Table:
    """Contracts whose booked gross over the months from the later day's broadcast month on fell
    between the two latest import days (a contract gone from the later day is at 0); biggest
    drop first. No rows while there is only one import day."""
    later, earlier = snapshot_days(conn, today)
    columns = [Column("contract", "Contract"), Column("customer", "Customer", "customer"),
               Column("customer_id", "Customer id", "hidden"), Column("agency", "Agency", minor=True),
               Column("ae", "AE", "ae"), Column("what", "What"), Column("before", "Before", "money"),
               Column("after", "After", "money"), Column("change", "Change", "change"),
               Column("change_pct", "Change %", "change_pct")]
    title = "Cancellations and reductions"
    if not earlier:
        return Table("reductions", title, columns, [])
    ae_sql, ae_args = _ae_clause(filters, "s")
    contracts: dict[str, dict] = {}
    for r in conn.execute(
            "SELECT s.snapshot_date, s.contract, s.customer_id, s.ae, total(s.gross) FROM contract_snapshots s"
            f" WHERE s.snapshot_date IN (?, ?) AND s.broadcast_month >= ?{ae_sql}"
            " GROUP BY 1, 2, 3, 4",
            [later, earlier, current_month(date.fromisoformat(later))] + ae_args):
        c = contracts.setdefault(r[1], {"before": 0.0, "after": 0.0, "by": {}})
        c["after" if r[0] == later else "before"] += r[4]
        if r[0] == earlier:   # named by whoever held most of it before
            c["by"][(r[2], r[3])] = c["by"].get((r[2], r[3]), 0.0) + r[4]
    dropped = {k: c for k, c in contracts.items() if c["by"] and is_reduction(c["before"], c["after"])}
    owners = {k: max(c["by"], key=c["by"].get) for k, c in dropped.items()}
    customers = customers_now(conn, {customer_id for customer_id, _ in owners.values()})
    rows = []
    for contract, c in dropped.items():
        customer_id, ae = owners[contract]
        before, after = _money(c["before"]), _money(c["after"])
        rows.append(with_customer({"contract": contract, "ae": ae, "what": "reduced" if after else "cancelled",
                          "before": before, "after": after, "change": _money(after - before),
                          "change_pct": _pct(after - before, before)}, customers[customer_id]))
    rows.sort(key=lambda r: (r["change"], r["contract"]))
    return Table("reductions", f"{title}: {_day(earlier)} to {_day(later)}", columns, rows)


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%a %-d %b %Y")


# Waiting for copy --------------------------------------------------------------------------------

def waiting_for_copy(conn: sqlite3.Connection, filters: Filters, today: date) -> Table:
    """Spots airing from today to today + COPY_DAYS whose Media/Name/Program says the copy is not
    there yet (COPY_PHRASES, any case); soonest first."""
    # `+s.ae`: not through the AE's index, which would read every spot the AE ever sold
    ae_sql, ae_args = _ae_clause(filters, "+s")
    phrases = " OR ".join("instr(upper(s.media), ?) > 0" for _ in COPY_PHRASES)
    rows = [dict(r) for r in conn.execute(
        "SELECT s.id AS spot_id, s.air_date, s.time_in, s.customer_id, s.ae, s.contract, s.media,"
        " s.gross_rate AS gross FROM spots s"
        f" WHERE {_COPY_INDEXED} AND s.air_date BETWEEN ? AND ? AND ({phrases}){ae_sql}"
        " ORDER BY s.air_date, s.time_in, s.id",
        [today.isoformat(), (today + timedelta(days=COPY_DAYS)).isoformat(), *COPY_PHRASES] + ae_args)]
    customers = customers_now(conn, {r["customer_id"] for r in rows})
    rows = [with_customer(r, customers[r["customer_id"]]) | {"gross": _money(r["gross"])} for r in rows]
    return Table("copy", f"Waiting for copy, airing in the next {COPY_DAYS} days", [
        Column("air_date", "Air date", "date"), Column("time_in", "Time"),
        Column("customer", "Customer", "customer"), Column("customer_id", "Customer id", "hidden"),
        Column("agency", "Agency", minor=True), Column("ae", "AE", "ae"), Column("contract", "Contract"),
        Column("media", "Media/Name/Program"), Column("gross", "Gross", "money"),
        Column("spot_id", "Spot", "hidden")], rows)


# The page -----------------------------------------------------------------------------------------

def new_business(conn: sqlite3.Connection, days: int, filters: Filters, today: date) -> Report:
    later, earlier = snapshot_days(conn, today)
    return Report(
        name="new_business",
        filters={"ae": filters.ae, "days": days} if filters.ae else {"days": days},
        tables=[contracts_added(conn, filters, today, days), reductions(conn, filters, today),
                waiting_for_copy(conn, filters, today)],
        options={"aes": _options(conn)["aes"]},
        extra={"added_from": today - timedelta(days=days - 1), "today": today, "later": later,
               "earlier": earlier, "copy_until": today + timedelta(days=COPY_DAYS),
               "drop_words": f"more than {DROP_SHARE_PCT} % and more than ${DROP_DOLLARS:,}",
               "copy_phrases": COPY_PHRASES})
