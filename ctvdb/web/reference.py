"""Loading the reference data the reports need beside the spots: customer sectors, AE budgets
and forecasts.

Each load reads the whole CSV first, stops at the first bad line with an error naming the line
and column, then writes everything in one transaction and records the load in
`reference_loads` (which changes the web cache's data version, so pages show it at once).

sectors CSV, header `customer,sector`:
    customer  a bill code as in the Commercial Log (`Agency:Customer` or `Customer`, matched the
              way the import matches them) or a customer id number
    sector    a sector code (`AUTO`) or name (`Automotive`); blank makes the customer unassigned
budgets CSV, header `ae,month,amount`:
    ae        the sales person as in the workbook (matched trimmed and upper-cased, like spots.ae)
    month     the broadcast month: `Nov-26`, `2026-11` or `202611`
    amount    the budget in dollars (`12500`, `12,500.00`, `$12,500`; not negative); a later line
              for the same AE and month replaces an earlier one, and the file replaces those
              AE-months only. Every amount that changes is kept in the planning history.
forecasts CSV (`ctvdb forecasts load FILE.csv --by EMAIL`): the same columns, for forecasts.
"""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from werkzeug.exceptions import BadRequest

from ctvdb import codes, db, planning
from ctvdb.web import params, queries


class LoadError(Exception):
    """A CSV that cannot be loaded; the message names the file, line and column."""


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip().lower() for h in reader.fieldnames or []]
            missing = [c for c in columns if c not in header]
            if missing:
                raise LoadError(f"{path}: line 1: the header lacks column(s) {', '.join(missing)}"
                                f" (expected {','.join(columns)})")
            reader.fieldnames = header
            return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k})
                    for row in reader if any((v or "").strip() for v in row.values() if isinstance(v, str))]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LoadError(f"{path}: cannot read: {exc}") from exc


def _record(conn: sqlite3.Connection, kind: str, path: Path, count: int) -> None:
    conn.execute(
        "INSERT INTO reference_loads (kind, source_file, rows_loaded, loaded_at) VALUES (?, ?, ?, ?)",
        (kind, str(path), count, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")))


def load_sectors(conn: sqlite3.Connection, path: Path) -> int:
    """Assign sectors to customers; returns the number of customers updated."""
    rows = _rows(path, ("customer", "sector"))
    customers = queries.customer_keys(conn)
    sectors = queries.sector_lookup(conn)
    changes = []
    for line, row in rows:
        text = row["customer"]
        customer_id = int(text) if text.isdigit() and int(text) in customers.values() else \
            customers.get(codes.normalise_bill_code(text).lower())
        if customer_id is None:
            raise LoadError(f"{path}: line {line}, column customer: no customer “{text}” in the database")
        sector = row["sector"]
        code = sectors.get(sector.lower()) if sector else None
        if sector and code is None:
            raise LoadError(f"{path}: line {line}, column sector: unknown sector “{sector}”"
                            f" (one of {', '.join(sorted(set(sectors.values())))})")
        changes.append((code, customer_id))
    with db.write_transaction(conn):
        conn.executemany("UPDATE customers SET sector_code = ? WHERE id = ?", changes)
        _record(conn, "sectors", path, len(changes))
    return len(changes)


def load_budgets(conn: sqlite3.Connection, path: Path, actor: str = "ctvdb budgets load") -> int:
    """Store budgets per AE and broadcast month; returns the number of AE-months stored. Each
    one that changes is a row of the planning history (ctvdb/planning.py), by `actor`."""
    return _load_plan(conn, "budget", path, actor, record=True)


def load_forecasts(conn: sqlite3.Connection, path: Path, actor: str) -> int:
    """Store forecasts per AE and broadcast month, as load_budgets does budgets. A forecast load is
    no `reference_loads` row: its history rows change the web cache's data version already."""
    return _load_plan(conn, "forecast", path, actor, record=False)


def _load_plan(conn: sqlite3.Connection, kind: str, path: Path, actor: str, record: bool) -> int:
    cells: dict[tuple[str, int], float] = {}
    for line, row in _rows(path, ("ae", "month", "amount")):
        ae = codes.ae_key(row["ae"])
        if not row["ae"]:
            raise LoadError(f"{path}: line {line}, column ae: the AE is blank")
        try:
            month = params.parse_month(row["month"], kind)
        except BadRequest as exc:
            raise LoadError(f"{path}: line {line}, column month: {exc.description.rstrip('.')}") from None
        try:
            amount = planning.parse_amount(row["amount"], f"{path}: line {line}, column amount")
        except planning.PlanError as exc:
            raise LoadError(str(exc)) from None
        if amount is None:
            raise LoadError(f"{path}: line {line}, column amount: the amount is blank")
        cells[(ae, month)] = amount
    try:
        with db.write_transaction(conn):
            planning.apply(conn, actor, kind, [planning.Edit(ae, month, amount) for (ae, month), amount in cells.items()],
                           "csv")
            if record:
                _record(conn, "budgets", path, len(cells))
    except planning.PlanError as exc:
        raise LoadError(f"{path}: {exc}") from None
    return len(cells)
