#!/usr/bin/env python3
"""How far the Litestream replica is behind the live databases, in seconds.

    sudo python3 /opt/apps/ctv-bookedbiz-db/scripts/replica.py       # one line per replica

Used by `ctvdb doctor` (verify.py) and the daily update; standard library only. The figure
is Litestream's own (`litestream generations`, the same for a file replica and for S3): the
time between the last write to the database (its file or WAL, whichever is newer) and the
newest file in the replica's newest generation. 0 means everything written has been shipped.
Right after a write that follows a quiet spell it shows that spell until the next sync (1 s),
so a reading over the limit is taken again after a pause before it counts.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import opsenv  # a sibling in scripts/, standard library only

DEFAULT_LITESTREAM = "/usr/local/bin/litestream"
DEFAULT_CONFIG = "/etc/litestream.yml"
DEFAULT_ENV_FILE = "/etc/litestream.env"
DEFAULT_DATABASE = "/var/lib/ctv-bookedbiz-db/production.db"
DEFAULT_MAX_LAG = 60.0
# Under systemd the daily update gets the root-only env file as a credential (LoadCredential=).
CREDENTIAL = "litestream.env"
COMMAND_TIMEOUT = 60
GO_DURATION = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|μs|ms|s|m|h)")
UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ReplicaError(Exception):
    """Litestream could not be asked; the message says what was tried."""


def parse_duration(text: str) -> float:
    """Seconds in a Go duration as Litestream prints it: `729ms`, `-16ms`, `1h2m3.5s`, `0s`."""
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text)
    parts = GO_DURATION.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ValueError(f"not a duration: {text!r}")
    return sign * sum(float(number) * UNITS[unit] for number, unit in parts)


@dataclass(frozen=True)
class Setup:
    """Where the binary, its configuration and the values the configuration refers to are."""

    litestream: Path = Path(DEFAULT_LITESTREAM)
    config: Path = Path(DEFAULT_CONFIG)
    env_file: Path = Path(DEFAULT_ENV_FILE)

    @classmethod
    def from_values(cls, values: dict[str, str]) -> "Setup":
        """From a job's settings (LITESTREAM, LITESTREAM_CONFIG, LITESTREAM_ENV_FILE)."""
        credentials = values.get("CREDENTIALS_DIRECTORY")
        env_file = values.get("LITESTREAM_ENV_FILE") or (
            str(Path(credentials) / CREDENTIAL) if credentials and (Path(credentials) / CREDENTIAL).is_file()
            else DEFAULT_ENV_FILE)
        return cls(Path(values.get("LITESTREAM") or DEFAULT_LITESTREAM),
                   Path(values.get("LITESTREAM_CONFIG") or DEFAULT_CONFIG), Path(env_file))

    def values(self) -> dict[str, str]:
        """What the env file sets (the replica URL, S3 endpoint and keys)."""
        try:
            return opsenv.read_env_file(self.env_file)
        except (OSError, UnicodeDecodeError) as exc:
            raise ReplicaError(f"cannot read {self.env_file}: {exc}") from None

    def run(self, *args: str) -> tuple[str, str]:
        """stdout and stderr of `litestream ARGS -config CONFIG`, with the env file's values set."""
        command = [str(self.litestream), args[0], "-config", str(self.config), *args[1:]]
        try:
            result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                    env={**os.environ, **self.values()}, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise ReplicaError(f"`litestream {args[0]}` did not answer within {COMMAND_TIMEOUT} s") from None
        except OSError as exc:
            raise ReplicaError(f"cannot run {self.litestream}: {exc}") from None
        if result.returncode != 0:
            raise ReplicaError(f"`litestream {args[0]}` failed: {_complaint(result.stdout + result.stderr)}")
        return result.stdout, result.stderr


@dataclass(frozen=True)
class Lag:
    database: str
    replica: str
    seconds: float | None  # None: nothing of this database has reached the replica
    note: str = ""

    def behind(self, max_lag: float) -> bool:
        return self.seconds is None or self.seconds > max_lag

    def describe(self) -> str:
        where = f"{Path(self.database).name} → {self.replica}"
        if self.seconds is None:
            return f"{where}: nothing replicated{f' ({self.note})' if self.note else ''}"
        return f"{where}: {self.seconds:.1f} s behind"


def configured_databases(setup: Setup) -> dict[str, list[str]]:
    """Database path -> its replicas' names, as `litestream databases` lists them."""
    stdout, _ = setup.run("databases")
    found = {}
    for line in _table(stdout, "path"):
            path, names = line.rstrip().rsplit(None, 1)  # columns are padded with spaces
            found[path] = [n for n in names.split(",") if n]
    return found


def replica_lags(setup: Setup, database: str, replicas: list[str]) -> list[Lag]:
    """The lag of each replica of `database`: its newest generation's, from `litestream generations`."""
    stdout, stderr = setup.run("generations", database)
    best: dict[str, float] = {}
    for line in _table(stdout, "name"):  # name generation lag start end
        fields = line.split()
        if len(fields) != 5:
            continue
        try:
            seconds = max(parse_duration(fields[2]), 0.0)  # a replica file newer than the WAL: caught up
        except ValueError:
            continue
        best[fields[0]] = min(seconds, best.get(fields[0], seconds))
    return [Lag(database, name, best.get(name), "" if name in best else _complaint(stdout + stderr, errors_only=True))
            for name in replicas]


