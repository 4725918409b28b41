"""scripts/verify.py (`ctvdb doctor`) against an installed tree, a stand-in uvicorn on a free
port and a stand-in for the live systemctl: every item passes, and each breakage fails its item."""

import datetime as dt
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from standins import SCRIPTS, FakeLitestream

VERIFY = SCRIPTS / "verify.py"

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="verify.py checks files as the runtime user: needs root"),
    pytest.mark.skipif(not (shutil.which("systemctl") and shutil.which("useradd")),
                       reason="systemctl/useradd are not installed (apt-get install systemd passwd)"),
]

FAKE_SERVER = """#!{python}
# Stands in for uvicorn (its name is what verify.py looks for): answers GET / with {status}.
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response({status})
        self.send_header("Location", "http://127.0.0.1:{port}/reports/")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), Handler).serve_forever()
"""

FAKE_SYSTEMCTL = """#!/bin/sh
# Stands in for systemctl on a booted host: state-UNIT (or else the file state) says what a unit is.
case "$1" in
  is-active) f="$(dirname "$0")/state-$2"; [ -f "$f" ] || f="$(dirname "$0")/state"; cat "$f" ;;
  show) echo "Wed 2026-11-25 04:30:41 PST" ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(path: Path, port: int, status: int = 302) -> subprocess.Popen:
    path.write_text(FAKE_SERVER.format(python=sys.executable, port=port, status=status))
    path.chmod(0o755)
    process = subprocess.Popen([path])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{path} did not start listening on {port}")


@dataclass
class Host:
    root: Path
    port: int
    tools: Path
    server: subprocess.Popen
    litestream: FakeLitestream

    @property
    def database(self) -> Path:
        return self.root / "var/lib/ctv-bookedbiz-db/production.db"

    def replace_server(self, name: str, status: int = 302) -> None:
        """Stop the stand-in uvicorn (by its pid) and put another program on the port."""
        self.server.kill()
        self.server.wait()
        self.server = serve(self.tools / name, self.port, status)


@pytest.fixture
def host():
    """An installed tree (world-traversable, so the runtime user can reach the database)."""
    root = Path(tempfile.mkdtemp(prefix="ctvdb-verify-"))
    root.chmod(0o755)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (root / "etc/group").write_text("root:x:0:\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/gshadow").write_text("root:*::\n")
    subprocess.run([SCRIPTS / "install.py", "--root", root, "--skip-venv"], check=True, capture_output=True)
    database = root / "var/lib/ctv-bookedbiz-db/production.db"
    subprocess.run([sys.executable, "-m", "ctvdb", "--db", database, "init"], check=True, capture_output=True)
    record_import(database, hours_ago=3)
    uid, gid = (int(x) for x in next(line.split(":")[2:4] for line in (root / "etc/passwd").read_text().splitlines()
                                     if line.startswith("ctvbooked:")))
    for path in database.parent.glob("production.*db*"):   # both databases (init makes the sign-in one)
        os.chown(path, uid, gid)
        path.chmod(0o640)
    tools = root / "tools"
    tools.mkdir()
    (tools / "systemctl").write_text(FAKE_SYSTEMCTL)
    (tools / "systemctl").chmod(0o755)
    (tools / "state").write_text("active\n")
    (tools / "state-litestream.service").write_text("active\n")
    litestream = FakeLitestream(tools).configure({database: "312ms", database.with_name("production.auth.db"): "312ms"})
    port = free_port()
    host = Host(root, port, tools, serve(tools / "uvicorn", port), litestream)
    yield host
    host.server.kill()
    host.server.wait()
    shutil.rmtree(root)


def record_import(database: Path, hours_ago: float, status: str = "COMPLETED") -> None:
    finished = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours_ago)).isoformat(timespec="seconds")
    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO import_batches (mode, source_file, status, started_at, finished_at) "
                     "VALUES ('daily', 'Commercial Log 261125.xlsx', ?, ?, ?)", (status, finished, finished))


def doctor(host: Host, *args) -> subprocess.CompletedProcess:
    """verify.py against the tree; Litestream is the stand-in unless `args` say otherwise."""
    litestream = ["--litestream", "/tools/fake-litestream/litestream"] if "--litestream" not in args else []
    return subprocess.run([VERIFY, "--root", host.root, "--url", f"http://127.0.0.1:{host.port}",
                           "--systemctl", host.tools / "systemctl", "--replica-wait", "0", *litestream, *args],
                          capture_output=True, text=True, timeout=60)


def test_a_healthy_host_passes_every_item(host):
    result = doctor(host)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line[:4] for line in lines[:-1]] == ["OK  "] * 9
    assert lines[-1] == "All 9 checks passed."
    text, port = result.stdout, host.port
    assert f"only uvicorn listens on port {port} (pid {host.server.pid})" in text
    assert "ctv-bookedbiz-db.service is active (since Wed 2026-11-25 04:30:41 PST)" in text
    assert f"GET http://127.0.0.1:{port}/ answers 302 -> http://127.0.0.1:{port}/reports/" in text
    assert "the legacy flaskapp.service is masked" in text
    assert "ctv-daily-update.timer is enabled; next run " in text and "04:30:00" in text
    assert f"ctvbooked can read {host.database}" in text
    assert "the last completed import finished" in text and "3.0 h ago" in text
    assert "the replica of production.auth.db, production.db is 0.3 s behind at most (limit 60 s)" in text


def make_unreadable(host: Host) -> None:
    os.chown(host.database, 0, 0)
    host.database.chmod(0o600)


def make_stale(host: Host) -> None:
    with sqlite3.connect(host.database) as conn:
        conn.execute("DELETE FROM import_batches")
    record_import(host.database, hours_ago=30)
    record_import(host.database, hours_ago=1, status="FAILED")  # a failed run does not count


BREAKAGES = {
    "port": (lambda h: h.replace_server("flask"), "is held by something other than uvicorn (pid"),
    "inactive": (lambda h: (h.tools / "state").write_text("failed\n"), "ctv-bookedbiz-db.service is failed"),
    "redirect": (lambda h: h.replace_server("uvicorn-other", status=200), "/ answers 200"),
    "venv": (lambda h: (h.root / "opt/apps/ctv-bookedbiz-db/.venv").mkdir(), "a virtualenv exists at"),
    "legacy": (lambda h: (h.root / "etc/systemd/system/flaskapp.service").unlink(), "the legacy flaskapp.service is"),
    "timer": (lambda h: subprocess.run(["systemctl", f"--root={h.root}", "disable", "ctv-daily-update.timer"],
                                       capture_output=True), "ctv-daily-update.timer is disabled"),
    "unreadable": (make_unreadable, "ctvbooked cannot read"),
    "stale": (make_stale, "h ago (over 24 h)"),
    "replica behind": (lambda h: h.litestream.configure({h.database: "10m0s",
                                                         h.database.with_name("production.auth.db"): "312ms"}),
                       "production.db → replica: 600.0 s behind (limit 60 s)"),
    "replica stopped": (lambda h: (h.tools / "state-litestream.service").write_text("inactive\n"),
                        "litestream.service is inactive: changes are no longer replicated"),
    "no replica configured": (lambda h: (h.root / "etc/litestream.yml").unlink(),
                              "no Litestream configuration"),
    "sign-in database not replicated": (lambda h: h.litestream.configure({h.database: "312ms"}),
                                        "production.auth.db is not replicated: it has no replica in"),
}


@pytest.mark.parametrize("name", BREAKAGES)
def test_each_broken_item_fails_with_a_hint(host, name):
    breakage, failure = BREAKAGES[name]
    breakage(host)
    result = doctor(host)
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and failure in failed[0], result.stdout
    assert result.stdout.split(failed[0])[1].splitlines()[1].startswith("      hint: ")
    assert result.stdout.splitlines()[-1] == "8 of 9 checks passed."


def test_a_real_replica_of_both_databases_passes_with_its_lag(host, replicate, litestream_binary, s3_standin):
    """The real Litestream replicating the tree's two databases to moto's S3 server."""
    auth = host.database.with_name("production.auth.db")
    with sqlite3.connect(auth) as conn:   # made by `ctvdb init`, in WAL mode; one more write in it
        conn.execute("INSERT INTO auth_secrets (name, value) VALUES ('probe', 'x')")
    conn.close()
    bucket = f"verify-{os.getpid()}"
    s3_standin.create_bucket(bucket)
    replica = "\n".join(["    replicas:", "      - name: replica", "        url: ${LITESTREAM_REPLICA_URL}/{name}",
                         "        endpoint: ${LITESTREAM_S3_ENDPOINT}", "        sync-interval: 1s"])
    config = host.root / "etc/litestream.yml"
    config.write_text("dbs:\n" + "".join(f"  - path: {db}\n" + replica.replace("{name}", db.name) + "\n"
                                          for db in (host.database, auth)))
    values = {"LITESTREAM_REPLICA_URL": f"s3://{bucket}/production", "LITESTREAM_S3_ENDPOINT": s3_standin.endpoint,
              "LITESTREAM_ACCESS_KEY_ID": "test", "LITESTREAM_SECRET_ACCESS_KEY": "test"}
    (host.root / "etc/litestream.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    (host.root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    (host.root / "usr/local/bin/litestream").symlink_to(litestream_binary)
    process = replicate(config, values)
    process.wait_until_shipped([host.database, auth], time.time())
    result = doctor(host, "--litestream", "/usr/local/bin/litestream")
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "replica" in line)
    match = re.fullmatch(rf"OK    the replica at s3://{bucket}/production of production.auth.db, production.db is "
                         r"(\S+) s behind at most \(limit 60 s\)", line)
    assert match and float(match[1]) <= 2.0, line
