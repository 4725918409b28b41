"""The source: a CTV BookedBiz DB file, opened so that adopting from it can never change it.

`open_source` opens `file:…?mode=ro&immutable=1`: SQLite neither writes nor locks the file, so
the running system's database (or a copy taken with `sqlite3 production.db ".backup copy.db"`)
is read exactly as it is. `AdoptError` is every failure of adopt: one sentence for a person,
and the target left as it was.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

# What a database must hold to be read as CTV BookedBiz DB's (its schema-*.sql).
REQUIRED = {
    "spots": ("spot_id", "bill_code", "air_date", "gross_rate", "station_net", "broadcast_month",
              "sales_person", "revenue_type", "customer_id"),
    "customers": ("customer_id", "normalized_name", "is_active"),
    "agencies": ("agency_id", "agency_name"),
}


class AdoptError(Exception):
    """Adopt did not happen; the message names what and where, and the target is unchanged."""


def open_source(path: str | Path) -> sqlite3.Connection:
    """The source, read-only and immutable; AdoptError if it is missing or not in the source's layout."""
    path = Path(path)
    if not path.is_file():
        raise AdoptError(f"source database {path} does not exist or is not a file")
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.DatabaseError as exc:
        raise AdoptError(f"source database {path} cannot be read: {exc}") from exc
    for table, columns in REQUIRED.items():
        if table not in tables:
            conn.close()
            raise AdoptError(f"source database {path} has no table {table}: it is not a CTV BookedBiz DB database")
        have = columns_of(conn, table)
        missing = [c for c in columns if c not in have]
        if missing:
            conn.close()
            raise AdoptError(f"source database {path}, table {table}: no column {', '.join(missing)}")
    return conn


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the source has a table or view `name` (older sources lack some)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ? AND type IN ('table', 'view')",
                        (name,)).fetchone() is not None


def columns_of(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
