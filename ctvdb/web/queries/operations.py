"""What the people who run the system look at (import history), and the lookups the
reference loads and the demo need."""

from __future__ import annotations

import sqlite3
from datetime import date

from ctvdb.codes import month_ranges
from ctvdb.web.params import Filters
from ctvdb.web.queries.base import (
    Column, Table, Report,
)


# Import history ---------------------------------------------------------------------------------

def imports(conn: sqlite3.Connection, filters: Filters, today: date) -> Report:
    status = filters.status.upper() if filters.status else None
    batches = [dict(r) for r in conn.execute(
        "SELECT id, mode, source_file, status, started_at, finished_at, rows_read, rows_imported,"
        " rows_deleted, rows_ignored, rows_trade, rows_rejected, months_replaced, months_protected,"
        " closed_by, error_summary FROM import_batches"
        + (" WHERE status = ?" if status else "") + " ORDER BY id DESC LIMIT ?",
        ([status] if status else []) + [filters.limit])]
    reasons = [dict(r) for r in conn.execute(
        "SELECT batch_id, column_name, reason, count(*) AS rows, min(row_number) AS first_row"
        " FROM rejected_rows WHERE batch_id IN (SELECT value FROM json_each(?))"
        " GROUP BY batch_id, column_name, reason ORDER BY batch_id DESC, rows DESC",
        ("[" + ",".join(str(b["id"]) for b in batches) + "]",))]
    for b in batches:
        b["months_replaced"] = month_ranges([int(m) for m in b["months_replaced"].split(",") if m])
        b["months_protected"] = _protected_ranges(b["months_protected"])
    tables = [
        Table("batches", "Import batches",
              [Column("id", "Batch", "id"), Column("mode", "Mode"), Column("status", "Status"),
               Column("source_file", "Source file"), Column("started_at", "Started", "datetime"),
               Column("finished_at", "Finished", "datetime"), Column("rows_read", "Read", "int"),
               Column("rows_imported", "Imported", "int"), Column("rows_deleted", "Deleted", "int"),
               Column("rows_ignored", "Ignored", "int"), Column("rows_trade", "Trade", "int"),
               Column("rows_rejected", "Rejected", "int"), Column("months_replaced", "Months replaced"),
               Column("months_protected", "Months protected"), Column("closed_by", "Closed by"),
               Column("error_summary", "Error")],
              batches),
        Table("rejections", "Rejected rows by reason",
              [Column("batch_id", "Batch", "id"), Column("column_name", "Column"),
               Column("reason", "Reason"), Column("rows", "Rows", "int"),
               Column("first_row", "First row", "int")], reasons),
    ]
    if filters.batch:
        tables.append(Table(
            "rejected_rows", f"Rejected rows of batch {filters.batch}",
            [Column("sheet", "Sheet"), Column("row_number", "Row", "int"),
             Column("column_name", "Column"), Column("value", "Value"), Column("reason", "Reason")],
            [dict(r) for r in conn.execute(
                "SELECT sheet, row_number, column_name, value, reason FROM rejected_rows"
                " WHERE batch_id = ? ORDER BY sheet, row_number LIMIT ?", (filters.batch, filters.limit))]))
    # No figure of these tables is gross or net: the measure is no filter of theirs.
    return Report(name="imports", filters={k: v for k, v in filters.as_dict().items() if k != "measure"},
                  tables=tables,
                  extra={"statuses": ["COMPLETED", "FAILED", "RUNNING"]})


def _protected_ranges(stored: str) -> str:
    """'202301:closed,202302:closed,202610:previous month…' -> 'Jan-23..Feb-23 (closed), Oct-26 (previous
    month…)': the months kept for one reason, as ranges, the reasons in the order of their first month."""
    by_reason: dict[str, list[int]] = {}
    for item in stored.split(","):
        month, _, reason = item.partition(":")
        if month:
            by_reason.setdefault(reason, []).append(int(month))
    return ", ".join(f"{month_ranges(months)} ({reason})" if reason else month_ranges(months)
                     for reason, months in sorted(by_reason.items(), key=lambda item: min(item[1])))




# Lookups for the reference loads and the demo ---------------------------------------------------

def customer_keys(conn: sqlite3.Connection) -> dict[str, int]:
    """identity key (lower-cased normalised bill code) -> customer id."""
    return {r[0]: r[1] for r in conn.execute("SELECT identity_key, id FROM customers")}


def sector_lookup(conn: sqlite3.Connection) -> dict[str, str]:
    """Lower-cased sector code and name -> sector code."""
    found = {}
    for code, name in conn.execute("SELECT code, name FROM sectors"):
        found[code.lower()] = found[name.lower()] = code
    return found


def customer_bill_codes(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """(id, bill code as the workbook writes it) for every customer."""
    return [(r[0], f"{r[1]}:{r[2]}" if r[1] else r[2])
            for r in conn.execute("SELECT id, agency_chain, name FROM customers ORDER BY id")]


def ae_month_totals(conn: sqlite3.Connection, first: int, last: int) -> list[tuple[str, int, float]]:
    """(AE, broadcast month, gross) over every revenue type, for months first..last."""
    return [tuple(r) for r in conn.execute(
        "SELECT ae, broadcast_month, total(gross) FROM customer_total_summary"
        " WHERE broadcast_month BETWEEN ? AND ? GROUP BY 1, 2", (first, last))]
