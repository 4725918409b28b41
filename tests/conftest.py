"""Shared fixtures: a fresh database, and sample workbooks imported the way production imports them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctvdb import db


@dataclass(frozen=True)
class Imported:
    database: Path
    workbook: Path
    info: object          # ctvdb.sample.SampleInfo
    result: object        # ctvdb.importer.ImportResult


@pytest.fixture
def tmp_db(tmp_path) -> Path:
    """A new, empty database at the current schema version."""
    path = tmp_path / "ctvdb.db"
    db.init(path)
    return path


@pytest.fixture
def db_path(tmp_db) -> Path:
    """The same new database, under the name the sign-in tests use."""
    return tmp_db


@pytest.fixture
def cheap_scrypt(monkeypatch):
    """scrypt at n=2**10: the same code path, a fraction of the 0.3 s each real check costs."""
    from ctvdb import auth

    monkeypatch.setattr(auth, "PASSWORD_METHOD", "scrypt:1024:8:1")
    monkeypatch.setattr(auth, "_dummy_hash", None)


@pytest.fixture(scope="session")
def imported_sample(tmp_path_factory):
    """imported_sample(rows=, months=, seed=) -> Imported: a sample workbook imported (manual mode)
    into a new database. Built once per session for each set of arguments: treat it as read-only,
    or take a private copy with `copy_database`."""
    from ctvdb.importer import import_workbook
    from ctvdb.sample import write_sample

    built: dict[tuple, Imported] = {}

    def make(*, rows: int = 3000, months: str = "Jan-25..Dec-26", seed: int = 1) -> Imported:
        key = (rows, months, seed)
        if key not in built:
            folder = tmp_path_factory.mktemp("imported")
            workbook = folder / "Commercial Log 261124.xlsx"
            info = write_sample(workbook, rows=rows, months=months, seed=seed)
            result = import_workbook(folder / "ctvdb.db", workbook, mode="manual", auto_setup=True)
            built[key] = Imported(folder / "ctvdb.db", workbook, info, result)
        return built[key]

    return make


@pytest.fixture
def private_copy(tmp_path):
    """private_copy(database) -> a consistent copy in tmp_path (with its sign-in database) that a
    test may change."""
    def copy(source: Path) -> Path:
        target = tmp_path / f"copy-{source.name}"
        for src_path, dst_path in ((source, target), (db.auth_path(source), db.auth_path(target))):
            if not src_path.exists():
                continue
            src, dst = sqlite3.connect(src_path), sqlite3.connect(dst_path)
            try:
                src.backup(dst)
            finally:
                src.close()
                dst.close()
        return target
    return copy


# The Commercial Log columns by position (DOMAIN.md §2), for tests that read a workbook back.
COLUMNS = ("bill_code", "air_date", "end_date", "day_of_week", "time_in", "time_out", "length",
           "media", "comments", "language_code", "format", "sequence_number", "line_number",
           "spot_type", "estimate", "gross_rate", "make_good", "spot_value", "broadcast_month",
           "broker_fees", "priority", "station_net", "sales_person", "revenue_type", "billing_type",
           "agency_flag", "affidavit_flag", "contract", "market_code")


@pytest.fixture(scope="session")
def workbook_rows():
    """workbook_rows(path) -> every data row of every sheet as a dict of raw cell values by
    field name (plus `sheet`), read with openpyxl: what a test computes expected figures from."""
    import openpyxl

    def read(path: Path) -> list[dict]:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            rows = []
            for sheet in book.worksheets:
                for values in sheet.iter_rows(min_row=2, values_only=True):
                    if any(v not in (None, "") for v in values):
                        rows.append({"sheet": sheet.title, **dict(zip(COLUMNS, values))})
            return rows
        finally:
            book.close()
    return read


@pytest.fixture(scope="session")
def session_token():
    """session_token(database, role="admin", ae=None) -> a signed-in session's cookie value for a
    user of that role (created on first use), for tests of pages behind sign-in."""
    from datetime import timedelta

    from ctvdb import auth

    def make(database: Path, role: str = "admin", ae: str | None = None) -> str:
        conn = db.connect_auth(database)
        try:
            email = f"{role}-{(ae or 'all').lower().replace(' ', '.')}@example.com"
            user = auth.get_user(conn, email) or auth.add_user(conn, email, "not used in tests 1", role, ae=ae)
            return auth.start_session(conn, user, timedelta(days=3650))
        finally:
            conn.close()
    return make
