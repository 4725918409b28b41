#!/usr/bin/env python3
"""The 04:30 daily update: import today's Commercial Log and say how it went.

Started by ctv-daily-update.service with the system python3; standard library only. Settings
come from /etc/ctv-daily-update.env (or --env-file, or $CTV_DAILY_UPDATE_ENV). The exit status
is the import's: a failed import is never reported as a success, and a notification that
cannot be delivered never changes the outcome.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import notify  # siblings in scripts/, standard library only
import opsenv
import replica

log = logging.getLogger("ctv.daily_update")

DEFAULT_ENV_FILE = "/etc/ctv-daily-update.env"
DEFAULT_PYTHON = "/opt/venvs/ctv-bookedbiz-db/bin/python"
DEFAULT_DATA_DIR = "/var/lib/ctv-bookedbiz-db"
# Below the unit's TimeoutStartSec (1 h), so a hung import is reported, not just killed.
DEFAULT_TIMEOUT = 50 * 60
TAIL_LINES = 5
# After an import Litestream has a whole WAL to ship; give it this long before saying it is behind.
DEFAULT_REPLICA_WAIT = 180.0
REPLICA_SETTLE = 3.0


@dataclass(frozen=True)
class Settings:
    database_path: Path
    python: Path
    data_file: Path
    log_file: Path
    lock_file: Path
    extra_args: tuple[str, ...]
    timeout: float
    replica: replica.Setup
    replica_max_lag: float
    replica_wait: float
    # Issue 13: every workbook imported is kept (moved into processed/, named with its date),
    # so booking snapshots can be rebuilt from them (`ctvdb pace backfill`); None = forever.
    processed_dir: Path = Path(DEFAULT_DATA_DIR) / "processed"
    keep_workbooks_days: int | None = None
    today: dt.date = dt.date.min

    @classmethod
    def from_values(cls, values: dict[str, str], today: dt.date) -> "Settings":
        database = Path(values.get("DATABASE_PATH") or f"{DEFAULT_DATA_DIR}/production.db")
        data_dir = Path(values.get("DAILY_UPDATE_DATA_DIR") or values.get("DATA_PATH") or DEFAULT_DATA_DIR)
        return cls(
            database_path=database,
            python=Path(values.get("PYTHON_VENV") or DEFAULT_PYTHON),
            data_file=Path(values.get("DAILY_UPDATE_DATA_FILE") or data_dir / default_workbook_name(today)),
            log_file=Path(values.get("DAILY_UPDATE_LOG_FILE") or database.parent / "logs" / "daily-update.log"),
            lock_file=Path(values.get("DAILY_UPDATE_LOCK_FILE") or database.parent / ".ctv-daily-update.lock"),
            extra_args=tuple(shlex.split(values.get("DAILY_UPDATE_EXTRA_ARGS") or "")),
            timeout=float(values.get("DAILY_UPDATE_TIMEOUT") or DEFAULT_TIMEOUT),
            replica=replica.Setup.from_values(values),
            replica_max_lag=float(values.get("REPLICA_MAX_LAG") or replica.DEFAULT_MAX_LAG),
            replica_wait=float(values.get("REPLICA_WAIT") or DEFAULT_REPLICA_WAIT),
            # The data directory's processed/ (the production layout); the database's directory
            # is the data directory when DATA_PATH is not set, as for the log and the lock.
            processed_dir=Path(values.get("DAILY_UPDATE_PROCESSED_DIR") or Path(
                values.get("DAILY_UPDATE_DATA_DIR") or values.get("DATA_PATH") or database.parent) / "processed"),
            keep_workbooks_days=_days(values.get("DAILY_UPDATE_KEEP_WORKBOOKS_DAYS")),
            today=today,
        )


def default_workbook_name(today: dt.date) -> str:
    return f"Commercial Log {today:%y%m%d}.xlsx"


def _days(text: str | None) -> int | None:
    if not (text or "").strip():
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"DAILY_UPDATE_KEEP_WORKBOOKS_DAYS must be a whole number of days (1 or more), not {text!r}")
    return int(text)


# The day a workbook is of, from its name: the rule of ctvdb/backfill.py (the scripts do not
# import ctvdb; keep the two in step): a YYYY-MM-DD, else six digits YYMMDD.
_ISO_DAY = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_YYMMDD = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})(?!\d)")


def workbook_day(path: Path) -> dt.date | None:
    for pattern, century in ((_ISO_DAY, 0), (_YYMMDD, 2000)):
        for match in pattern.finditer(path.stem):
            year, month, day = (int(g) for g in match.groups())
            try:
                return dt.date(century + year, month, day)
            except ValueError:
                continue
    return None


def processed_copy(settings: Settings) -> Path:
    """Where the workbook is kept once imported: processed/, named with its date (its name's,
    else today's), as the daily logs are named."""
    return settings.processed_dir / default_workbook_name(workbook_day(settings.data_file) or settings.today)


def keep_workbook(settings: Settings) -> tuple[bool, str]:
    """Move the imported workbook into processed/ and delete kept workbooks older than
    keep_workbooks_days: (done, one line for the report). Never raises: the import is done, and
    a workbook that could not be moved is itself something to report."""
    target = processed_copy(settings)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if settings.data_file.resolve() != target.resolve():
            shutil.move(settings.data_file, target)
        removed = []
        if settings.keep_workbooks_days is not None:
            oldest = settings.today - dt.timedelta(days=settings.keep_workbooks_days)
            for kept in sorted(target.parent.glob("*.xlsx")):
                day = workbook_day(kept)
                if day is not None and day < oldest and kept != target:
                    kept.unlink()
                    removed.append(kept.name)
    except OSError as exc:
        log.exception("could not keep the workbook")
        return False, f"Workbook NOT kept: moving {settings.data_file} to {target} failed ({exc})."
    line = f"Workbook kept as {target}."
    if removed:
        line += (f" Removed {len(removed)} kept workbook{'s' if len(removed) > 1 else ''} older than "
                 f"{settings.keep_workbooks_days} days.")
    return True, line


def check_prerequisites(settings: Settings) -> list[str]:
    """What is missing, one phrase each; empty when the import can run."""
    problems = []
    if not settings.data_file.is_file():
        problems.append(f"data file {settings.data_file} does not exist")
    elif not os.access(settings.data_file, os.R_OK):
        problems.append(f"data file {settings.data_file} is not readable")
    if not (settings.python.is_file() and os.access(settings.python, os.X_OK)):
        problems.append(f"Python {settings.python} is not an executable file (PYTHON_VENV)")
    if not settings.database_path.is_file():
        problems.append(f"database {settings.database_path} does not exist (DATABASE_PATH)")
    return problems


def import_command(settings: Settings, summary_json: Path) -> list[str]:
    return [
        str(settings.python), "-m", "ctvdb.import", str(settings.data_file),
        "--auto-setup", "--unattended",
        "--log-file", str(settings.log_file),
        "--db", str(settings.database_path),
        "--summary-json", str(summary_json),
        *settings.extra_args,
    ]


def log_tail(path: Path, start: int, count: int = TAIL_LINES) -> list[str]:
    """The last `count` non-blank lines the log gained after byte offset `start`."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(start if start <= size else 0)  # a log that was truncated: read it all
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-count:]


def read_summary(path: Path) -> dict | None:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def _money(value) -> str:
    try:
        return f"${float(value):,.2f}"
    except (TypeError, ValueError):
        return "$?"


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def success_report(settings: Settings, summary: dict | None, last_line: str, seconds: float):
    """(level, title, body) for a completed import."""
    name = settings.data_file.name
    if summary is None:
        body = f"Imported {name} into {settings.database_path} in {seconds:.0f} s.\n{last_line}".rstrip()
        return "success", "CTV daily update: import completed", body
    rejected = summary.get("rows_rejected") or 0
    lines = [
        f"Imported {name} into {settings.database_path} in {seconds:.0f} s "
        f"(batch {summary.get('batch_id', '?')}).",
        f"Rows: {_count(summary.get('rows_read'))} read, {_count(summary.get('rows_imported'))} imported, "
        f"{_count(rejected)} rejected, {_count(summary.get('rows_trade'))} trade (not revenue).",
    ]
    for month in summary.get("months") or []:
        label = month.get("month", "?")
        if month.get("replaced"):
            lines.append(
                f"{label}: spots {_count(month.get('spots_before'))} → {_count(month.get('spots_after'))}, "
                f"gross {_money(month.get('gross_before'))} → {_money(month.get('gross_after'))}"
            )
        else:
            lines.append(f"{label}: kept as it was (spots {_count(month.get('spots_after'))})")
    if summary.get("message"):
        lines.append(str(summary["message"]))
    if rejected:
        lines.append(f"{rejected} rejected rows are listed in {settings.log_file}.")
        return "warning", f"CTV daily update: completed with {rejected} rejected rows", "\n".join(lines)
    return "success", "CTV daily update: import completed", "\n".join(lines)


def replica_report(settings: Settings) -> tuple[bool, str]:
    """(caught up, one line) on the Litestream replica after the import. Never raises: a
    replica that cannot be checked is itself something to report."""
    try:
        # Three of Litestream's 1 s syncs before the first reading: see replica.check's settle.
        report = replica.check(settings.replica, replica.databases_of(settings.database_path),
                               settings.replica_max_lag, settings.replica_wait,
                               settle=min(REPLICA_SETTLE, settings.replica_wait))
    except Exception as exc:  # the import is done; this line must not undo its report
        log.exception("replica check failed")
        return False, f"Replica: cannot be checked ({exc!r})."
    if report.ok:
        return True, f"Replica: {report.summary()}."
    return False, f"Replica NOT up to date: {'; '.join(report.problems)}."


def failure_report(settings: Settings, verdict: str, tail: list[str], stderr_tail: list[str]):
    """(level, title, body) for a failed import: the verdict first, then the last log lines."""
    if tail:
        detail = f"Last {len(tail)} log lines ({settings.log_file}):\n" + "\n".join(tail)
    elif stderr_tail:
        detail = f"The log {settings.log_file} is empty; last lines on stderr:\n" + "\n".join(stderr_tail)
    else:
        detail = f"The log {settings.log_file} is empty."
    return "error", "CTV daily update FAILED", notify.fit_body(verdict, detail)


class Terminated(Exception):
    """systemd (or a person) asked the run to stop."""


def _on_sigterm(signum, frame):
    raise Terminated


@dataclass(frozen=True)
class Outcome:
    """What one run of the import did."""

    code: int | None  # None: it could not be started, or was stopped for taking too long
    stdout: str
    stderr: str
    seconds: float
    summary: dict | None
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.code == 0 and (self.summary is None or self.summary.get("status", "COMPLETED") == "COMPLETED")

    def verdict(self, workbook: str) -> tuple[str, int]:
        """One sentence for a failed run, and the exit status the daily update ends with."""
        what = f"Daily import of {workbook}"
        if self.timed_out:
            return f"{what} did not finish within {self.seconds:.0f} s and was stopped.", 1
        if self.code is None:
            return f"{what} could not be started: {self.stderr.strip()}", 1
        if self.code < 0:
            return f"{what} was killed by signal {-self.code}.", 1
        if self.code == 0:
            status, message = self.summary.get("status"), self.summary.get("message", "")
            return f"{what} exited 0 but its summary says {status}: {message}".rstrip(": "), 1
        return f"{what} failed with exit code {self.code}.", self.code


def run_import(settings: Settings) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="ctv-daily-update-") as scratch:
        summary_path = Path(scratch) / "summary.json"
        command = import_command(settings, summary_path)
        log.info("running %s", shlex.join(command))
        environment = dict(os.environ, DATABASE_PATH=str(settings.database_path))
        started = time.monotonic()
        try:
            result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                    env=environment, timeout=settings.timeout)
        except subprocess.TimeoutExpired as exc:
            return Outcome(None, _text(exc.stdout), _text(exc.stderr), settings.timeout, None, timed_out=True)
        except OSError as exc:
            return Outcome(None, "", f"cannot run {settings.python}: {exc}", 0.0, None)
        return Outcome(result.returncode, result.stdout, result.stderr, time.monotonic() - started,
                       read_summary(summary_path))


def run(settings: Settings, notifier: notify.Notifier) -> int:
    kept = processed_copy(settings)
    if not settings.data_file.is_file() and kept.is_file():
        # Imported (and kept) already today: a second run imports the kept copy again.
        settings = replace(settings, data_file=kept)
    notifier.send("info", "CTV daily update started",
                  f"Importing {settings.data_file} into {settings.database_path}.")
    problems = check_prerequisites(settings)
    if problems:
        for problem in problems:
            log.error("%s", problem)
        notifier.send("error", "CTV daily update FAILED: cannot start",
                      "The daily import did not run: " + "; ".join(problems) + ".")
        return 1

    settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    start_offset = settings.log_file.stat().st_size if settings.log_file.exists() else 0
    outcome = run_import(settings)
    sys.stdout.write(outcome.stdout)  # the import's own output goes to the journal too
    sys.stderr.write(outcome.stderr)

    if outcome.succeeded:
        stdout_lines = [line for line in outcome.stdout.splitlines() if line.strip()]
        level, title, body = success_report(settings, outcome.summary, stdout_lines[-1] if stdout_lines else "",
                                            outcome.seconds)
        log.info("%s", body.splitlines()[0])
        stored, kept_line = keep_workbook(settings)
        (log.info if stored else log.warning)("%s", kept_line)
        if not stored:
            level, title = "warning", f"{title} (workbook not kept)"
        first, _, rest = body.partition("\n")   # said right after the line naming the workbook
        body = f"{first}\n{kept_line}\n{rest}".rstrip("\n")
        caught_up, line = replica_report(settings)
        (log.info if caught_up else log.warning)("%s", line)
        if not caught_up:  # the import worked, but the copy that survives the disk is not current
            level, title = "warning", f"{title} (replica behind)"
        body = notify.fit_body(f"{body}\n{line}")
        notifier.send(level, title, body)
        return 0
    verdict, status = outcome.verdict(settings.data_file.name)
    stderr_tail = [line for line in outcome.stderr.splitlines() if line.strip()][-TAIL_LINES:]
    level, title, body = failure_report(settings, verdict, log_tail(settings.log_file, start_offset), stderr_tail)
    log.error("%s", verdict)
    notifier.send(level, title, body)
    return status


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=os.environ.get("CTV_DAILY_UPDATE_ENV") or DEFAULT_ENV_FILE,
                        help="settings file (default: $CTV_DAILY_UPDATE_ENV or %(default)s)")
    parser.add_argument("--data-file", help="import this workbook instead of today's")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="daily_update: %(levelname)s %(message)s")

    values = notify.settings_or_alert(args.env_file, "CTV daily update", os.environ)
    if values is None:
        return 1
    if args.data_file:
        values["DAILY_UPDATE_DATA_FILE"] = args.data_file
    notifier = notify.Notifier.from_settings(values)
    try:
        settings = Settings.from_values(values, dt.date.today())
    except ValueError as exc:
        log.error("bad setting in %s: %s", args.env_file, exc)
        notifier.send("error", "CTV daily update FAILED: bad settings", f"{args.env_file}: {exc}.")
        return 1

    try:
        opsenv.hold_lock(settings.lock_file)
    except opsenv.AlreadyRunning as exc:
        log.error("%s", exc)
        notifier.send("error", "CTV daily update FAILED: already running",
                      f"A daily update is still running ({exc}); this run did nothing.")
        return 1
    except OSError as exc:
        log.error("cannot take the lock %s: %s", settings.lock_file, exc)
        notifier.send("error", "CTV daily update FAILED: no lock",
                      f"Cannot take the lock {settings.lock_file}: {exc}.")
        return 1

    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run(settings, notifier)
    except Terminated:
        log.error("stopped by SIGTERM")
        notifier.send("error", "CTV daily update FAILED: stopped",
                      f"The daily update was stopped (SIGTERM) while importing {settings.data_file.name}.")
        return 1
    except Exception as exc:  # whatever went wrong, the people on call hear of it
        log.exception("daily update failed")
        notifier.send("error", "CTV daily update FAILED", f"The daily update failed: {exc!r}.")
        return 1

if __name__ == "__main__":
    sys.exit(main())
