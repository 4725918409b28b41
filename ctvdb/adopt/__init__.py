"""`ctvdb adopt` (issue 17): bring a running CTV BookedBiz DB station's data into ctvdb, and prove
by reconciliation that nothing was lost.

    result = adopt("copy.db", "var/ctvdb.db")            # AdoptError: nothing written

Order of work: open the source read-only and immutable → refuse a target that holds spots
(unless `replace`) → build the whole new database in a temporary file next to the target, in
one transaction: import history, agencies and customers with the source's identity decisions,
every spot (ctvdb/adopt/spots.py), bill codes and aliases, closed months, the summaries and
what an import keeps after itself, the human-entered records (ctvdb/adopt/records.py, when
present), and last the reconciliation → only when every figure is equal, rename the file into
place. Whatever fails, the target is as it was. A dry run builds the same file in a temporary
directory and deletes it.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ctvdb import after_import, codes, db, summaries
from ctvdb.adopt.identity import Identity
from ctvdb.adopt.model import IdMap, KindReport
from ctvdb.adopt.reconcile import Reconciliation, reconcile
from ctvdb.adopt.source import AdoptError, has_table, open_source
from ctvdb.adopt.spots import write_spots
from ctvdb.changes import utc_now

__all__ = ["AdoptError", "AdoptResult", "IdMap", "KindReport", "adopt"]

_MODES = {"HISTORICAL": "historical", "WEEKLY_UPDATE": "daily", "MANUAL": "manual"}


@dataclass
class AdoptResult:
    source: str
    target: str
    dry_run: bool
    spots: int = 0
    trade_left_out: int = 0
    months: int = 0
    batch_id: int | None = None
    reconciliation: Reconciliation = field(default_factory=Reconciliation)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return {"source": self.source, "target": self.target, "dry_run": self.dry_run,
                "status": "PLANNED" if self.dry_run else "COMPLETED", "spots": self.spots,
                "trade_left_out": self.trade_left_out, "months": self.months, "batch_id": self.batch_id,
                "seconds": round(self.seconds, 2), "reconciliation": self.reconciliation.as_dict()}


def adopt(source: str | os.PathLike, target: str | os.PathLike, *, dry_run: bool = False, replace: bool = False,
          today: dt.date | None = None, progress: Callable[[str, int, int], None] | None = None) -> AdoptResult:
    """Adopt `source` into `target`. Raises AdoptError (target unchanged) or returns the result."""
    from ctvdb.importer import ImportFailed, import_lock

    began = dt.datetime.now()
    source, target = Path(source), Path(target)
    if not target.parent.is_dir():
        raise AdoptError(f"target database {target}: directory {target.parent} does not exist")
    if target.exists() and target.resolve() == source.resolve():
        raise AdoptError("the source and the target are the same file")
    src = open_source(source)
    try:
        _check_target(target, replace)
        try:
            with import_lock(target):
                result = _adopt_locked(src, source, target, dry_run, today or dt.date.today(), progress)
        except ImportFailed as exc:
            raise AdoptError(str(exc)) from None
    finally:
        src.close()
    result.seconds = (dt.datetime.now() - began).total_seconds()
    return result


def _check_target(target: Path, replace: bool) -> None:
    """A target may be new, or an empty ctvdb database; one with spots only with `replace`."""
    if not target.exists():
        return
    try:
        conn = sqlite3.connect(f"file:{target.resolve().as_posix()}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "spots" not in tables:
                raise AdoptError(f"target {target} is not a ctvdb database (it has tables but no spots); "
                                 f"nothing was written")
            spots = conn.execute("SELECT count(*) FROM spots").fetchone()[0] if tables else 0
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise AdoptError(f"target {target} cannot be read as a database ({exc}); nothing was written") from exc
    if spots and not replace:
        raise AdoptError(f"target {target} already holds {spots:,} spots: adopt writes only into a new or empty "
                         f"database; pass --replace to replace it; nothing was written")


def _adopt_locked(src, source: Path, target: Path, dry_run: bool, today: dt.date, progress) -> AdoptResult:
    if dry_run:
        folder = Path(tempfile.mkdtemp(prefix="ctvdb-adopt-"))
        work = folder / target.name
    else:
        folder = None
        work = target.with_name(f".{target.name}.adopt-{os.getpid()}.tmp")
    work_auth = db.auth_path(work)
    for leftover in (work, work_auth):
        _remove(leftover)
    result = AdoptResult(str(source), str(target), dry_run)
    try:
        db.init(work)
        if db.auth_path(target).exists():   # users of the target are kept; the source's are added
            _copy_database(db.auth_path(target), work_auth)
        conn = db.connect(work)
        try:
            # A file nobody else sees until it is renamed into place: no journal is needed.
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute(f"PRAGMA cache_size = -{db.IMPORT_CACHE_KIB}")
            conn.execute("BEGIN IMMEDIATE")
            _build(src, conn, source, work_auth, today, result, progress)
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
        if not dry_run:
            _put_in_place(work, target)
            _put_in_place(work_auth, db.auth_path(target))
    finally:
        for leftover in (work, work_auth):
            _remove(leftover)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def _build(src, conn, source: Path, auth_path: Path, today: dt.date, result: AdoptResult, progress) -> None:
    now = utc_now()
    kinds: list[KindReport] = []
    batch_of, batches_report = _batches(src, conn)
    kinds.append(batches_report)
    adopt_batch = conn.execute(
        "INSERT INTO import_batches (mode, source_file, status, started_at, pid) VALUES ('manual', ?, 'RUNNING', ?, ?)",
        (f"adopted from CTV BookedBiz DB {source.name}", now, os.getpid())).lastrowid
    result.batch_id = adopt_batch
    identity = Identity(src, conn, now)
    identity.write_agencies()
    identity.write_customers()
    identity.read_decisions()
    written = write_spots(src, conn, identity, batch_of, adopt_batch, progress)
    identity.write_bill_codes()
    identity.write_agency_aliases()
    identity.ids.ae_names = set(written.ae_names)
    kinds.extend(identity.reports)
    kinds.append(_closures(src, conn, adopt_batch))
    _contracts_seen(src, conn)
    if progress:
        progress("summaries", 0, 1)
    summaries.refresh_summaries(conn, sorted(written.months))
    after_import.run(conn, today, adopt_batch)
    if progress:
        progress("summaries", 1, 1)
    kinds.extend(_records(src, conn, identity.ids, auth_path))
    result.spots, result.trade_left_out, result.months = written.spots, written.trade, len(written.months)
    if written.trade:
        identity.notes.append(f"{written.trade:,} Trade spots left out: ctvdb never stores Trade, and the "
                              f"source's reports exclude it.")
    result.reconciliation = reconcile(src, conn, identity, kinds)
    if not result.reconciliation.ok:
        differences = result.reconciliation.unequal
        raise AdoptError(f"the figures do not reconcile ({len(differences)} difference(s); first: {differences[0]}); "
                         f"nothing was adopted")
    conn.execute(
        "UPDATE import_batches SET status = 'COMPLETED', finished_at = ?, rows_read = ?, rows_imported = ?,"
        " rows_trade = ?, months_replaced = ? WHERE id = ?",
        (utc_now(), written.spots + written.trade, written.spots, written.trade,
         ",".join(str(m) for m in sorted(written.months)), adopt_batch))


def _records(src, conn, ids: IdMap, auth_path: Path) -> list[KindReport]:
    """The human-entered records (ctvdb/adopt/records.py), in this same transaction, if that part exists."""
    if importlib.util.find_spec("ctvdb.adopt.records") is None:
        return []
    records = importlib.import_module("ctvdb.adopt.records")
    return list(records.adopt_records(src, conn, ids, auth_path))


def _iso(text) -> str | None:
    """A source timestamp ('2024-11-25 04:30:00', '2024-11-25') as ctvdb's ISO UTC."""
    if text is None or str(text).strip() == "":
        return None
    text = str(text).strip().replace(" ", "T")
    if len(text) == 10:
        text += "T00:00:00"
    return text if text.endswith("Z") else text[:19] + "Z"


