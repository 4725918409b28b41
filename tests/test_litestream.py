"""The Litestream replica for real: the binary .ci/litestream.sh installs, run with the shipped
units/litestream.yml (its data directory moved into tmp_path), replicating both databases
while an import runs and while rows are edited, to a replica directory and to moto's S3
server. Then `litestream restore` brings each back, and the restored files must hold the same
figures as the live ones, counted by plain SQL here, not by the code under test.

Run with -s to see what was measured (lag during the import, time to catch up, restore time).
"""

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from standins import script

UNITS = Path(__file__).resolve().parent.parent / "units"
DATA_DIR = "/var/lib/ctv-bookedbiz-db"
SYNCED = 2.0  # seconds: "caught up" (S3 keeps whole seconds of modification time)

pytestmark = pytest.mark.slow


def shipped_config(data: Path, target: Path) -> Path:
    """units/litestream.yml as install.py installs it, with the data directory moved to `data`."""
    text = (UNITS / "litestream.yml").read_text()
    assert text.count(f"  - path: {DATA_DIR}/") == 2
    target.write_text(text.replace(f"path: {DATA_DIR}/", f"path: {data}/"))
    return target


def env_file(path: Path, **values) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return path


def figures(database: Path) -> dict:
    """What a person would compare: spots and gross per month, the import history, the edited
    budgets, and the sign-in users, each by its own query."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        found = {"integrity": conn.execute("PRAGMA integrity_check").fetchall()}
        if "spots" in tables:
            found["months"] = conn.execute("SELECT broadcast_month, count(*), round(sum(gross_rate), 2) FROM spots "
                                           "GROUP BY broadcast_month ORDER BY broadcast_month").fetchall()
            found["batches"] = conn.execute("SELECT id, mode, status, rows_imported, finished_at FROM import_batches "
                                            "ORDER BY id").fetchall()
            found["budgets"] = conn.execute("SELECT ae, broadcast_month, amount FROM budgets ORDER BY 1, 2").fetchall()
        if "users" in tables:
            found["users"] = conn.execute("SELECT id, email, role FROM users ORDER BY id").fetchall()
        return found
    finally:
        conn.close()


def add_user(conn, email: str, role: str) -> None:
    """A user row as `ctvdb users add` writes it (the hash is not checked here)."""
    conn.execute("INSERT INTO users (email, role, password_hash) VALUES (?, ?, 'scrypt:not-checked')", (email, role))


class LagSampler(threading.Thread):
    """Asks Litestream for the replica's lag every `every` seconds until stopped."""

    def __init__(self, setup, databases, every=0.25):
        super().__init__(daemon=True)
        self.replica, self.setup, self.databases, self.every = script("replica"), setup, databases, every
        self.samples: list[tuple[float, str, float | None]] = []
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for database in self.databases:
                for lag in self.replica.replica_lags(self.setup, str(database), ["replica"]):
                    self.samples.append((time.monotonic(), Path(database).name, lag.seconds))
            self.halt.wait(self.every)

    def stop(self):
        self.halt.set()
        self.join(timeout=30)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    from ctvdb.sample import write_sample

    # A few thousand rows keep the test quick; CTVDB_LITESTREAM_TEST_ROWS=60000 (and -s) shows
    # the lag during an import long enough to sample.
    rows = int(os.environ.get("CTVDB_LITESTREAM_TEST_ROWS") or 4000)
    path = tmp_path_factory.mktemp("workbook") / "Commercial Log 261124.xlsx"
    write_sample(path, rows=rows, months="Jan-25..Dec-26", seed=11)
    return path


@pytest.fixture(params=["file", "s3"])
def target(request, tmp_path):
    """The replica: a directory, or a bucket in moto's S3 server; and the env file's values."""
    if request.param == "file":
        return {"LITESTREAM_REPLICA_URL": (tmp_path / "replica").as_uri()}
    s3 = request.getfixturevalue("s3_standin")
    bucket = f"ctv-replica-{os.getpid()}-{int(time.time() * 1000) % 10**8}"
    s3.create_bucket(bucket)
    return {"LITESTREAM_REPLICA_URL": f"s3://{bucket}/production", "LITESTREAM_S3_ENDPOINT": s3.endpoint,
            "LITESTREAM_S3_REGION": "us-east-1", "LITESTREAM_ACCESS_KEY_ID": "test-key",
            "LITESTREAM_SECRET_ACCESS_KEY": "test-secret", "_s3": s3, "_bucket": bucket}


