"""The customer workbench's reads (DOMAIN.md §7): the resolution queue with its suggestions, the
change log in words, and the customer list. The writes are ctvdb/customers.py's."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb import changes, customers
from ctvdb.names import fold
from ctvdb.similar import SimilarityIndex
from ctvdb.web.params import Filters
from ctvdb.web.queries.base import Column, Report, Table, current_month

SUGGESTIONS = 3
# What a change's before and after hold for a customer, as a person names it.
STATE_WORDS = {"name": "name", "agency_chain": "agency", "active": "active", "reviewed_at": "reviewed",
               "review_reason": "review reason", "revenue_class": "revenue class", "merged_into": "merged into"}


def bill_code_of(name: str, agency_chain: str) -> str:
    return f"{agency_chain}:{name}" if agency_chain else name


def customer_review(conn: sqlite3.Connection) -> Report:
    """Unreviewed customers (active, not merged), highest gross first, each with the figures to
    decide on and up to SUGGESTIONS of the other active customers it most likely is."""
    rows = [dict(r) for r in conn.execute(
        "SELECT c.id AS customer_id, c.name, c.agency_chain, c.version, c.review_reason,"
        " coalesce(sum(s.spots), 0) AS spots, round(total(s.gross), 2) AS gross,"
        " min(s.broadcast_month) AS first_month, max(s.broadcast_month) AS last_month"
        " FROM customers c LEFT JOIN customer_total_summary s ON s.customer_id = c.id"
        " WHERE c.active = 1 AND c.merged_into IS NULL AND c.reviewed_at IS NULL"
        " GROUP BY c.id ORDER BY gross DESC, c.id")]
    aes: dict[int, list[str]] = {}
    for customer_id, ae in conn.execute(
            "SELECT DISTINCT s.customer_id, s.ae FROM customer_total_summary s JOIN customers c"
            " ON c.id = s.customer_id WHERE c.reviewed_at IS NULL AND c.merged_into IS NULL ORDER BY 1, 2"):
        aes.setdefault(customer_id, []).append(ae)
    index = SimilarityIndex(conn.execute(
        "SELECT id, name, agency_chain FROM customers WHERE active = 1 AND merged_into IS NULL ORDER BY id"))
    for row in rows:
        row["bill_code"] = bill_code_of(row["name"], row["agency_chain"])
        row["aes"] = ", ".join(a for a in aes.get(row["customer_id"], []) if a)
        row["suggestions"] = index.suggest(row["bill_code"], SUGGESTIONS, exclude=row["customer_id"])
    columns = [Column("name", "Customer", "customer"), Column("spots", "Spots", "int"),
               Column("gross", "Gross", "money"), Column("first_month", "First month", "month"),
               Column("last_month", "Last month", "month"), Column("aes", "AE"),
               Column("agency_chain", "Agency"), Column("review_reason", "Why it is here", minor=True)]
    return Report("customer_review", {}, [Table("queue", "To review", columns, rows)])


def describe_change(change: changes.Change) -> list[str]:
    """What a change did, before → after, one line per thing it changed."""
    lines = []
    after_codes = change.after.get("codes", {})
    for key, owner in sorted(change.before.get("codes", {}).items()):
        if after_codes.get(key) != owner:
            lines.append(f"bill code {key}: customer #{owner} → #{after_codes.get(key)}")
    after = change.after.get("customers", {})
    for customer_id, state in sorted(change.before.get("customers", {}).items(), key=lambda i: int(i[0])):
        new = after.get(customer_id) or after.get(int(customer_id)) or {}
        for column, word in STATE_WORDS.items():
            old_value, new_value = state.get(column), new.get(column)
            if column in new and old_value != new_value:
                lines.append(f"#{customer_id} {word}: {_word(column, old_value)} → {_word(column, new_value)}")
    return lines


def _word(column: str, value) -> str:
    if value in (None, ""):
        return "direct" if column == "agency_chain" else "none"
    if column == "active":
        return "yes" if value else "no"
    if column == "merged_into":
        return f"#{value}"
    return str(value)


def customer_changes(conn: sqlite3.Connection, limit: int = 500) -> Report:
    rows = [{"id": c.id, "changed_at": c.changed_at, "actor": c.actor, "kind": c.kind, "summary": c.summary,
             "details": describe_change(c), "undone_by": c.undone_by, "undoes": c.undoes,
             "undoable": c.kind in customers.UNDOABLE and c.undone_by is None}
            for c in changes.list_changes(conn, limit=limit)]
    columns = [Column("changed_at", "When", "datetime"), Column("actor", "Who"), Column("kind", "What"),
               Column("summary", "Change")]
    return Report("customer_changes", {}, [Table("changes", "Changes", columns, rows)])


def customer_list(conn: sqlite3.Connection, filters: Filters, today: date, *, revenue_class: str | None = None,
                  active: str | None = None, unreviewed: bool = False) -> Report:
    """Every customer not merged away, with its bill codes and trailing-12-month gross (the
    current broadcast month and the 11 before it), by that gross; the search is accent-blind."""
    last = current_month(today)
    first = (last // 100 - 1) * 100 + last % 100 + 1 if last % 100 < 12 else last // 100 * 100 + 1
    where, args = ["c.merged_into IS NULL"], []
    if filters.sector == "NONE":
        where.append("c.sector_code IS NULL")
    elif filters.sector:
        where.append("c.sector_code = ?")
        args.append(filters.sector)
    if revenue_class:
        where.append("c.revenue_class = ?")
        args.append(revenue_class)
    if active in ("yes", "no"):
        where.append("c.active = ?")
        args.append(int(active == "yes"))
    if unreviewed:
        where.append("c.reviewed_at IS NULL")
    if filters.ae:
        where.append("c.id IN (SELECT customer_id FROM customer_total_summary WHERE ae = ?)")
        args.append(filters.ae)
    rows = [dict(r) for r in conn.execute(
        "SELECT c.id AS customer_id, c.name, c.agency_chain, c.sector_code, coalesce(x.name, '') AS sector,"
        " c.revenue_class, c.active, c.reviewed_at, c.version,"
        " (SELECT round(total(s.gross), 2) FROM customer_total_summary s WHERE s.customer_id = c.id"
        "  AND s.broadcast_month BETWEEN ? AND ?) AS gross_12m"
        f" FROM customers c LEFT JOIN sectors x ON x.code = c.sector_code WHERE {' AND '.join(where)}"
        " ORDER BY gross_12m DESC, c.name", (first, last, *args))]
    if filters.q:
        needle = fold(filters.q)
        rows = [r for r in rows if needle in fold(bill_code_of(r["name"], r["agency_chain"]))]
    codes_of: dict[int, list[str]] = {}
    for code, customer_id in conn.execute("SELECT bill_code, customer_id FROM bill_codes ORDER BY code_key"):
        codes_of.setdefault(customer_id, []).append(code)
    for row in rows:
        row["bill_codes"] = "; ".join(codes_of.get(row["customer_id"], []))
        row["status"] = ("active" if row["active"] else "deactivated") + ("" if row["reviewed_at"] else ", unreviewed")
    columns = [Column("name", "Customer", "customer"), Column("agency_chain", "Agency"),
               Column("bill_codes", "Bill codes", minor=True), Column("sector", "Sector"),
               Column("revenue_class", "Class", minor=True), Column("status", "Status", minor=True),
               Column("gross_12m", "Gross, last 12 months", "money")]
    applied = filters.as_dict() | {"from_month": first, "to_month": last}
    return Report("customer_list", applied, [Table("customers", "Customers", columns, rows)])
