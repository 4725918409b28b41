#!/usr/bin/env python3
"""`ctvdb doctor`: the operator's checklist for the production host, one line per item.

    sudo python3 /opt/apps/ctv-bookedbiz-db/scripts/verify.py

Each item prints OK or FAIL with a hint; the exit status is 1 if any item failed. Standard
library only. --root points the file checks (and `systemctl --root`) at a directory tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import opsenv  # siblings in scripts/, standard library only
import replica

SERVICE = "ctv-bookedbiz-db.service"
TIMER = "ctv-daily-update.timer"
LEGACY = "flaskapp.service"
LITESTREAM_SERVICE = "litestream.service"
ENV_FILE = "/etc/ctv-bookedbiz-db/ctv-bookedbiz-db.env"
DEFAULT_DATABASE = "/var/lib/ctv-bookedbiz-db/production.db"


@dataclass
class Item:
    ok: bool
    what: str
    hint: str = ""


def under(root: Path, absolute: str | Path) -> Path:
    return root / str(absolute).lstrip("/")


def run(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({exc})"


# -- port 8000 -----------------------------------------------------------------------------

def listening_inodes(port: int, proc: Path) -> set[str]:
    """Socket inodes listening on `port` (IPv4 and IPv6), from /proc/net/tcp*."""
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(fields[9])
    return inodes


def socket_owners(inodes: set[str], proc: Path) -> dict[str, list[tuple[int, str]]]:
    """inode -> [(pid, command line)] of the processes holding it."""
    owners: dict[str, list[tuple[int, str]]] = {inode: [] for inode in inodes}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                inode = target[8:-1] if target.startswith("socket:[") else None
                if inode in owners:
                    cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    owners[inode].append((int(entry.name), cmdline.strip()))
        except OSError:
            continue  # a process that ended, or one we may not look into
    return owners


def check_port(port: int, proc: Path) -> Item:
    inodes = listening_inodes(port, proc)
    if not inodes:
        return Item(False, f"nothing listens on port {port}", f"systemctl status {SERVICE}")
    owners = socket_owners(inodes, proc)
    processes = sorted({p for found in owners.values() for p in found})
    unknown = [inode for inode, found in owners.items() if not found]
    others = [(pid, cmd) for pid, cmd in processes if "uvicorn" not in cmd]
    if unknown:
        return Item(False, f"port {port} is held by a process this user cannot see", "run as root")
    if others:
        listing = "; ".join(f"pid {pid}: {cmd[:80]}" for pid, cmd in others)
        return Item(False, f"port {port} is held by something other than uvicorn ({listing})",
                    f"stop it, and `systemctl mask` it if it is a service ({LEGACY}?)")
    pids = ", ".join(str(pid) for pid, _ in processes)
    return Item(True, f"only uvicorn listens on port {port} (pid {pids})")


# -- systemd -------------------------------------------------------------------------------

def check_active(systemctl: list[str], service: str) -> Item:
    state = run([*systemctl, "is-active", service])
    if state == "active":
        since = run([*systemctl, "show", service, "-p", "ActiveEnterTimestamp", "--value"])
        return Item(True, f"{service} is active (since {since or '?'})")
    return Item(False, f"{service} is {state or 'unknown'}",
                f"systemctl restart {service}; journalctl -u {service} -n 50")


def check_masked(is_enabled: list[str], unit: str) -> Item:
    state = run([*is_enabled, "is-enabled", unit])
    if state == "masked":
        return Item(True, f"the legacy {unit} is masked")
    return Item(False, f"the legacy {unit} is {state or 'not masked'} and could start",
                f"systemctl disable --now {unit}; move /etc/systemd/system/{unit} aside; systemctl mask {unit}")


def check_timer(systemctl: list[str], is_enabled: list[str], root: Path, timer: str, live: bool) -> Item:
    state = run([*is_enabled, "is-enabled", timer])
    if state != "enabled":
        return Item(False, f"{timer} is {state or 'not installed'}", f"systemctl enable --now {timer}")
    next_run = run([*systemctl, "show", timer, "-p", "NextElapseUSecRealtime", "--value"]) if live else ""
    if not next_run:  # not booted into this tree: work it out from the unit's OnCalendar
        unit = under(root, f"/etc/systemd/system/{timer}")
        match = re.search(r"^OnCalendar=(.+)$", unit.read_text(), re.M) if unit.exists() else None
        if match:
            output = run(["systemd-analyze", "calendar", match.group(1)])
            found = re.search(r"Next elapse: (.+)", output)
            next_run = found.group(1) if found else ""
    return Item(True, f"{timer} is enabled; next run {next_run or 'unknown'}")


# -- files ---------------------------------------------------------------------------------

def check_no_venv(apps: Path) -> Item:
    for directory, dirnames, _ in os.walk(apps):
        if ".venv" in dirnames:
            found = Path(directory) / ".venv"
            return Item(False, f"a virtualenv exists at {found}",
                        f"rm -r {found}  (the service uses /opt/venvs/ctv-bookedbiz-db)")
        dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules", "__pycache__")]
    return Item(True, f"no .venv under {apps}")


def user_ids(root: Path, user: str) -> tuple[int, int] | None:
    try:
        for line in under(root, "/etc/passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == user:
                return int(fields[2]), int(fields[3])
    except (OSError, IndexError, ValueError):
        pass
    return None


def check_readable_by(database: Path, root: Path, user: str) -> Item:
    ids = user_ids(root, user)
    if ids is None:
        return Item(False, f"user {user} does not exist", "run scripts/install.py")
    if not database.is_file():
        return Item(False, f"database {database} does not exist", "run scripts/install.py, then the import")
    if os.geteuid() != 0 and os.geteuid() != ids[0]:
        return Item(False, f"cannot check that {user} can read {database} without root", "run as root")
    pid = os.fork()
    if pid == 0:  # the child becomes the runtime user and tries to read the database
        code = 1
        try:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
            conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.close()
            code = 0
        except BaseException:
            pass
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0:
        return Item(True, f"{user} can read {database}")
    return Item(False, f"{user} cannot read {database}",
                f"chown {user}:{user} {database}; chmod 640 {database}; check the directories above it")


def check_last_import(database: Path, max_age_hours: float, now: dt.datetime) -> Item:
    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT max(finished_at) FROM import_batches WHERE status = 'COMPLETED'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Item(False, f"cannot read the import history in {database}: {exc}", "ctvdb init, then the import")
    if not row or not row[0]:
        return Item(False, "no import has ever completed", "systemctl start ctv-daily-update.service")
    finished = dt.datetime.fromisoformat(row[0])
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=dt.timezone.utc)
    age = (now - finished).total_seconds() / 3600
    when = f"{finished:%Y-%m-%d %H:%M} UTC, {age:.1f} h ago"
    if age <= max_age_hours:
        return Item(True, f"the last completed import finished {when}")
    return Item(False, f"the last completed import finished {when} (over {max_age_hours:g} h)",
                "journalctl -u ctv-daily-update.service -n 50")


def check_replica(systemctl: list[str], setup: replica.Setup, database: Path, max_lag: float,
                  wait: float) -> Item:
    """Litestream runs, replicates both databases, and no replica is more than `max_lag` behind.

    Without a configuration this fails rather than saying "not configured": a host whose only
    copies of the data are on its own disk is not fit for production, and the checklist exists
    to say so.
    """
    report = replica.check(setup, replica.databases_of(database), max_lag, wait)
    if not report.ok:
        hint = ("install.py --litestream BINARY; set LITESTREAM_REPLICA_URL in /etc/litestream.env"
                if not report.lags else f"journalctl -u {LITESTREAM_SERVICE} -n 50")
        return Item(False, "; ".join(report.problems), hint)
    state = run([*systemctl, "is-active", LITESTREAM_SERVICE])
    if state != "active":
        return Item(False, f"{LITESTREAM_SERVICE} is {state or 'unknown'}: changes are no longer replicated "
                    f"({report.summary()})", f"systemctl restart {LITESTREAM_SERVICE}; journalctl -u "
                    f"{LITESTREAM_SERVICE} -n 50")
    return Item(True, f"{report.summary()} (limit {max_lag:g} s)")


# -- HTTP ----------------------------------------------------------------------------------

def check_redirect(url: str) -> Item:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        location = response.getheader("Location", "")
    except OSError as exc:
        return Item(False, f"GET {url}/ failed: {exc}", f"systemctl status {SERVICE}")
    finally:
        connection.close()
    if response.status == 302 and urllib.parse.urlsplit(location).path == "/reports/":
        return Item(True, f"GET {url}/ answers 302 -> {location}")
    return Item(False, f"GET {url}/ answers {response.status} {location}".rstrip(),
                "is this ctvdb? expected 302 to /reports/")


def database_from_env(root: Path) -> str:
    try:
        return opsenv.read_env_file(under(root, ENV_FILE)).get("DATABASE_PATH") or DEFAULT_DATABASE
    except (OSError, UnicodeDecodeError):
        return DEFAULT_DATABASE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the web service (default: %(default)s)")
    parser.add_argument("--service", default=SERVICE)
    parser.add_argument("--timer", default=TIMER)
    parser.add_argument("--legacy", default=LEGACY, help="the unit that must stay masked")
    parser.add_argument("--user", default="ctvbooked", help="the runtime user")
    parser.add_argument("--database", help=f"default: DATABASE_PATH in {ENV_FILE}, else {DEFAULT_DATABASE}")
    parser.add_argument("--apps", default="/opt/apps", help="where no .venv may be")
    parser.add_argument("--max-age-hours", type=float, default=24.0)
    parser.add_argument("--litestream", default=replica.DEFAULT_LITESTREAM)
    parser.add_argument("--litestream-config", default=replica.DEFAULT_CONFIG)
    parser.add_argument("--litestream-env", default=replica.DEFAULT_ENV_FILE)
    parser.add_argument("--max-replica-lag", type=float, default=replica.DEFAULT_MAX_LAG,
                        help="seconds the replica may be behind (default: %(default)s)")
    parser.add_argument("--replica-wait", type=float, default=5.0,
                        help="seconds to let a replica that is behind catch up (default: %(default)s)")
    parser.add_argument("--root", default="/", help="check files and unit state in this tree")
    parser.add_argument("--proc", default="/proc")
    parser.add_argument("--systemctl", default="systemctl", help="systemctl to ask about running units")
    args = parser.parse_args(argv)

    root = Path(args.root)
    systemctl = [args.systemctl]
    is_enabled = systemctl if args.root == "/" else ["systemctl", f"--root={root}"]
    database = under(root, args.database or database_from_env(root))
    port = urllib.parse.urlsplit(args.url).port or 80
    live = args.root == "/"
    items = [
        check_port(port, Path(args.proc)),
        check_active(systemctl, args.service),
        check_redirect(args.url.rstrip("/")),
        check_no_venv(under(root, args.apps)),
        check_masked(is_enabled, args.legacy),
        check_timer(systemctl, is_enabled, root, args.timer, live),
        check_readable_by(database, root, args.user),
        check_last_import(database, args.max_age_hours, dt.datetime.now(dt.timezone.utc)),
        check_replica(systemctl, replica.Setup(under(root, args.litestream), under(root, args.litestream_config),
                                               under(root, args.litestream_env)),
                      database, args.max_replica_lag, args.replica_wait),
    ]
    for item in items:
        print(f"{'OK  ' if item.ok else 'FAIL'}  {item.what}")
        if not item.ok and item.hint:
            print(f"      hint: {item.hint}")
    failed = sum(not item.ok for item in items)
    print(f"{len(items) - failed} of {len(items)} checks passed." if failed else f"All {len(items)} checks passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