def same_disk(values: dict[str, str], database: Path) -> str:
    """A sentence if a file replica (LITESTREAM_REPLICA_URL=file://...) sits on the database's disk."""
    url = values.get("LITESTREAM_REPLICA_URL", "")
    if not url.startswith("file://"):
        return ""
    place = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    while not place.exists() and place != place.parent:
        place = place.parent
    try:
        if place.stat().st_dev == database.stat().st_dev:
            return f"the file replica {url} is on the same disk as {database}: it will not survive that disk"
    except OSError:
        pass
    return ""


@dataclass
class Report:
    lags: list[Lag] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    target: str = ""  # LITESTREAM_REPLICA_URL, for the reader

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def worst(self) -> float:
        return max((lag.seconds or 0.0 for lag in self.lags), default=0.0)

    def summary(self) -> str:
        names = ", ".join(sorted({Path(lag.database).name for lag in self.lags}))
        where = f" at {self.target}" if self.target else ""
        return f"the replica{where} of {names} is {self.worst:.1f} s behind at most"


def check(setup: Setup, databases: list[Path], max_lag: float = DEFAULT_MAX_LAG, wait: float = 5.0,
          pause: float = 2.0, settle: float = 0.0) -> Report:
    """Every database in `databases` is replicated and no replica is more than `max_lag` behind.
    A reading over the limit is taken again every `pause` seconds for up to `wait` seconds.
    `settle`: seconds to let Litestream sync before the first reading, right after a big write
    (an import whose commit took less than `max_lag` reads as within the limit at once, shipped
    or not)."""
    report = Report()
    if not setup.config.is_file():
        report.problems.append(f"no Litestream configuration {setup.config}: the only copies of the "
                               "database are on this host")
        return report
    if not (setup.litestream.is_file() and os.access(setup.litestream, os.X_OK)):
        report.problems.append(f"Litestream is not installed at {setup.litestream}")
        return report
    try:
        values = setup.values()
        report.target = values.get("LITESTREAM_REPLICA_URL", "")
        configured = configured_databases(setup)
        wanted = []
        for database in databases:
            replicas = configured.get(os.path.abspath(database))
            if not replicas:
                report.problems.append(f"{database} is not replicated: it has no replica in {setup.config}")
            else:
                wanted.append((os.path.abspath(database), replicas))
        deadline = time.monotonic() + wait
        time.sleep(settle)
        while True:
            report.lags = [lag for database, replicas in wanted for lag in replica_lags(setup, database, replicas)]
            if not any(lag.behind(max_lag) for lag in report.lags) or time.monotonic() >= deadline:
                break
            time.sleep(max(min(pause, deadline - time.monotonic()), 0))
        report.problems += [f"{lag.describe()} (limit {max_lag:g} s)" for lag in report.lags if lag.behind(max_lag)]
        if databases:
            disk = same_disk(values, Path(databases[0]))
            if disk:
                report.problems.append(disk)
    except ReplicaError as exc:
        report.problems.append(str(exc))
    return report


def databases_of(database: Path) -> list[Path]:
    """The main database and, once it exists, the sign-in database beside it."""
    auth = opsenv.auth_database(database)
    return [database, auth] if auth.exists() else [database]


def _table(stdout: str, first_column: str) -> list[str]:
    """The rows under Litestream's table header (its log lines, on stdout too, come before it)."""
    lines = stdout.splitlines()
    for number, line in enumerate(lines):
        if line.split()[:1] == [first_column]:
            return [row for row in lines[number + 1:] if row.strip() and not row.startswith("time=")]
    return []


def _complaint(output: str, errors_only: bool = False) -> str:
    """What Litestream's last error log line says (msg and error), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if "level=ERROR" in line:
            fields = dict(re.findall(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)', line))
            text = ": ".join(v.strip('"') for k, v in fields.items() if k in ("msg", "error"))
            return text.replace("\\n", " ").replace("\\t", " ").replace('\\"', '"')[:300]
    return lines[-1][:300] if lines and not errors_only else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="the main database (default: %(default)s)")
    parser.add_argument("--litestream", default=DEFAULT_LITESTREAM, help="the binary (default: %(default)s)")
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="its configuration (default: %(default)s)")
    parser.add_argument("--env-file", default=DEFAULT_ENV_FILE, help="the values it refers to (default: %(default)s)")
    parser.add_argument("--max-lag", type=float, default=DEFAULT_MAX_LAG, help="seconds (default: %(default)s)")
    parser.add_argument("--wait", type=float, default=5.0, help="seconds to wait for a replica to catch up")
    args = parser.parse_args(argv)
    report = check(Setup(Path(args.litestream), Path(args.config), Path(args.env_file)),
                   databases_of(Path(args.database)), args.max_lag, args.wait)
    for lag in report.lags:
        print(lag.describe())
    for problem in report.problems:
        print(f"replica: {problem}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