def test_both_databases_replicate_during_an_import_and_edits_and_restore_with_the_same_figures(
        tmp_path, workbook, target, litestream_binary, replicate):
    from ctvdb import db

    replica = script("replica")
    data = tmp_path / "data"
    data.mkdir()
    main, auth = data / "production.db", data / "production.auth.db"
    db.init(main)                      # and the sign-in database beside it, in WAL mode
    with sqlite3.connect(auth) as conn:
        add_user(conn, "admin@example.com", "admin")
    conn.close()
    config = shipped_config(data, tmp_path / "litestream.yml")
    values = {k: v for k, v in target.items() if not k.startswith("_")}
    setup = replica.Setup(litestream_binary, config, env_file(tmp_path / "litestream.env", **values))
    process = replicate(config, values)
    process.wait_for("wal segment written")

    # During an import (its own process, one transaction) and, meanwhile, sign-ins being written
    # to the second database.
    sampler = LagSampler(setup, [main, auth])
    sampler.start()
    started = time.monotonic()
    importing = subprocess.Popen([sys.executable, "-m", "ctvdb.import", workbook, "--db", main, "--mode", "manual",
                                  "--auto-setup", "--unattended"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with sqlite3.connect(auth, isolation_level=None) as conn:
        while importing.poll() is None:
            email = f"u{time.monotonic_ns()}@example.com"
            add_user(conn, email, "viewer")
            time.sleep(0.05)
    conn.close()
    assert importing.wait() == 0, importing.stdout.read().decode()
    imported = time.monotonic()

    # Edits after the import: budgets in the main database, more users in the other.
    with sqlite3.connect(main, isolation_level=None) as conn:
        for month in range(202601, 202613):
            conn.execute("INSERT INTO budgets (ae, broadcast_month, amount) VALUES ('Charmaine Lane', ?, ?)",
                         (month, 1000.0 + month % 100))
        conn.execute("UPDATE budgets SET amount = amount * 2 WHERE broadcast_month = 202606")
    conn.close()
    with sqlite3.connect(auth, isolation_level=None) as conn:
        conn.execute("UPDATE users SET role = 'management' WHERE id = 2")
        conn.execute("DELETE FROM users WHERE id = 3")
    conn.close()
    edited_at = time.time()

    # Litestream's lag compares write times, so a write less than SYNCED after the last shipped
    # one already reads as caught up; its log says when a segment begun after the edits is out.
    shipped = process.wait_until_shipped([main, auth], edited_at)
    report = replica.check(setup, [main, auth], max_lag=SYNCED, wait=30, pause=0.25)
    sampler.stop()
    # (A file replica in tmp_path shares the database's disk, which the check also points out.)
    assert not [lag for lag in report.lags if lag.behind(SYNCED)], report.problems
    assert {lag.database for lag in report.lags} == {str(main), str(auth)}

    expected = {main: figures(main), auth: figures(auth)}
    assert len(expected[main]["months"]) == 24 and expected[main]["batches"][-1][2] == "COMPLETED"
    assert expected[main]["batches"][-1][3] == sum(count for _, count, _ in expected[main]["months"])
    assert len(expected[main]["budgets"]) == 12 and len(expected[auth]["users"]) > 2

    # Restore from the replica while Litestream still runs: what it has shipped, nothing else.
    restore_seconds = {}
    for database in (main, auth):
        out = tmp_path / "restored" / database.name
        began = time.monotonic()
        result = subprocess.run([litestream_binary, "restore", "-config", config, "-o", out, database],
                                capture_output=True, text=True, env={**os.environ, **values}, timeout=120)
        restore_seconds[database.name] = time.monotonic() - began
        assert result.returncode == 0, result.stderr
        assert figures(out) == expected[database], database.name
        assert figures(out)["integrity"] == [("ok",)]
    process.stop()

    if "_s3" in target:  # the replica really is in the bucket: a snapshot of each database
        keys = target["_s3"].keys(target["_bucket"], "production/")
        for name in ("production.db", "production.auth.db"):
            assert any(k.startswith(f"production/{name}/generations/") and k.endswith(".snapshot.lz4") for k in keys)
    else:
        for name in ("production.db", "production.auth.db"):
            assert list((tmp_path / "replica" / name / "generations").glob("*/snapshots/*.snapshot.lz4"))

    during = [lag for when, name, lag in sampler.samples if started <= when <= imported and lag is not None]
    print(f"\n[{target['LITESTREAM_REPLICA_URL'].split(':')[0]}] import {imported - started:.1f} s; "
          f"lag during it: max {max(during, default=0):.1f} s over {len(during)} readings; shipped "
          f"{shipped:.1f} s after the last edit (lag then {report.worst:.1f} s at most); "
          f"restore {', '.join(f'{n} {s:.2f} s' for n, s in restore_seconds.items())}; "
          f"{expected[main]['batches'][-1][3]} spots, {len(expected[auth]['users'])} users")


def test_the_shipped_configuration_names_both_databases_and_one_replica_each(tmp_path, litestream_binary):
    data = tmp_path / "data"
    config = shipped_config(data, tmp_path / "litestream.yml")
    result = subprocess.run([litestream_binary, "databases", "-config", config], capture_output=True, text=True,
                            env={**os.environ, "LITESTREAM_REPLICA_URL": "s3://bucket/prefix"})
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [[str(data / "production.db"), "replica"], [str(data / "production.auth.db"), "replica"]]


def test_an_unset_replica_url_is_a_clear_error(tmp_path, litestream_binary):
    """What litestream.service logs until the operator sets LITESTREAM_REPLICA_URL."""
    data = tmp_path / "data"
    data.mkdir()
    sqlite3.connect(data / "production.db").close()
    config = shipped_config(data, tmp_path / "litestream.yml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITESTREAM_")}
    result = subprocess.run([litestream_binary, "replicate", "-config", config], capture_output=True, text=True,
                            env=env, timeout=30)
    assert result.returncode == 1
    assert "replica url scheme required: /production.db" in result.stdout + result.stderr


def test_the_lag_is_the_time_between_the_last_write_and_the_newest_replicated_file(tmp_path, litestream_binary,
                                                                                    replicate):
    """replica.check measures what Litestream reports; here it is held against the files."""
    replica = script("replica")
    data = tmp_path / "data"
    data.mkdir()
    main = data / "production.db"
    with sqlite3.connect(main) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    config = shipped_config(data, tmp_path / "litestream.yml")
    values = {"LITESTREAM_REPLICA_URL": (tmp_path / "replica").as_uri()}
    process = replicate(config, values)
    process.wait_for("wal segment written")
    process.stop()
    # A write Litestream never ships (it is stopped), stamped ten minutes after the replica's newest file.
    # (The connection stays open: the last one to close would fold the WAL into the database.)
    writer = sqlite3.connect(main, isolation_level=None)
    writer.execute("INSERT INTO t VALUES (1)")
    newest = max(p.stat().st_mtime for p in (tmp_path / "replica").rglob("*") if p.is_file())
    os.utime(data / "production.db-wal", (newest + 600, newest + 600))
    os.utime(main, (newest, newest))
    setup = replica.Setup(litestream_binary, config, env_file(tmp_path / "litestream.env", **values))
    try:
        report = replica.check(setup, [main], max_lag=60, wait=0)
    finally:
        writer.close()
    [lag] = report.lags
    assert lag.seconds == pytest.approx(600, abs=1)
    assert report.problems[0] == f"production.db → replica: {lag.seconds:.1f} s behind (limit 60 s)"
    # And the file replica sits on the database's disk, which the check also says.
    assert report.problems[1].startswith(f"the file replica {values['LITESTREAM_REPLICA_URL']} is on the same disk")
