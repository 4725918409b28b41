"""End to end: boot a Debian container with systemd-nspawn, install ctvdb with scripts/install.py
as an operator would, and check the units for real: the web service answers 302 -> /reports/,
`systemctl start ctv-daily-update.service` imports a sample workbook and the stand-in ntfy hears
of it, litestream.service replicates it to a second "disk" (a tmpfs) from which it restores,
the service comes back after SIGKILL, and it cannot write outside its data directory.

Needs root, systemd-nspawn and debootstrap (.ci/ops-setup.sh installs them and caches the
root). The container has a private network: the stand-in ntfy runs inside it, the venv is built
by uv from the host's uv cache with no network, and the checkout is bound read-only at /src.
"""

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
STANDINS = Path(__file__).resolve().parent / "standins"
DATA = "/var/lib/ctv-bookedbiz-db"
WORKBOOK = "Commercial Log 261125.xlsx"
REPLICA_DIR = "/srv/ctv-bookedbiz-db-replica"
# The daily import replaces the current month and freezes the previous one, so the workbook
# holds the month the container's clock (the host's) is in.
THIS_MONTH = dt.date.today().strftime("%b-%y")
LEGACY_UNIT = """[Unit]
Description=Legacy Flask dev server (what install.py must retire)
[Service]
ExecStart=/bin/sleep infinity
[Install]
WantedBy=multi-user.target
"""



def uv_binary() -> Path | None:
    """The uv executable itself (bound into the container), not a shell shim in front of it."""
    for candidate in (os.environ.get("UV"), shutil.which("uv")):  # `uv run` sets UV to itself
        if candidate:
            path = Path(candidate).resolve()
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    return path
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="systemd-nspawn needs root"),
    pytest.mark.skipif(not shutil.which("systemd-nspawn"), reason="systemd-nspawn is not installed "
                       "(apt-get install systemd-container, or bash .ci/ops-setup.sh)"),
    pytest.mark.skipif(not shutil.which("debootstrap") and not Path("/var/cache/ctvdb-nspawn").is_dir(),
                       reason="debootstrap is not installed (bash .ci/ops-setup.sh)"),
    pytest.mark.skipif(uv_binary() is None, reason="uv (an executable, not a shim) builds the container's venv"),
]