def _months_of(text) -> str:
    """broadcast_months_affected (a JSON list of 'Nov-24') as ctvdb's comma-separated YYYYMM."""
    try:
        labels = json.loads(text) if text else []
        return ",".join(str(codes.parse_month_label(str(label))) for label in labels)
    except (ValueError, TypeError):
        return ""


def _batches(src, conn) -> tuple[dict, KindReport]:
    """The source's import history as ctvdb batches, each marked as adopted in its source file."""
    if not has_table(src, "import_batches"):
        return {}, KindReport("import batches", 0, 0)
    rows = src.execute(
        "SELECT batch_id, import_date, import_mode, source_file, broadcast_months_affected, records_imported,"
        " records_deleted, status, started_by, completed_at, error_summary FROM import_batches"
        " ORDER BY import_date, batch_id").fetchall()
    batch_of, left = {}, []
    for (batch_id, import_date, mode, source_file, months, imported, deleted, status, started_by, completed_at,
         error) in rows:
        started = _iso(import_date)
        if started is None:
            left.append(("import_batches", batch_id, "it has no import date"))
            continue
        if status == "RUNNING":
            status, error = "FAILED", "still running in the source when the copy was taken"
        elif status not in ("COMPLETED", "FAILED"):
            status = "FAILED"
        ctvdb_mode = _MODES.get(str(mode).upper(), "manual")
        batch_of[batch_id] = conn.execute(
            "INSERT INTO import_batches (mode, source_file, status, started_at, finished_at, rows_imported,"
            " rows_deleted, months_replaced, closed_by, error_summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ctvdb_mode, f"{source_file} (adopted from CTV BookedBiz DB batch {batch_id})", status, started,
             _iso(completed_at) or started, imported or 0, deleted or 0, _months_of(months),
             started_by if ctvdb_mode == "historical" else None, error)).lastrowid
    return batch_of, KindReport("import batches", len(rows), len(rows) - len(left), left)


