"""scripts/db_backup.py: an online, checked, rotated copy of the database."""

import fcntl
import os
import sqlite3
import subprocess

import pytest

from standins import SCRIPTS, NtfyStandIn, script

DB_BACKUP = SCRIPTS / "db_backup.py"


@pytest.fixture
def ntfy():
    with NtfyStandIn() as server:
        yield server


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "data" / "production.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE spots (id INTEGER PRIMARY KEY, customer TEXT, gross REAL)")
        conn.execute("CREATE INDEX spots_customer ON spots (customer)")
        conn.executemany("INSERT INTO spots (customer, gross) VALUES (?, ?)",
                         [(f"Customer {i % 97}", i * 1.5) for i in range(20000)])
    return path


def run_backup(tmp_path, database, ntfy, **settings) -> subprocess.CompletedProcess:
    values = {"DATABASE_PATH": database, "NTFY_SERVER": ntfy.url, "NTFY_TOPIC": "ctv-ops",
              "NOTIFY_RETRY_DELAY": "0.05", **settings}
    env_file = tmp_path / "backup.env"
    env_file.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()))
    return subprocess.run([DB_BACKUP, "--env-file", env_file], capture_output=True, text=True, timeout=120)


def test_a_backup_is_a_complete_checked_copy_and_says_so(tmp_path, database, ntfy):
    result = run_backup(tmp_path, database, ntfy)
    assert result.returncode == 0, result.stderr
    [copy] = (database.parent / "backups").iterdir()
    assert copy.name.startswith("production-") and copy.suffix == ".db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*), sum(gross) FROM spots").fetchone() == (20000, 1.5 * 19999 * 20000 / 2)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    [message] = ntfy.received
    assert message.headers["Priority"] == "3" and message.headers["Title"] == "CTV database backup done"
    assert "integrity check ok; 1 copies kept, 0 removed." in message.text


def test_a_backup_taken_while_a_writer_holds_a_transaction_is_consistent(tmp_path, database, ntfy):
    writer = sqlite3.connect(database, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM spots WHERE id > 100")
    try:
        assert run_backup(tmp_path, database, ntfy).returncode == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    [copy] = (database.parent / "backups").iterdir()
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 20000  # the committed state


def test_only_the_newest_copies_are_kept(tmp_path, database, ntfy):
    backups = database.parent / "backups"
    backups.mkdir()
    for day in range(1, 10):
        (backups / f"production-202611{day:02d}T043000Z.db").write_bytes(b"old")
    (backups / ".production-20261110T043000Z.db.partial").write_bytes(b"interrupted")
    (backups / "notes.txt").write_text("not a backup")
    assert run_backup(tmp_path, database, ntfy, BACKUP_KEEP=3).returncode == 0
    names = sorted(p.name for p in backups.iterdir())
    assert names[:2] == ["notes.txt", "production-20261108T043000Z.db"]
    assert names[2] == "production-20261109T043000Z.db" and names[3].startswith("production-2026") and len(names) == 4


def test_a_missing_database_is_an_error_and_is_not_created(tmp_path, ntfy):
    missing = tmp_path / "data" / "production.db"
    missing.parent.mkdir()
    result = run_backup(tmp_path, missing, ntfy)
    assert result.returncode == 1
    assert not missing.exists()
    [message] = ntfy.received
    assert (message.headers["Priority"], message.headers["Tags"]) == ("5", "rotating_light")
    assert f"database {missing} does not exist" in message.text


def test_a_corrupt_database_fails_the_integrity_check_and_leaves_no_copy(tmp_path, database, ntfy):
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    with open(database, "r+b") as f:  # scribble over the middle of the table and its index
        for page in range(pages // 3, pages // 3 + 4):
            f.seek(page * page_size + 100)
            f.write(os.urandom(page_size - 200))
    result = run_backup(tmp_path, database, ntfy)
    assert result.returncode == 1
    assert [p.name for p in (database.parent / "backups").iterdir()] == []
    assert ntfy.received[-1].headers["Priority"] == "5"
    assert "CTV database backup FAILED" == ntfy.received[-1].headers["Title"]


def test_a_running_backup_holds_the_lock(tmp_path, database, ntfy):
    fd = os.open(database.parent / ".ctv-db-backup.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert run_backup(tmp_path, database, ntfy).returncode == 1
    finally:
        os.close(fd)
    assert "already running" in ntfy.received[-1].headers["Title"]


def test_quiet_success_and_a_bad_keep_count(tmp_path, database, ntfy):
    assert run_backup(tmp_path, database, ntfy, BACKUP_NOTIFY_SUCCESS="no").returncode == 0
    assert ntfy.received == []
    assert run_backup(tmp_path, database, ntfy, BACKUP_KEEP="none").returncode == 1
    assert ntfy.received[-1].headers["Priority"] == "5"


def test_backup_names_sort_by_time():
    db_backup = script("db_backup")
    import datetime as dt
    from pathlib import Path
    name = db_backup.backup_name(Path("/x/production.db"), dt.datetime(2026, 11, 5, 4, 45, 1))
    assert name == "production-20261105T044501Z.db"


def test_the_sign_in_database_beside_it_is_backed_up_too_with_the_same_checks(tmp_path, database, ntfy):
    auth = database.with_name("production.auth.db")  # DIR/NAME.db -> DIR/NAME.auth.db
    with sqlite3.connect(auth) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        conn.executemany("INSERT INTO users (email) VALUES (?)", [(f"u{i}@example.com",) for i in range(50)])
    conn.close()
    assert run_backup(tmp_path, database, ntfy).returncode == 0
    backups = database.parent / "backups"
    [main_copy] = backups.glob("production-*.db")
    [auth_copy] = backups.glob("production.auth-*.db")
    with sqlite3.connect(main_copy) as conn:
        assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 20000
    with sqlite3.connect(auth_copy) as conn:
        assert conn.execute("SELECT count(*), max(email) FROM users").fetchone() == (50, "u9@example.com")
    text = ntfy.received[-1].text
    assert f"Backed up {database} to {main_copy}" in text and f"Backed up {auth} to {auth_copy}" in text
    # Each keeps its own newest copies: nine old sign-in copies do not push out the main ones.
    for day in range(1, 10):
        (backups / f"production.auth-202611{day:02d}T043000Z.db").write_bytes(b"old")
    assert run_backup(tmp_path, database, ntfy, BACKUP_KEEP=2).returncode == 0
    kept = sorted(p.name for p in backups.glob("production.auth-*.db"))
    # The newest two: this run's and the first run's (one and the same name within one second).
    assert len(kept) == 2 and kept[-1] > "production.auth-20261109T043000Z.db"
    assert main_copy.exists()


def test_a_corrupt_sign_in_database_fails_the_backup(tmp_path, database, ntfy):
    auth = database.with_name("production.auth.db")
    auth.write_bytes(b"SQLite format 3\0" + os.urandom(4096))
    assert run_backup(tmp_path, database, ntfy).returncode == 1
    assert ntfy.received[-1].headers["Priority"] == "5"
    assert f"backup of {auth} failed" in ntfy.received[-1].text
    assert not list((database.parent / "backups").glob("production.auth-*.db"))
