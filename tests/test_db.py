"""The database: a new schema, migrations from an earlier version, and no invented databases."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ctvdb import db

FIXTURES = Path(__file__).parent / "fixtures"


def objects(path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return {name: " ".join(re.sub(r"--[^\n]*", "", sql).split()) for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")}
    finally:
        conn.close()


def ctvdb(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ctvdb", *map(str, args)], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_init_creates_the_schema_with_reference_data(tmp_path):
    done = ctvdb("--db", tmp_path / "new.db", "init")
    assert done.returncode == 0, done.stderr
    assert f"database {tmp_path / 'new.db'}" in done.stderr
    conn = db.connect(tmp_path / "new.db")
    assert db.current_version(conn) == db.schema_version() >= 2
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM markets").fetchone()[0] == 13
    assert conn.execute("SELECT language_group FROM languages WHERE code = 'P'").fetchone()[0] == "South Asian"
    assert conn.execute("SELECT is_revenue FROM revenue_types WHERE name = 'Trade'").fetchone()[0] == 0
    conn.close()


def test_schema_sql_equals_version_one_plus_every_migration(tmp_path):
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text() + "\nPRAGMA user_version = 1;")
    conn.close()
    done = ctvdb("--db", tmp_path / "old.db", "migrate")
    assert done.returncode == 0, done.stderr
    db.init(tmp_path / "new.db")
    assert objects(tmp_path / "old.db") == objects(tmp_path / "new.db")


def test_migrate_keeps_the_rows_of_an_earlier_version(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text() + "\nPRAGMA user_version = 1;")
    conn.executescript("""
        INSERT INTO import_batches (id, mode, source_file, status, started_at) VALUES (1, 'daily', 'x.xlsx', 'COMPLETED', '2026-11-01T12:00:00Z');
        INSERT INTO customers (id, name, identity_key) VALUES (1, 'Phở Hòa', 'phở hòa');
        INSERT INTO spots (id, batch_id, sheet, row_number, customer_id, bill_code, air_date, gross_rate, station_net,
                           broadcast_month, month_label, ae, revenue_type, market_code)
        VALUES (1, 1, 'Commercials', 2, 1, 'Phở Hòa', '2026-11-03', 250.0, 212.5, 202611, 'Nov-26', 'ALICE', 'Internal Ad Sales', 'SFO'),
               (2, 1, 'Commercials', 3, 1, 'Phở Hòa', '2026-11-04', 100.0, 85.0, 202611, 'Nov-26', 'ALICE', 'Internal Ad Sales', 'SFO');
    """)
    conn.close()
    done = ctvdb("--db", path, "migrate")
    assert done.returncode == 0, done.stderr
    assert "from version 1" in done.stdout
    conn = db.connect(path)
    assert db.current_version(conn) == db.schema_version()
    assert tuple(conn.execute("SELECT count(*), total(gross_rate) FROM spots").fetchone()) == (2, 350.0)
    # migration 0003 builds the report summaries from the spots already there
    assert [tuple(r) for r in conn.execute("SELECT spots, gross FROM customer_month_summary")] == [(2, 350.0)]
    conn.close()
    assert "already at schema version" in ctvdb("--db", path, "migrate").stdout


@pytest.mark.parametrize("command", [["migrate"], ["months", "list"], ["months", "close", "Nov-26", "--by", "K"]])
def test_a_reading_command_on_a_missing_database_fails_and_creates_nothing(tmp_path, command):
    done = ctvdb("--db", tmp_path / "typo.db", *command)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"ctvdb: error: database {tmp_path / 'typo.db'} does not exist (check DATABASE_PATH, or create it with `ctvdb init`)")
    assert list(tmp_path.iterdir()) == []


def test_database_path_comes_from_the_environment(tmp_path):
    env = {"DATABASE_PATH": str(tmp_path / "env.db"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "ctvdb", "init"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env.db").is_file()


def test_readonly_connection_cannot_write(tmp_path):
    db.init(tmp_path / "a.db")
    conn = db.connect_readonly(tmp_path / "a.db")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        conn.execute("DELETE FROM markets")
    conn.close()
    with pytest.raises(db.DatabaseError, match="does not exist"):
        db.connect_readonly(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()


def test_months_close_and_list(tmp_path):
    db.init(tmp_path / "a.db")
    done = ctvdb("--db", tmp_path / "a.db", "months", "close", "Nov-26", "Dec-26", "--by", "Kelly")
    assert done.returncode == 0 and done.stdout.strip() == "Closed Nov-26, Dec-26 (by Kelly)."
    again = ctvdb("--db", tmp_path / "a.db", "months", "close", "Nov-26", "--by", "Kelly")
    assert "already closed: Nov-26" in again.stdout
    listing = ctvdb("--db", tmp_path / "a.db", "months", "list").stdout.splitlines()
    assert listing[1].split()[:4] == ["Nov-26", "CLOSED", "0", "0.00"]
    assert listing[-1] == "2 months, 2 closed."
    assert ctvdb("--db", tmp_path / "a.db", "months", "close", "Foo-26", "--by", "K").returncode == 1


def test_users_sessions_and_sign_in_limits_move_to_the_sign_in_database_intact(tmp_path):
    """A database at version 6 holds users, a live session, failed attempts and the CSRF secret:
    after the migration they are in production.auth.db, the session still signs its user in,
    and none of it is left in the main database."""
    from datetime import timedelta

    from ctvdb import auth

    path = tmp_path / "production.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text())
    for number, _, script in db._migrations():
        if number <= 6:
            conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")
    now = auth.utcnow()
    token = "t" * 43
    conn.execute("INSERT INTO users (id, email, role, password_hash) VALUES (7, 'ana@example.com', 'admin', 'scrypt:x')")
    conn.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, 7, ?, ?)",
                 (auth.token_digest(token), auth.iso(now - timedelta(hours=3)), auth.iso(now + timedelta(hours=9))))
    conn.executemany("INSERT INTO signin_attempts (email, client_addr, attempted_at, succeeded) VALUES (?, ?, ?, 0)",
                     [("ana@example.com", "10.0.0.9", auth.iso(now))] * 3)
    secret = conn.execute("SELECT value FROM auth_secrets WHERE name = 'csrf'").fetchone()[0]
    conn.close()

    assert not db.auth_path(path).exists()
    done = ctvdb("--db", path, "migrate")
    assert done.returncode == 0, done.stderr
    assert "0007_auth_database" in done.stdout
    assert db.auth_path(path) == tmp_path / "production.auth.db"
    moved = db.connect_auth(path)
    assert auth.session_user(moved, token).email == "ana@example.com"   # 3 h old, yet not idle
    assert moved.execute("SELECT count(*) FROM signin_attempts").fetchone()[0] == 3
    assert auth.csrf_secret(moved).hex() == secret
    moved.close()
    main = sqlite3.connect(path)
    assert main.execute("SELECT name FROM sqlite_master WHERE name IN "
                        "('users', 'sessions', 'signin_attempts', 'auth_secrets')").fetchall() == []
    main.close()


def test_migration_9_gives_every_customer_its_own_bill_code_and_puts_it_in_the_queue(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript((FIXTURES / "schema_v1.sql").read_text() + "\nPRAGMA user_version = 1;")
    conn.executescript("""
        INSERT INTO import_batches (id, mode, source_file, status, started_at) VALUES (1, 'daily', 'x.xlsx', 'COMPLETED', '2026-11-01T12:00:00Z');
        INSERT INTO customers (id, name, identity_key) VALUES (1, 'Phở Hòa', 'phở hòa'), (2, 'Idle', 'idle');
        INSERT INTO spots (id, batch_id, sheet, row_number, customer_id, bill_code, air_date, gross_rate, station_net,
                           broadcast_month, month_label, ae, revenue_type, market_code)
        VALUES (1, 1, 'Commercials', 2, 1, 'Phở Hòa', '2026-11-03', 250.0, 212.5, 202611, 'Nov-26', 'ALICE', 'Internal Ad Sales', 'SFO');
    """)
    conn.close()
    done = ctvdb("--db", path, "migrate")
    assert done.returncode == 0, done.stderr
    conn = db.connect(path)
    assert [tuple(r) for r in conn.execute("SELECT * FROM bill_codes ORDER BY customer_id")] == [
        ("phở hòa", "Phở Hòa", 1), ("idle", "idle", 2)]
    assert [tuple(r) for r in conn.execute(
        "SELECT active, reviewed_at, revenue_class, merged_into, version FROM customers ORDER BY id")] == [
        (1, None, "regular", None, 1)] * 2
    conn.close()
