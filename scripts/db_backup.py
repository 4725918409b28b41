#!/usr/bin/env python3
"""Nightly online backup of the SQLite database, checked and rotated.

Started by ctv-db-backup.service; standard library only. Copies the live database with
SQLite's backup API (readers and the web service carry on), runs `PRAGMA integrity_check` on
the copy, keeps the newest BACKUP_KEEP copies, and notifies like the daily update. The sign-in
database beside it (NAME.auth.db), once it exists, gets the same. Settings come
from /etc/ctv-daily-update.env (or --env-file, or $CTV_DB_BACKUP_ENV): DATABASE_PATH, the
NTFY_*/SLACK_* settings, optional BACKUP_DIR, BACKUP_KEEP, BACKUP_NOTIFY_SUCCESS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

import notify  # siblings in scripts/, standard library only
import opsenv

log = logging.getLogger("ctv.db_backup")

DEFAULT_ENV_FILE = "/etc/ctv-daily-update.env"
DEFAULT_DATABASE = "/var/lib/ctv-bookedbiz-db/production.db"
DEFAULT_KEEP = 7


class BackupError(Exception):
    """The backup could not be made or did not check out; the message is one line."""


def backup_name(database: Path, now: dt.datetime) -> str:
    return f"{database.stem}-{now:%Y%m%dT%H%M%SZ}.db"


def backups_of(database: Path, backup_dir: Path) -> list[Path]:
    """This database's backups in `backup_dir`, oldest first (the names sort by time)."""
    pattern = re.compile(re.escape(database.stem) + r"-\d{8}T\d{6}Z\.db")
    return sorted(p for p in backup_dir.iterdir() if pattern.fullmatch(p.name))


def make_backup(database: Path, backup_dir: Path, now: dt.datetime) -> Path:
    """Copy `database` into `backup_dir` and check the copy; the finished file's path."""
    if not database.is_file():
        raise BackupError(f"database {database} does not exist")
    backup_dir.mkdir(parents=True, exist_ok=True)
    final = backup_dir / backup_name(database, now)
    partial = final.with_name(f".{final.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        # mode=rw: a missing file is an error, never a new empty database.
        source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=rw", uri=True)
        target = sqlite3.connect(partial)
        try:
            source.execute("PRAGMA busy_timeout = 30000")
            source.backup(target)
            # The copy is a single file: no -wal beside it to lose when it is moved.
            target.execute("PRAGMA journal_mode = DELETE")
            problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
        finally:
            target.close()
            source.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {database} failed: {exc}") from exc
    if problems != ["ok"]:
        partial.unlink(missing_ok=True)
        raise BackupError(f"integrity check of the copy of {database} failed: {'; '.join(problems[:5])}")
    os.replace(partial, final)
    _fsync_dir(backup_dir)
    return final


def prune(database: Path, backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups (and leftovers of interrupted runs)."""
    for leftover in backup_dir.glob(f".{database.stem}-*.db.partial"):
        leftover.unlink(missing_ok=True)
    old = backups_of(database, backup_dir)[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", default=os.environ.get("CTV_DB_BACKUP_ENV") or DEFAULT_ENV_FILE,
                        help="settings file (default: $CTV_DB_BACKUP_ENV or %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="db_backup: %(levelname)s %(message)s")

    values = notify.settings_or_alert(args.env_file, "CTV database backup", os.environ)
    if values is None:
        return 1
    notifier = notify.Notifier.from_settings(values)
    database = Path(values.get("DATABASE_PATH") or DEFAULT_DATABASE)
    backup_dir = Path(values.get("BACKUP_DIR") or database.parent / "backups")
    lock_file = Path(values.get("BACKUP_LOCK_FILE") or database.parent / ".ctv-db-backup.lock")
    notify_success = (values.get("BACKUP_NOTIFY_SUCCESS") or "yes").lower() not in ("0", "no", "false", "off")
    try:
        keep = int(values.get("BACKUP_KEEP") or DEFAULT_KEEP)
        if keep < 1:
            raise ValueError("must be at least 1")
    except ValueError as exc:
        log.error("BACKUP_KEEP=%r: %s", values.get("BACKUP_KEEP"), exc)
        notifier.send("error", "CTV database backup FAILED: bad settings",
                      f"BACKUP_KEEP={values.get('BACKUP_KEEP')!r} in {args.env_file} is not a count of copies to keep.")
        return 1

    try:
        opsenv.hold_lock(lock_file)
    except (opsenv.AlreadyRunning, OSError) as exc:
        log.error("%s", exc)
        notifier.send("error", "CTV database backup FAILED: already running or no lock",
                      f"The backup of {database} did not run: {exc}.")
        return 1

    started = time.monotonic()
    now = dt.datetime.now(dt.timezone.utc)
    # The sign-in database beside the main one (users, sessions), once there is one: same checks.
    auth = opsenv.auth_database(database)
    sentences = []
    try:
        for source in [database, auth] if auth.exists() else [database]:
            copy = make_backup(source, backup_dir, now)
            removed = prune(source, backup_dir, keep)
            sentences.append(f"Backed up {source} to {copy} ({copy.stat().st_size / 1e6:,.1f} MB); integrity check "
                             f"ok; {len(backups_of(source, backup_dir))} copies kept, {len(removed)} removed.")
    except (BackupError, OSError) as exc:
        log.error("%s", exc)
        notifier.send("error", "CTV database backup FAILED", " ".join([*sentences, f"{exc}."]))
        return 1
    message = " ".join(sentences) + f" Took {time.monotonic() - started:.0f} s."
    log.info("%s", message)
    if notify_success:
        notifier.send("success", "CTV database backup done", message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
