"""SQLite connections and the schema: create, migrate, and refuse to invent a database.

`schema.sql` is the current data model; `migrations/NNNN_name.sql` takes a database from version
NNNN-1 to NNNN. `PRAGMA user_version` records the version a database is at.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import sqlite3
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from ctvdb import names

BUSY_TIMEOUT_MS = 5000
IMPORT_CACHE_KIB = 131072   # the import's page cache: a big spots table's index pages stay hot
# How long a person's change waits for the write lock (an import holds it for a few seconds a
# day, 16 s for 200,000 rows) before it is refused with a sentence.
EDIT_WAIT_SECONDS = 20.0
AUTH_SCHEMA_VERSION = 2    # auth_schema.sql; auth_migrations/NNNN_name.sql take an older one there
_AUTH_MIGRATION = 7         # the migration that moved the sign-in tables out (0007_auth_database)
# Migrations whose rows ctvdb's Python builds, in the migration's own transaction: the rate
# summaries (v18) and their cubes put in AE order (v21).
_IN_PYTHON = {18: ("summaries", "refresh_rates"), 21: ("rate_summary", "sort_cubes")}


class DatabaseError(Exception):
    """A database that cannot be used as asked; the message is one line for a person."""


class ImportRunning(DatabaseError):
    """A person's change met an import's write transaction and was not saved."""


class WriteBusy(DatabaseError):
    """A person's change met another writer (not an import) and was not saved."""


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
    # fold(name) in SQL is names.fold: the customer search compares folded names. Deterministic,
    # so SQLite may call it once per row and value; memoised, since the same few thousand
    # names come back on every search.
    conn.create_function("fold", 1, _fold_memo, deterministic=True)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@functools.lru_cache(maxsize=65536)
def _fold_memo(text: str | None) -> str:
    return names.fold(text)


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


def copy_file(source: Path, target: Path) -> None:
    """A consistent copy of one SQLite database file (SQLite's online backup: a file being
    written, its write-ahead log included, copies as one committed state)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def auth_path(path: str | Path) -> Path:
    """The sign-in database beside a main database: production.db -> production.auth.db."""
    path = Path(path)
    return path.with_name(f"{path.stem}.auth{path.suffix or '.db'}")


def connect_auth(path: str | Path) -> sqlite3.Connection:
    """A read-write connection to the sign-in database of the main database at `path`.

    Every web request opens one: it leaves out connect()'s journal-mode pragma, which costs
    a quarter of a millisecond each time, since init_auth made the file WAL for good."""
    target = auth_path(path)
    if not target.exists():
        raise DatabaseError(f"sign-in database {target} does not exist (run `ctvdb migrate` on {path})")
    try:
        return _tune(sqlite3.connect(target, isolation_level=None, check_same_thread=False))
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open sign-in database {target}: {exc}") from exc


def init_auth(path: str | Path) -> Path:
    """Create the sign-in database of the main database at `path` if it has none, or bring the
    one it has up to AUTH_SCHEMA_VERSION (each auth migration in its own transaction)."""
    target = auth_path(path)
    conn = connect(target, create=True)
    try:
        if not conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
            script = resources.files("ctvdb").joinpath("auth_schema.sql").read_text(encoding="utf-8")
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {AUTH_SCHEMA_VERSION};\nCOMMIT;")
        else:
            migrate_auth(conn)
    finally:
        conn.close()
    return target


def _auth_migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("ctvdb").joinpath("auth_migrations").iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate_auth(conn: sqlite3.Connection) -> list[str]:
    """Apply the sign-in database's migrations newer than it (`conn` is that database)."""
    version = current_version(conn)
    if version > AUTH_SCHEMA_VERSION:
        raise DatabaseError(f"sign-in database is at version {version}, newer than this ctvdb ({AUTH_SCHEMA_VERSION})")
    applied = []
    for number, name, script in _auth_migrations():
        if number > version:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
            applied.append(f"auth {number:04d}_{name}")
    return applied


