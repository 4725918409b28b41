"""A tiny Commercial Log for the accounts tests, its expected figures computed here from its rows
(plain sums, never ctvdb code), and what the tests compare before and after a refused write."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from pathlib import Path

from ctvdb import db, importer
from xlsx_rows import Row, write

TODAY = dt.date(2026, 11, 20)        # broadcast month Nov-26: trailing 12 = Nov-25..Oct-26
ANA, BOB, MGR = "ana@example.com", "bob@example.com", "manager@example.com"
TRAILING = (202511, 202610)
THIS_YEAR, LAST_YEAR = (202601, 202612), (202501, 202512)
BILL_CODES = ["Admerasia:McDonald's", "McDonalds", "Phở Hòa", "Wells Fargo", "IW Group:Kim's Market",
              "Admerasia:Wells Fargo Bank"]
MONTHS = [dt.date(2024, 12, 1), dt.date(2025, 3, 1), dt.date(2025, 11, 1), dt.date(2026, 2, 1),
          dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2027, 1, 1)]
ACCOUNT_TABLES = ("accounts", "account_contacts", "account_addresses", "account_assignments", "account_activities",
                  "account_follow_ups", "account_saved_filters")


def rows() -> list[Row]:
    out = []
    for i, (code, month) in enumerate((c, m) for c in BILL_CODES for m in MONTHS):
        if code == "Wells Fargo" and month.year == 2026:
            continue          # nothing this year: a drop against last year
        if code == "Admerasia:Wells Fargo Bank" and month.year == 2027:
            continue          # nothing booked ahead: a renewal gap
        out.append(Row(bill_code=code, month=month, air_date=month + dt.timedelta(days=3 + i % 20),
                       gross=float(100 + 37 * i), net=float(80 + 30 * i), line=i + 1,
                       sales_person=("Alice Nguyen", "Brandon Wu")[i % 2]))
    return out


def key(code: str) -> str:
    """The identity key of a bill code of this log, as the import makes it (lower-cased)."""
    return code.lower()


def expected() -> dict[str, dict[str, float]]:
    """{bill code: {trailing, this_year, last_year}}: the gross of its rows in each window."""
    sums = defaultdict(lambda: {"trailing": 0.0, "this_year": 0.0, "last_year": 0.0})
    for row in rows():
        month = row.month.year * 100 + row.month.month
        for name, (first, last) in (("trailing", TRAILING), ("this_year", THIS_YEAR), ("last_year", LAST_YEAR)):
            if first <= month <= last:
                sums[row.bill_code][name] += row.gross
    return {code: {k: round(v, 2) for k, v in sums[code].items()} for code in BILL_CODES}


def build(folder: Path) -> Path:
    """A new database with this log imported as production imports it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ctvdb.db"
    db.init(path)
    write(folder / "log.xlsx", {"Commercials": rows()})
    importer.import_workbook(path, folder / "log.xlsx", mode="manual", auto_setup=True, today=TODAY)
    return path


def reimport(path: Path, built: Path) -> None:
    """Import the log of the database `built` again, into `path` (a copy of it)."""
    importer.import_workbook(path, built.parent / "log.xlsx", mode="manual", today=TODAY)


def cid(conn, code: str) -> int:
    return conn.execute("SELECT id FROM customers WHERE identity_key = ?", (key(code),)).fetchone()[0]


def aid(conn, name: str) -> int:
    return conn.execute("SELECT id FROM agencies WHERE name_key = ?", (name.lower(),)).fetchone()[0]


def account_rows(conn) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in ACCOUNT_TABLES}


def digest(conn) -> str:
    """Every account row and every change-log row: equal before and after means nothing changed."""
    h = hashlib.sha256()
    for table in ACCOUNT_TABLES + ("changes", "change_objects"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3"):
            h.update(repr((table, tuple(row))).encode())
    return h.hexdigest()
