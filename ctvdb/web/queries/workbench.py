"""The customer workbench's reads (DOMAIN.md §7): the resolution queue with its suggestions, the
change log in words, and the customer list. The writes are ctvdb/customers.py's."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date

from ctvdb import changes, customers
from ctvdb.names import fold
from ctvdb.similar import SimilarityIndex
from ctvdb.web.params import Filters, month_label
from ctvdb.web.queries.base import Column, Report, Table, _months_back, current_month

SUGGESTIONS = 3
# The queue offers "same as" only for names this alike: below it two businesses that merely share a
# word ("Royal Tax Service", "Ocean Tax Service" score 82) would be one click from being merged.
QUEUE_MIN_SCORE = 85
# What a change's before and after hold for a customer, as a person names it.
STATE_WORDS = {"name": "name", "agency_chain": "agency", "active": "active", "reviewed_at": "reviewed",
               "review_reason": "review reason", "revenue_class": "revenue class", "merged_into": "merged into"}


def bill_code_of(name: str, agency_chain: str) -> str:
    return f"{agency_chain}:{name}" if agency_chain else name


def similarity_version(conn: sqlite3.Connection) -> tuple:
    """What the suggestions' index depends on: every customer's id, name and agency (a digest, a
    few ms at 5,000 customers). A merge, an alias or a deactivation leaves it as it is: those
    customers are excluded when suggesting, so the index is not built again after each decision."""
    names = conn.execute("SELECT count(*), group_concat(id || ':' || name || ':' || agency_chain, '|')"
                         " FROM (SELECT id, name, agency_chain FROM customers ORDER BY id)").fetchone()
    return names[0], hashlib.blake2b((names[1] or "").encode(), digest_size=16).hexdigest()


def similarity_index(conn: sqlite3.Connection) -> SimilarityIndex:
    """Every customer's name, folded and keyed once (about 90 ms at 5,000 customers)."""
    return SimilarityIndex(conn.execute("SELECT id, name, agency_chain FROM customers ORDER BY id"))


def customer_review(conn: sqlite3.Connection, index: SimilarityIndex, page: int = 1, per_page: int = 15) -> Report:
    """One page of the unreviewed customers (active, not merged), highest gross first (those a
    person left for later behind the rest, the longest-waiting first), each with
    the figures to decide on and up to SUGGESTIONS of the other active customers it most likely is.
    A page at a time: the suggestions cost a few ms a customer, and at adoption every customer waits."""
    total = conn.execute("SELECT count(*) FROM customers WHERE active = 1 AND merged_into IS NULL"
                         " AND reviewed_at IS NULL").fetchone()[0]
    # Every customer's all-time totals, one row each (at adoption every customer waits).
    rows = [dict(r) for r in conn.execute(
        "SELECT c.id AS customer_id, c.name, c.agency_chain, c.version, c.review_reason,"
        " coalesce(t.spots, 0) AS spots, round(coalesce(t.gross, 0), 2) AS gross, t.first_month, t.last_month"
        " FROM customers c LEFT JOIN customer_lifetime_summary t ON t.customer_id = c.id"
        " WHERE c.active = 1 AND c.merged_into IS NULL AND c.reviewed_at IS NULL"
        " ORDER BY c.review_later_at IS NOT NULL, c.review_later_at, gross DESC, c.id LIMIT ? OFFSET ?",
        (per_page, (page - 1) * per_page))]
    aes: dict[int, list[str]] = {}
    for customer_id, ae in conn.execute(
            "SELECT DISTINCT customer_id, ae FROM customer_total_summary"
            " WHERE customer_id IN (SELECT value FROM json_each(?)) ORDER BY 1, 2",
            ("[" + ",".join(str(r["customer_id"]) for r in rows) + "]",)):
        aes.setdefault(customer_id, []).append(ae)
    gone = {r[0] for r in conn.execute("SELECT id FROM customers WHERE active = 0 OR merged_into IS NOT NULL")}
    for row in rows:
        row["bill_code"] = bill_code_of(row["name"], row["agency_chain"])
        row["aes"] = ", ".join(a for a in aes.get(row["customer_id"], []) if a)
        row["suggestions"] = [s for s in index.suggest(row["bill_code"], SUGGESTIONS, exclude=gone | {row["customer_id"]})
                              if s.score >= QUEUE_MIN_SCORE]
    columns = [Column("name", "Customer", "customer"), Column("spots", "Spots", "int"),
               Column("gross", "Gross", "money"), Column("first_month", "First month", "month"),
               Column("last_month", "Last month", "month"), Column("aes", "AE"),
               Column("agency_chain", "Agency"), Column("review_reason", "Why it is here", minor=True)]
    return Report("customer_review", {"page": page, "per_page": per_page}, [Table("queue", "To review", columns, rows)],
                  extra={"total": total, "pages": max(1, -(-total // per_page))})


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
                  active: str | None = None, unreviewed: bool = False, agency: str | None = None,
                  limit: int | None = None) -> Report:
    """Every customer not merged away, with its bill codes and trailing-12-month gross (the
    current broadcast month and the 11 before it), by that gross; the search is accent-blind."""
    last = current_month(today)
    first = _months_back(last, 11)
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
    if agency:
        needle = fold(agency)
        rows = [r for r in rows if r["agency_chain"] and needle in fold(r["agency_chain"])]
    rows = rows[:limit] if limit else rows
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


def customer_stale(conn: sqlite3.Connection, today: date, months: int = 12) -> Report:
    """Active customers with no spot in the last `months` broadcast months and nothing booked
    ahead (DOMAIN.md §7), by the revenue at risk: their gross in the 12 months up to their last
    spot's month. A customer's last month is its latest broadcast month with a spot, booked
    months ahead included, so one with anything booked ahead is never stale."""
    now = current_month(today)
    cutoff = _months_back(now, months)          # the first month that counts as recent
    rows = [dict(r) for r in conn.execute(
        "WITH last AS (SELECT customer_id, max(broadcast_month) AS last_month, min(broadcast_month) AS first_month"
        "  FROM customer_total_summary GROUP BY customer_id)"
        " SELECT c.id AS customer_id, c.name, c.agency_chain, c.version, l.first_month, l.last_month,"
        " (SELECT round(total(s.gross), 2) FROM customer_total_summary s WHERE s.customer_id = c.id"
        "   AND s.broadcast_month > l.last_month - 100 AND s.broadcast_month <= l.last_month) AS at_risk,"
        " (SELECT group_concat(DISTINCT s.ae) FROM customer_total_summary s WHERE s.customer_id = c.id"
        "   AND s.broadcast_month = l.last_month) AS aes"
        " FROM customers c JOIN last l ON l.customer_id = c.id"
        " WHERE c.active = 1 AND c.merged_into IS NULL AND l.last_month < ?"
        " ORDER BY at_risk DESC, c.name", (cutoff,))]
    for row in rows:
        row["bill_code"] = bill_code_of(row["name"], row["agency_chain"])
    columns = [Column("name", "Customer", "customer"), Column("agency_chain", "Agency", minor=True),
               Column("first_month", "First month", "month", minor=True), Column("last_month", "Last month", "month"),
               Column("aes", "AE in its last month", minor=True),
               Column("at_risk", "Gross of its last 12 months", "money")]
    return Report("customer_stale", {"months": months, "cutoff": cutoff},
                  [Table("stale", f"No spot since {month_label(cutoff)}", columns, rows)],
                  extra={"at_risk": round(sum(r["at_risk"] or 0 for r in rows), 2)})