def auth_version(path: str | Path) -> int | None:
    """The version of the sign-in database beside the main database at `path` (None: it has none)."""
    target = auth_path(path)
    if not target.exists():
        return None
    conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return current_version(conn)
    finally:
        conn.close()


def lock_path(path: str | Path) -> Path:
    """The import lock of a database, named after the file itself (symlinks resolved), so a
    second path to the same database (a symlink, a relative path) meets the same lock."""
    real = Path(os.path.realpath(path))
    return real.with_name(real.name + ".import-lock")


def import_running(path: str | Path) -> bool:
    """Whether an import holds the lock of this database right now."""
    try:
        with open(lock_path(path), "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def main_file(conn: sqlite3.Connection) -> Path:
    return Path(next(row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"))


@contextmanager
def write_transaction(conn: sqlite3.Connection, wait: float | None = None):
    """One person's change: one transaction, committed at the end or rolled back on any error.

    It waits up to EDIT_WAIT_SECONDS for the write lock. An import's write transaction that
    outlasts that is ImportRunning, another writer WriteBusy: a sentence saying nothing was
    saved, never a 503 about a database that cannot be read.
    """
    wait = EDIT_WAIT_SECONDS if wait is None else wait
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        if import_running(main_file(conn)):
            raise ImportRunning("An import is writing to the database just now; nothing was saved. "
                                "Try again in a minute.") from exc
        raise WriteBusy("Someone else is saving a change just now; nothing was saved. Try again.") from exc
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


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
        init_auth(path)
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
        if number == _AUTH_MIGRATION:
            _move_auth_tables(conn)
        if number in _IN_PYTHON:
            _migrate_in_python(conn, number, script)
        else:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
        applied.append(f"{number:04d}_{name}")
    # The sign-in database beside it follows (from version 7 on there is one): issue 16's tokens.
    base = main_file(conn)
    if str(base) and auth_path(base).exists():
        init_auth(base)
    return applied


def _migrate_in_python(conn: sqlite3.Connection, number: int, script: str) -> None:
    """A migration whose tables ctvdb's Python fills: the script, the first build and the new
    version in one transaction, so a failed build leaves the database at the version before."""
    import importlib   # the module is imported here, not at the top: summaries imports this one

    module, function = _IN_PYTHON[number]
    conn.executescript(f"BEGIN;\n{script}")
    try:
        getattr(importlib.import_module(f"ctvdb.{module}"), function)(conn)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _move_auth_tables(conn: sqlite3.Connection) -> None:
    """Copy users, sessions, sign-in attempts and the CSRF secret into the sign-in database
    (migration 0007 then drops them here). Run again after a crash it copies nothing twice."""
    target = init_auth(main_file(conn))
    present = {row[0] for row in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")}
    copies = {
        "users": "INSERT OR IGNORE INTO moving.users SELECT * FROM main.users",
        # Sessions count as seen now, so the idle timeout does not end them all at the upgrade.
        "sessions": "INSERT OR IGNORE INTO moving.sessions (token_hash, user_id, created_at, expires_at, "
                    "last_seen_at, revoked_at, client_addr) SELECT token_hash, user_id, created_at, expires_at, "
                    "strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), revoked_at, client_addr FROM main.sessions",
        "signin_attempts": "INSERT OR IGNORE INTO moving.signin_attempts SELECT * FROM main.signin_attempts",
        "auth_secrets": "INSERT OR REPLACE INTO moving.auth_secrets SELECT * FROM main.auth_secrets",
    }
    conn.execute("ATTACH DATABASE ? AS moving", (str(target),))
    try:
        conn.execute("BEGIN IMMEDIATE")
        for table, sql in copies.items():
            if table in present:
                conn.execute(sql)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("DETACH DATABASE moving")


def ensure_current(conn: sqlite3.Connection) -> list[str]:
    """Bring an existing database up to date (the import calls this at start)."""
    return migrate(conn) if current_version(conn) < schema_version() else []