def _closures(src, conn, adopt_batch: int) -> KindReport:
    if not has_table(src, "month_closures"):
        return KindReport("closed months", 0, 0)
    rows = src.execute("SELECT broadcast_month, closed_date, closed_by FROM month_closures").fetchall()
    left, brought = [], []
    for number, (label, closed_date, closed_by) in enumerate(rows, start=1):
        try:
            month = codes.parse_month_label(str(label))
        except ValueError:
            left.append(("month_closures", number, f"“{label}” is not a month like Nov-24"))
            continue
        brought.append((month, _iso(closed_date) or utc_now(), str(closed_by or "").strip() or "CTV BookedBiz DB",
                        adopt_batch))
    conn.executemany("INSERT INTO month_closures (broadcast_month, closed_at, closed_by, batch_id) VALUES (?, ?, ?, ?)",
                     brought)
    return KindReport("closed months", len(rows), len(brought), left)


def _contracts_seen(src, conn) -> None:
    """Each contract first seen on the day the source first loaded one of its spots, so the
    new-business page does not call the whole history new on the day of adopt."""
    conn.execute("CREATE TEMP TABLE adopt_contracts (contract TEXT PRIMARY KEY, first_seen TEXT)")
    rows = src.execute("SELECT trim(contract), min(date(load_date)) FROM spots WHERE trim(coalesce(contract, '')) <> ''"
                       " AND load_date IS NOT NULL GROUP BY trim(contract)").fetchall()
    conn.executemany("INSERT OR IGNORE INTO temp.adopt_contracts VALUES (?, ?)", [r for r in rows if r[1]])
    conn.execute("INSERT INTO contracts_seen (contract, first_seen) SELECT contract, first_seen FROM temp.adopt_contracts")
    conn.execute("DROP TABLE temp.adopt_contracts")


def _copy_database(source: Path, target: Path) -> None:
    _remove(target)
    db.copy_file(source, target)


def _put_in_place(work: Path, target: Path) -> None:
    """Rename the finished file over `target`; the old file's WAL is folded in and removed first,
    so it can never be replayed onto the new one."""
    if target.exists():
        try:
            old = sqlite3.connect(target)
            try:
                old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                old.close()
        except sqlite3.Error:
            pass
    for suffix in ("-wal", "-shm"):
        _remove(target.with_name(target.name + suffix))
    os.replace(work, target)


def _remove(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
                      path.with_name(path.name + "-journal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass
