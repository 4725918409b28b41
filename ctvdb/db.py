"""SQLite connections and the schema: create, migrate, and refuse to invent a database.

`schema.sql` is the current data model; `migrations/NNNN_name.sql` takes a database from version
NNNN-1 to NNNN. `PRAGMA user_version` records the version a database is at.
"""

from __future__ import annotations

import re
import sqlite3
from importlib import resources
from pathlib import Path

BUSY_TIMEOUT_MS = 5000
IMPORT_CACHE_KIB = 131072   # the import's page cache: a big spots table's index pages stay hot


class DatabaseError(Exception):
    """A database that cannot be used as asked; the message is one line for a person."""


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("ctvdb").joinpath("migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version() -> int:
    """The version schema.sql stands for: the newest migration's number."""
    return max([1] + [number for number, _, _ in _migrations()])


def _tune(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def connect(path: str | Path, *, create: bool = False) -> sqlite3.Connection:
    """A read-write connection in WAL mode. Without `create`, a missing file is an error."""
    path = Path(path)
    if not create:
        require_existing(path)
    elif not path.parent.is_dir():
        raise DatabaseError(f"cannot create database {path}: directory {path.parent} does not exist")
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        _tune(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {path}: {exc}") from exc
    return conn


def connect_readonly(path: str | Path) -> sqlite3.Connection:
    """A read-only connection (the web side). Never creates a file."""
    path = Path(path)
    require_existing(path)
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        return _tune(conn)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open database {path} read-only: {exc}") from exc


def require_existing(path: Path) -> None:
    if not path.exists():
        raise DatabaseError(
            f"database {path} does not exist (check DATABASE_PATH, or create it with `ctvdb init`)"
        )
    if not path.is_file():
        raise DatabaseError(f"database {path} is not a file")


def current_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def init(path: str | Path) -> int:
    """Create the schema in a new (or empty) database, or migrate an existing one. Returns the version."""
    conn = connect(path, create=True)
    try:
        has_tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if has_tables:
            migrate(conn)
        else:
            script = resources.files("ctvdb").joinpath("schema.sql").read_text(encoding="utf-8")
            conn.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {schema_version()};\nCOMMIT;"
            )
        return current_version(conn)
    finally:
        conn.close()


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply the migrations newer than the database, each in its own transaction."""
    applied = []
    version = current_version(conn)
    if version == 0:
        raise DatabaseError("database has no ctvdb schema (user_version 0); run `ctvdb init` on a new path")
    if version > schema_version():
        raise DatabaseError(
            f"database is at schema version {version}, newer than this ctvdb ({schema_version()})"
        )
    for number, name, script in _migrations():
        if number <= version:
            continue
        conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        applied.append(f"{number:04d}_{name}")
    return applied


def ensure_current(conn: sqlite3.Connection) -> list[str]:
    """Bring an existing database up to date (the import calls this at start)."""
    return migrate(conn) if current_version(conn) < schema_version() else []