class Container:
    """A booted container and ways to run things in it (nsenter into its init's namespaces)."""

    def __init__(self, image: Path, work: Path, litestream: Path):
        self.work = work
        self.console = open(work / "console.log", "wb")
        uv = uv_binary()
        uv_cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
        self.process = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--directory", image, "--boot", "--volatile=overlay",
             "--register=no", "--keep-unit", "--private-network", "--machine=ctvdb-e2e",
             f"--bind-ro={REPO}:/src", f"--bind-ro={uv}:/usr/local/bin/uv", f"--bind={uv_cache}:/var/cache/uv",
             f"--bind={work / 'exchange'}:/e2e", f"--bind-ro={litestream}:/usr/local/lib/e2e-litestream",
             # The file replica's own file system, as a second disk mounted there would be.
             f"--tmpfs={REPLICA_DIR}:mode=0777"],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT)
        self.leader = self._find_leader()

    def _find_leader(self) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited {self.process.returncode}: {self.log_tail()}")
            for task in Path(f"/proc/{self.process.pid}/task").iterdir():
                children = (task / "children").read_text().split()
                for child in children:
                    if Path(f"/proc/{child}/comm").read_text().strip() == "systemd":
                        return int(child)
            time.sleep(0.1)
        raise RuntimeError(f"no init in the container after 30 s: {self.log_tail()}")

    def log_tail(self) -> str:
        return (self.work / "console.log").read_bytes()[-3000:].decode(errors="replace")

    def path(self, inside: str) -> Path:
        """A path in the container's file system, seen from the host."""
        return Path(f"/proc/{self.leader}/root") / inside.lstrip("/")

    def run(self, *command, check=True, timeout=120, env=None) -> subprocess.CompletedProcess:
        environment = ["PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "LANG=C.UTF-8", *(env or [])]
        result = subprocess.run(["nsenter", f"--target={self.leader}", "--all", "--", "env", "-i",
                                 *environment, *map(str, command)],
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def wait_until_booted(self, timeout: float = 90) -> str:
        """Boot state once systemd has finished starting up (`running`, or `degraded`)."""
        deadline = time.monotonic() + timeout
        while True:  # until systemd in there answers at all, then until it has finished booting
            state = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=timeout).stdout.strip()
            if state not in ("", "offline", "initializing", "starting") or time.monotonic() > deadline:
                return state
            time.sleep(0.2)

    def get(self, path: str = "/") -> tuple[int, str]:
        """GET http://127.0.0.1:8000<path> from inside: (status, Location)."""
        script = ("import http.client as h; c = h.HTTPConnection('127.0.0.1', 8000, timeout=5); "
                  f"c.request('GET', {path!r}); r = c.getresponse(); print(r.status, r.getheader('Location', ''))")
        result = self.run("python3", "-c", script, check=False)
        if result.returncode != 0:
            return 0, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        status, _, location = result.stdout.strip().partition(" ")
        return int(status), location

    def wait_for_web(self, timeout: float = 60) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get()
            if answer[0] or time.monotonic() > deadline:
                return answer
            time.sleep(0.5)

    def show(self, unit: str, prop: str) -> str:
        return self.run("systemctl", "show", unit, "-p", prop, "--value").stdout.strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd to power off
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.console.close()


@pytest.fixture(scope="module")
def image() -> Path:
    result = subprocess.run(["bash", REPO / ".ci/ops-setup.sh", "--root-only"], capture_output=True, text=True,
                            timeout=900)
    if result.returncode != 0:
        pytest.fail(f".ci/ops-setup.sh --root-only failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def booted(image, litestream_binary):
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ctvdb-e2e-", dir="/var/tmp"))
    (work / "exchange").mkdir()
    shutil.copy(STANDINS / "servers.py", work / "exchange" / "servers.py")
    from ctvdb import sample
    sample.write_sample(work / "exchange" / WORKBOOK, rows=500, months=[THIS_MONTH], seed=1)
    container = Container(image, work, litestream_binary)
    try:
        state = container.wait_until_booted()
        assert state in ("running", "degraded"), f"{state}: {container.run('systemctl', '--failed', check=False).stdout}"
        yield container, started
    finally:
        container.stop()
        if os.environ.get("CTVDB_E2E_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(booted):
    """The container after `install.py`, with the legacy service running beforehand, the env
    file pointed at the stand-in ntfy and today's workbook in the data directory."""
    container, started = booted
    container.path("/etc/systemd/system/flaskapp.service").write_text(LEGACY_UNIT)
    container.run("systemctl", "daemon-reload")
    container.run("systemctl", "enable", "--now", "flaskapp.service")
    container.run("systemd-run", "--unit=ntfy-standin", "/usr/bin/python3", "/e2e/servers.py", "ntfy",
                  "--port", "8090", "--record", "/e2e/ntfy.jsonl")
    # The operator's replica settings, there before the install (which keeps an existing file).
    container.run("install", "-m", "0600", "/dev/null", "/etc/litestream.env")
    container.path("/etc/litestream.env").write_text(f"LITESTREAM_REPLICA_URL=file://{REPLICA_DIR}\n")
    result = container.run("python3", "/src/scripts/install.py", "--source", "/src", "--uv", "/usr/local/bin/uv",
                           "--litestream", "/usr/local/lib/e2e-litestream",
                           env=["UV_CACHE_DIR=/var/cache/uv", "UV_OFFLINE=1", "UV_LINK_MODE=copy", "UV_NO_PROGRESS=1"],
                           timeout=300)
    env_file = container.path("/etc/ctv-daily-update.env")
    env_file.write_text(env_file.read_text() + "NTFY_SERVER=http://127.0.0.1:8090\nNTFY_TOPIC=ctv-e2e\n"
                        f"DAILY_UPDATE_DATA_FILE={DATA}/{WORKBOOK}\n")
    container.run("install", "-o", "ctvbooked", "-g", "ctvbooked", "-m", "0640", f"/e2e/{WORKBOOK}",
                  f"{DATA}/{WORKBOOK}")
    return container, result.stdout, started


def ntfy_messages(container) -> list[dict]:
    path = container.work / "exchange" / "ntfy.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_install_retires_the_legacy_service_and_enables_the_units(installed):
    container, output, _ = installed
    assert "install: made" in output
    assert container.run("systemctl", "is-enabled", "flaskapp.service", check=False).stdout.strip() == "masked"
    assert container.run("systemctl", "is-active", "flaskapp.service", check=False).stdout.strip() == "inactive"
    for unit in ("ctv-bookedbiz-db.service", "ctv-daily-update.timer", "ctv-db-backup.timer", "litestream.service"):
        assert container.run("systemctl", "is-enabled", unit).stdout.strip() == "enabled"
    assert container.show("ctv-daily-update.timer", "ActiveState") == "active"
    assert not container.path("/opt/apps/ctv-bookedbiz-db/.venv").exists()


def test_a_second_install_on_the_live_host_only_syncs_and_restarts(installed):
    container, _, _ = installed
    result = container.run("python3", "/src/scripts/install.py", "--source", "/src", "--uv", "/usr/local/bin/uv",
                           env=["UV_CACHE_DIR=/var/cache/uv", "UV_OFFLINE=1", "UV_LINK_MODE=copy", "UV_NO_PROGRESS=1"],
                           timeout=300)
    steps = [line for line in result.stdout.splitlines()[1:-1] if not line.startswith((" ", "Resolved", "Audited"))]
    # uv reinstalls the project itself on every sync, so its fresh files get their owner set again.
    assert {step.split()[0] for step in steps} <= {"build", "set", "migrate", "run"}, steps
    assert all(" paths under /opt/" in step for step in steps if step.startswith("set")), steps
    assert steps[-1] == "run systemctl restart ctv-bookedbiz-db.service"


def test_the_web_service_answers_302_to_reports(installed):
    container, _, _ = installed
    status, location = container.wait_for_web()
    assert status == 302, f"{location}\n{container.run('journalctl', '-u', 'ctv-bookedbiz-db', '-n', '40', check=False).stdout}"
    assert location.endswith("/reports/")
    assert container.show("ctv-bookedbiz-db.service", "User") == "ctvbooked"


def test_the_daily_update_imports_the_workbook_and_ntfy_hears_of_it(installed):
    container, _, _ = installed
    result = container.run("systemctl", "start", "ctv-daily-update.service", check=False, timeout=300)
    journal = container.run("journalctl", "-u", "ctv-daily-update", "--no-pager", check=False).stdout
    assert result.returncode == 0, journal
    assert container.show("ctv-daily-update.service", "Result") == "success"
    messages = ntfy_messages(container)
    assert [m["headers"]["Priority"] for m in messages] == ["2", "3"], messages
    assert messages[0]["path"] == "/ctv-e2e"
    assert f"{THIS_MONTH}: spots 0 → 500" in messages[1]["body"]
    # The replica's settings reached the sandboxed service through LoadCredential=.
    assert f"Replica: the replica at file://{REPLICA_DIR} of production.auth.db, production.db is " in messages[1]["body"]
    query = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(" \
            "\"SELECT status, rows_imported FROM import_batches ORDER BY id DESC\").fetchone())"
    assert container.run("python3", "-c", query, f"{DATA}/production.db").stdout.strip() == "('COMPLETED', 500)"


def test_systemd_bounds_the_daily_update_s_memory(installed):
    """What systemd makes of the unit's memory settings. The kernel's side (the import killed,
    the supervisor's line, the notification) is tested on the host in a memory cgroup of its own
    (test_scripts_daily_update.py): this container's cgroups have no memory controller."""
    container, _, _ = installed
    assert container.show("ctv-daily-update.service", "MemoryMax") == str(1 << 30)
    assert container.show("ctv-daily-update.service", "MemorySwapMax") == "0"
    assert container.show("ctv-daily-update.service", "OOMPolicy") == "continue"


def test_a_user_added_by_the_operator_signs_in_to_the_service(installed):
    """Users and sessions are in production.auth.db, which the service (ctvbooked) writes: an
    operator adds a user with sudo, and a sign-in against the running service gets its cookie."""
    container, _, _ = installed
    container.wait_for_web()
    container.run("sh", "-c", "echo 'a long enough password' | /opt/venvs/ctv-bookedbiz-db/bin/ctvdb --db "
                  f"{DATA}/production.db users add ops@example.com --role admin --password-stdin")
    script = (
        "import http.client as h, re\n"
        "c = h.HTTPConnection('127.0.0.1', 8000, timeout=10); c.request('GET', '/signin'); r = c.getresponse()\n"
        "cookie = r.getheader('Set-Cookie').split(';')[0]; token = re.search(r'csrf_token\" value=\"(\\w+)', "
        "r.read().decode()).group(1)\n"
        "from urllib.parse import urlencode\n"
        "body = urlencode({'email': 'ops@example.com', 'password': 'a long enough password', 'csrf_token': token})\n"
        "c = h.HTTPConnection('127.0.0.1', 8000, timeout=10)\n"
        "c.request('POST', '/signin', body, {'Cookie': cookie, 'Origin': 'http://127.0.0.1:8000',\n"
        "          'Content-Type': 'application/x-www-form-urlencoded'})\n"
        "r = c.getresponse(); print(r.status, 'ctvdb_session=' in (r.getheader('Set-Cookie') or ''))\n")
    result = container.run("python3", "-c", script, check=False)
    journal = container.run("journalctl", "-u", "ctv-bookedbiz-db", "-n", "30", "--no-pager", check=False).stdout
    assert result.stdout.strip() == "303 True", result.stdout + result.stderr + journal


def test_litestream_service_replicates_the_import_and_it_restores(installed):
    container, _, _ = installed
    assert container.show("litestream.service", "ActiveState") == "active", \
        container.run("journalctl", "-u", "litestream", "--no-pager", check=False).stdout
    assert container.show("litestream.service", "User") == "ctvbooked"
    assert container.path(f"{REPLICA_DIR}/production.db/generations").is_dir()
    query = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(" \
            "\"SELECT count(*), round(sum(gross_rate), 2) FROM spots\").fetchone())"
    live = container.run("python3", "-c", query, f"{DATA}/production.db").stdout.strip()
    restore = ("set -a; . /etc/litestream.env; rm -f /root/restored.db; "
               f"litestream restore -o /root/restored.db {DATA}/production.db")
    container.run("sh", "-c", restore)
    restored = container.run("python3", "-c", query, "/root/restored.db").stdout.strip()
    journal = container.run("journalctl", "-u", "litestream", "--no-pager", check=False).stdout
    assert restored == live, journal
    assert live.startswith("(500, ")


def test_the_backup_service_makes_a_checked_copy(installed):
    container, _, _ = installed
    result = container.run("systemctl", "start", "ctv-db-backup.service", check=False, timeout=120)
    assert result.returncode == 0, container.run("journalctl", "-u", "ctv-db-backup", check=False).stdout
    copies = list(container.path(f"{DATA}/backups").glob("production-*.db"))
    assert len(copies) == 1 and copies[0].stat().st_uid == container.path(f"{DATA}/production.db").stat().st_uid
    assert "integrity check ok" in ntfy_messages(container)[-1]["body"]


def test_the_checklist_passes_on_the_booted_host(installed):
    container, _, _ = installed
    container.wait_for_web()
    result = container.run("python3", "/opt/apps/ctv-bookedbiz-db/scripts/verify.py", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "All 9 checks passed."
    assert f"the replica at file://{REPLICA_DIR} of production.auth.db, production.db is " in result.stdout
    assert "ctv-daily-update.timer is enabled; next run " in result.stdout


def test_the_service_cannot_write_outside_its_data_directory(installed):
    container, _, _ = installed
    container.wait_for_web()
    pid = container.show("ctv-bookedbiz-db.service", "MainPID")
    uid = container.run("id", "-u", "ctvbooked").stdout.strip()
    gid = container.run("id", "-g", "ctvbooked").stdout.strip()
    probe = ("import sys\nfor path in sys.argv[1:]:\n    try:\n        open(path, 'w').close(); print(path, 'written', sep='\\t')\n"
             "    except OSError as exc:\n        print(path, exc.strerror, sep='\\t')\n")
    targets = [f"{DATA}/probe", "/opt/apps/ctv-bookedbiz-db/probe", "/opt/venvs/ctv-bookedbiz-db/probe",
               "/etc/probe", "/usr/probe", "/var/probe", "/root/probe", "/tmp/probe", "/var/tmp/probe"]
    # Run as the service user inside the service's own namespaces (mounts, users): its sandbox.
    result = container.run("nsenter", f"--target={pid}", "--mount", "--user", f"--setuid={uid}",
                           f"--setgid={gid}", "python3", "-c", probe, *targets, check=False)
    answers = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert answers[f"{DATA}/probe"] == "written", result.stdout + result.stderr
    assert container.path(f"{DATA}/probe").exists()
    for target in targets[1:7]:
        assert answers[target] in ("Read-only file system", "Permission denied"), result.stdout
    assert answers["/opt/apps/ctv-bookedbiz-db/probe"] == "Read-only file system"
    for target in targets[7:]:  # PrivateTmp: the service's own, thrown away when it stops
        assert answers[target] == "written" and not container.path(target).exists()


def test_the_service_restarts_after_being_killed(installed):
    container, _, _ = installed
    container.wait_for_web()
    before = container.show("ctv-bookedbiz-db.service", "MainPID")
    restarts = int(container.show("ctv-bookedbiz-db.service", "NRestarts"))
    container.run("systemctl", "kill", "--signal=SIGKILL", "ctv-bookedbiz-db.service")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = container.show("ctv-bookedbiz-db.service", "MainPID")
        if pid not in ("0", before) and container.show("ctv-bookedbiz-db.service", "ActiveState") == "active":
            break
        time.sleep(0.3)
    assert int(container.show("ctv-bookedbiz-db.service", "NRestarts")) == restarts + 1
    assert container.wait_for_web()[0] == 302


def test_the_service_runs_the_installed_venv_not_the_checkout(installed):
    """Editing /opt/apps (the working directory) changes nothing until install.py runs again."""
    container, _, _ = installed
    asgi = container.path("/opt/apps/ctv-bookedbiz-db/ctvdb/web/asgi.py")
    original = asgi.read_bytes()
    asgi.write_text("raise SystemExit('the checkout was imported, not the venv')\n")
    try:
        container.run("systemctl", "restart", "ctv-bookedbiz-db.service")
        assert container.wait_for_web()[0] == 302
    finally:
        asgi.write_bytes(original)


TRICKY_ENV_FILE = r"""# comment line
; another comment
PLAIN=value with  inner spaces   
QUOTED="two  words " 
SINGLE='$HOME stays'
JOINED="x"'y'z
ESCAPES="say \"hi\" \$5 \n"
HASH=https://h/x#frag # not a comment
CONTINUED=--one \
--two
  INDENTED = yes
EMPTY=
UNICODE=Phở Hòa 華語
"""


def test_opsenv_reads_an_env_file_exactly_as_systemd_does(booted):
    from standins import script

    container, _ = booted
    (container.work / "exchange" / "tricky.env").write_text(TRICKY_ENV_FILE, encoding="utf-8")
    result = container.run("systemd-run", "--wait", "--pipe", "--quiet", "-p", "EnvironmentFile=/e2e/tricky.env",
                           "/usr/bin/env", "-0")
    from_systemd = dict(item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
    ours = script("opsenv").parse_env(TRICKY_ENV_FILE)
    assert ours == {name: from_systemd[name] for name in ours}
    assert set(ours) == {"PLAIN", "QUOTED", "SINGLE", "JOINED", "ESCAPES", "HASH", "CONTINUED", "INDENTED",
                         "EMPTY", "UNICODE"}


def test_the_whole_run_stays_under_five_minutes(installed):
    _, _, started = installed
    assert time.monotonic() - started < 300
