"""The import: a Commercial Log replaces the months it may replace, in one transaction.

    result = import_workbook("var/ctvdb.db", "Commercial Log 261124.xlsx", mode="daily")

Order of work: lock → read and check the whole workbook → decide the months → (preview, confirm)
→ batch RUNNING → one data transaction that replaces the months, assigns languages, stores the
rejected rows and marks the batch COMPLETED → or, on any failure, rollback and batch FAILED.
Readers see the old data or the new, never a mix; a crash at any moment leaves the database as
it was (the RUNNING batch is marked FAILED by the next run).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import logging
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Callable

from ctvdb import after_import, codes, db, summaries, workbook
from ctvdb import customers as customers_module
from ctvdb.changes import utc_now
from ctvdb.rows import SPOT_COLUMNS, Rejected, RowReader, Spot

log = logging.getLogger("ctvdb.import")

MODES = ("daily", "historical", "manual")
SUMMARIES_IN_BACKGROUND_FROM = 20_000   # spots; below this the summaries take well under 0.1 s
STALE_AFTER = dt.timedelta(hours=1)
_INSERT_SPOT = (
    f"INSERT INTO spots (id, batch_id, sheet, row_number, customer_id, agency_id, "
    f"{', '.join(SPOT_COLUMNS)}) VALUES ({', '.join('?' * (len(SPOT_COLUMNS) + 6))})"
)


class ImportFailed(Exception):
    """An import that did not happen; the message is one line naming what and where."""


@dataclass
class MonthFigures:
    month: int
    action: str                  # 'replace' or 'protect'
    reason: str = ""             # why protected
    rows_in_workbook: int = 0
    spots_before: int = 0
    gross_before: float = 0.0
    spots_after: int = 0
    gross_after: float = 0.0

    @property
    def label(self) -> str:
        return codes.month_label(self.month)


@dataclass
class RejectedRow:
    sheet: str
    row_number: int
    column: int
    value: object
    reason: str

    @property
    def column_name(self) -> str:
        """'P Unit rate Gross': the letter Excel shows and the header."""
        letter = codes.column_letter(self.column)
        return f"{letter} {codes.COLUMNS[self.column]}" if self.column < len(codes.COLUMNS) else letter

    def describe(self, file_name: str) -> str:
        return (f"{file_name}, sheet {self.sheet!r}, row {self.row_number}, column {self.column_name}: "
                f"{self.reason} ({self.value!r})")


@dataclass
class ImportResult:
    workbook: str
    database: str
    mode: str
    status: str = "PLANNED"      # PLANNED (dry run), COMPLETED, FAILED, CANCELLED
    batch_id: int | None = None
    rows_read: int = 0
    rows_imported: int = 0
    rows_deleted: int = 0
    rows_ignored: int = 0
    rows_trade: int = 0
    rows_rejected: int = 0
    rows_protected: int = 0
    months: list[MonthFigures] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    new_markets: list[str] = field(default_factory=list)
    new_customers: int = 0
    stale_batches_cleaned: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)   # said in the summary; not failures
    message: str = ""
    after_import_seconds: dict[str, float] = field(default_factory=dict)   # snapshots, contracts, signals

    @property
    def months_replaced(self) -> list[int]:
        return [m.month for m in self.months if m.action == "replace"]

    @property
    def months_protected(self) -> list[MonthFigures]:
        return [m for m in self.months if m.action == "protect"]

    def as_dict(self) -> dict:
        return {
            "status": self.status, "batch_id": self.batch_id, "workbook": self.workbook,
            "database": self.database, "mode": self.mode, "rows_read": self.rows_read,
            "rows_imported": self.rows_imported, "rows_deleted": self.rows_deleted,
            "rows_ignored": self.rows_ignored, "rows_trade": self.rows_trade,
            "rows_rejected": self.rows_rejected, "rows_protected": self.rows_protected,
            "months": [
                {"month": m.label, "yyyymm": m.month, "replaced": m.action == "replace",
                 "reason": m.reason, "spots_before": m.spots_before, "spots_after": m.spots_after,
                 "gross_before": round(m.gross_before, 2), "gross_after": round(m.gross_after, 2)}
                for m in self.months
            ],
            "rejected": [
                {"sheet": r.sheet, "row": r.row_number, "column": r.column_name,
                 "value": str(r.value), "reason": r.reason} for r in self.rejected[:50]
            ],
            "warnings": self.warnings,
            "after_import_seconds": self.after_import_seconds,
            "message": self.message,
        }


@contextmanager
def import_lock(db_path: Path):
    """One import at a time per database: an advisory lock the kernel drops when the process dies."""
    path = db.lock_path(db_path)
    try:
        handle = open(path, "a+")
    except OSError as exc:
        raise ImportFailed(f"cannot create the import lock {path}: {exc.strerror}") from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportFailed(f"another import is running on {db_path} (lock {path} is held)") from None
        yield
    finally:
        handle.close()


def _import_alive(pid: int | None) -> bool:
    """Whether `pid` is a live ctvdb import (its command line names ctvdb), not a reused pid."""
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"ctvdb" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def _clean_stale_batches(conn: sqlite3.Connection, now: dt.datetime) -> list[int]:
    """Holding the import lock proves no import is alive, so a RUNNING batch was interrupted;
    one whose process is still alive (a database reached another way: a bind mount in another
    namespace) is left alone all the same."""
    stale = [batch for batch, pid in conn.execute("SELECT id, pid FROM import_batches WHERE status = 'RUNNING'")
             if not _import_alive(pid)]
    if stale:
        conn.executemany(
            "UPDATE import_batches SET status = 'FAILED', finished_at = ?, error_summary = "
            "'interrupted: the import process ended before it finished; no data was changed' "
            "WHERE id = ? AND status = 'RUNNING'", [(utc_now(), batch) for batch in stale])
    return stale


def mark_interrupted(db_path: Path, pid: int, reason: str) -> list[int]:
    """Mark FAILED the RUNNING batches of an import process that has ended (the supervisor's
    report of a child killed mid-run); [] when there is none or the database cannot be reached."""
    if not Path(db_path).is_file():
        return []
    try:
        with import_lock(Path(db_path)):
            conn = db.connect(db_path)
            try:
                ids = [row[0] for row in conn.execute(
                    "SELECT id FROM import_batches WHERE status = 'RUNNING' AND pid = ?", (pid,))]
                conn.executemany("UPDATE import_batches SET status = 'FAILED', finished_at = ?, "
                                 "error_summary = ? WHERE id = ? AND status = 'RUNNING'",
                                 [(utc_now(), reason[:1000], batch) for batch in ids])
                return ids
            finally:
                conn.close()
    except (ImportFailed, db.DatabaseError, sqlite3.Error) as exc:
        log.warning("could not mark the interrupted batch FAILED (%s); the next import will", exc)
        return []


@dataclass
class _Parsed:
    spots: list[tuple[str, int, Spot]]          # (sheet, row number, spot)
    rejected: list[RejectedRow]
    rows_read: int = 0
    rows_ignored: int = 0
    rows_trade: int = 0
    # Gathered while the rows are checked (the next parts are loading meanwhile) rather than
    # in passes over every spot afterwards: month -> [spots, gross]; the markets and bill codes.
    months: dict[int, list] = field(default_factory=dict)
    markets: set[str] = field(default_factory=set)
    bill_codes: set[str] = field(default_factory=set)


def _parse(book: workbook.Workbook, progress) -> _Parsed:
    """Check every row as its part of the workbook arrives (the next parts load meanwhile)."""
    reader = RowReader()
    parsed = _Parsed([], [])
    months_seen = {name: 0 for name in book.sheets}
    rejected, spots, months = parsed.rejected, parsed.spots, parsed.months
    markets, bill_codes = parsed.markets, parsed.bill_codes
    for part in book.parts(progress):
        sheet, errors, first = part.sheet, part.errors, part.first_row_number
        parsed.rows_read += len(part.rows)
        seen = 0
        for offset, row in enumerate(part.rows):
            if reader.is_trade(row):
                parsed.rows_trade += 1
                continue
            try:
                if offset in errors:
                    raise Rejected(*errors[offset])
                spot = reader.read(row)
            except Rejected as exc:
                rejected.append(RejectedRow(sheet, first + offset, exc.column, exc.value, exc.reason))
                continue
            if spot is None:
                parsed.rows_ignored += 1
                continue
            seen += 1
            spots.append((sheet, first + offset, spot))
            figures = months.get(spot.broadcast_month)
            if figures is None:
                figures = months[spot.broadcast_month] = [0, 0.0]
            figures[0] += 1
            figures[1] += spot.gross
            markets.add(spot.market_code)
            bill_codes.add(spot.bill_code)
        months_seen[sheet] += seen
    for sheet, seen in months_seen.items():
        if not seen and any(r.sheet == sheet and r.column == 18 for r in rejected):
            raise ImportFailed(
                f"{book.path.name}, sheet {sheet!r}, column S Month: no row has a broadcast month "
                f"(first at row {next(r.row_number for r in rejected if r.sheet == sheet)})")
    return parsed


def _month_figures(conn, months) -> dict[int, tuple[int, float]]:
    if not months:
        return {}
    marks = ",".join("?" * len(months))
    return {row[0]: (row[1], row[2] or 0.0) for row in conn.execute(
        f"SELECT broadcast_month, count(*), sum(gross_rate) FROM spots "
        f"WHERE broadcast_month IN ({marks}) GROUP BY broadcast_month", sorted(months))}


def _plan(conn, parsed: _Parsed, mode: str, today: dt.date, include_previous: bool) -> list[MonthFigures]:
    after = parsed.months
    rows_per_month = {month: figures[0] for month, figures in after.items()}
    closed = {row[0] for row in conn.execute("SELECT broadcast_month FROM month_closures")}
    before = _month_figures(conn, rows_per_month)
    previous = codes.previous_month(today.year * 100 + today.month)
    if mode == "manual" and closed & set(rows_per_month):
        labels = ", ".join(codes.month_label(m) for m in sorted(closed & set(rows_per_month)))
        raise ImportFailed(f"manual import refused: the workbook holds closed month(s) {labels}")
    plan = []
    for month in sorted(rows_per_month):
        spots_before, gross_before = before.get(month, (0, 0.0))
        figures = MonthFigures(month, "replace", "", rows_per_month[month], spots_before, gross_before,
                               after[month][0], after[month][1])
        if mode == "daily":
            if month in closed:
                figures.action, figures.reason = "protect", "closed"
            elif month == previous and not include_previous:
                figures.action, figures.reason = "protect", "previous month is frozen once a new month has begun"
        if figures.action == "protect":
            figures.spots_after, figures.gross_after = spots_before, gross_before
        plan.append(figures)
    return plan


def _customer_ids(conn, bill_codes: set[str], batch_id: int) -> tuple[dict[str, tuple[int, int | None]], int]:
    """bill code → (customer id, agency id), creating what is missing.

    A bill code goes where `bill_codes` points it: the customer the import once created for it,
    or the one a person aliased or merged it into (DOMAIN.md §7). A new one creates an unreviewed
    customer, which the resolution queue then shows."""
    known = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT b.code_key, c.id, c.agency_id FROM bill_codes b JOIN customers c ON c.id = b.customer_id")}
    # A merged agency, or a spelling a person aliased, books its customers to the agency it points at.
    agencies = {row[0]: row[1] for row in conn.execute("SELECT name_key, coalesce(merged_into, id) FROM agencies")}
    by_code: dict[str, tuple[int, int | None]] = {}
    created = 0
    for code in sorted(bill_codes):
        key = code.lower()
        if key in known:
            by_code[code] = known[key]
            continue
        chain, name = codes.split_bill_code(code)
        agency_id = None
        for position, agency in enumerate(chain):
            agency_key = agency.lower()
            if agency_key not in agencies:
                agencies[agency_key] = conn.execute(
                    "INSERT INTO agencies (name, name_key) VALUES (?, ?)", (agency, agency_key)).lastrowid
            if position == 0:
                agency_id = agencies[agency_key]
        customer_id = conn.execute(
            "INSERT INTO customers (name, agency_chain, agency_id, identity_key, review_reason)"
            " VALUES (?, ?, ?, ?, ?)",
            (name, ":".join(chain), agency_id, key, f"a new bill code in import batch {batch_id}")).lastrowid
        conn.execute("INSERT INTO bill_codes (code_key, bill_code, customer_id) VALUES (?, ?, ?)",
                     (key, code, customer_id))
        known[key] = by_code[code] = (customer_id, agency_id)
        created += 1
    return by_code, created


def _reactivate(conn, spots, customers, months: list[int], batch_id: int) -> None:
    """A deactivated customer given more spots in the replaced months than it had there is
    active again and back in the resolution queue, with the reason (DOMAIN.md §7)."""
    inactive = {row[0] for row in conn.execute("SELECT id FROM customers WHERE active = 0")}
    if not inactive or not months:
        return
    arriving: dict[int, int] = {}
    for _, _, spot in spots:
        customer_id = customers[spot.bill_code][0]
        if customer_id in inactive:
            arriving[customer_id] = arriving.get(customer_id, 0) + 1
    marks = ",".join("?" * len(months))
    for customer_id, count in sorted(arriving.items()):
        had = conn.execute(f"SELECT coalesce(sum(spots), 0) FROM customer_total_summary WHERE customer_id = ?"
                           f" AND broadcast_month IN ({marks})", (customer_id, *months)).fetchone()[0]
        if count > had:
            customers_module.reactivate_for_import(
                conn, customer_id, f"{count - had} new spots arrived in import batch {batch_id}")


def _write(conn, result: ImportResult, parsed: _Parsed, plan, batch_id: int, mode: str,
           closed_by: str | None, progress) -> None:
    replace = [m.month for m in plan if m.action == "replace"]
    replacing = set(replace)
    spots = [item for item in parsed.spots if item[2].broadcast_month in replacing]
    if progress:
        progress("writing", 0, len(spots))
    known_markets = {row[0] for row in conn.execute("SELECT code FROM markets")}
    for code in result.new_markets:
        if code not in known_markets:
            conn.execute("INSERT INTO markets (code, name) VALUES (?, ?)", (code, codes.MARKETS.get(code, code)))
    # When every month is replaced, the bill codes gathered while checking are the ones needed.
    bill_codes = parsed.bill_codes if len(replace) == len(parsed.months) else {s.bill_code for _, _, s in spots}
    customers, result.new_customers = _customer_ids(conn, bill_codes, batch_id)
    _reactivate(conn, spots, customers, replace, batch_id)
    worker = _summaries_in_background(spots, customers, replace)
    try:
        _write_spots(conn, result, parsed, spots, customers, replace, batch_id, worker, progress)
    finally:
        if worker is not None:
            worker.close()
    if mode == "historical":
        now = utc_now()
        conn.executemany(
            "INSERT INTO month_closures (broadcast_month, closed_at, closed_by, batch_id) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (broadcast_month) DO UPDATE SET closed_at = excluded.closed_at, "
            "closed_by = excluded.closed_by, batch_id = excluded.batch_id",
            [(month, now, closed_by, batch_id) for month in replace])


def _summaries_in_background(spots, customers, months) -> summaries.Background | None:
    """Start building the big summaries of a large import in a process of its own (None for a
    small one, where starting a process costs more than it saves)."""
    if len(spots) < SUMMARIES_IN_BACKGROUND_FROM:
        return None
    month_at = SPOT_COLUMNS.index("broadcast_month")
    rest = itemgetter(*(SPOT_COLUMNS.index(name) for name in summaries.SPOT_FIELDS[2:]))
    rows = [(spot.values[month_at], customers[spot.bill_code][0]) + rest(spot.values) for _, _, spot in spots]
    try:
        return summaries.Background(rows, months)
    except OSError as exc:
        log.warning("cannot start the summaries process (%s); building them in the database instead", exc)
        return None


def _write_spots(conn, result, parsed, spots, customers, replace, batch_id, worker, progress) -> None:
    if replace:
        marks = ",".join("?" * len(replace))
        conn.execute(f"DELETE FROM spot_languages WHERE spot_id IN "
                     f"(SELECT id FROM spots WHERE broadcast_month IN ({marks}))", replace)
        result.rows_deleted = conn.execute(f"DELETE FROM spots WHERE broadcast_month IN ({marks})", replace).rowcount
    next_id = (conn.execute("SELECT max(id) FROM spots").fetchone()[0] or 0) + 1

    def spot_rows():
        for spot_id, (sheet, row_number, spot) in enumerate(spots, start=next_id):
            customer_id, agency_id = customers[spot.bill_code]
            yield (spot_id, batch_id, sheet, row_number, customer_id, agency_id) + spot.values
            if progress and spot_id % 5000 == 0:
                progress("writing", spot_id - next_id, len(spots))

    conn.executemany(_INSERT_SPOT, spot_rows())
    _assign_languages(conn, spots, next_id)
    result.rows_imported = len(spots)
    if progress:
        progress("writing", len(spots), len(spots))
    # The rate summaries first: the background process answers them first, then goes on with the rest.
    summaries.refresh_rate_months(conn, replace, worker.rates() if worker is not None else None)
    summaries.refresh_summaries(conn, replace, worker.result() if worker is not None else None, rates_too=False)
    _store_rejected(conn, batch_id, parsed.rejected)


def _assign_languages(conn, spots, first_id: int) -> None:
    """The language step's outcome for every new spot (ids from first_id).

    The outcome depends only on the spot's revenue type, spot type and language code, of which a
    workbook holds a few dozen combinations: Python decides each combination once (codes.py), and
    one INSERT ... SELECT joins them to the new spots, rather than 100,000 single-row inserts.
    """
    outcomes = {}
    for _, _, spot in spots:
        key = (spot.revenue_type, spot.spot_type, spot.language_code)
        if key not in outcomes:
            category = codes.spot_category(spot.revenue_type, spot.spot_type)
            outcomes[key] = (category, *codes.assign_language(category, spot.spot_type, spot.language_code))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS language_outcomes (revenue_type TEXT, spot_type TEXT, "
                 "language_code TEXT, category TEXT, language TEXT, status TEXT, review INTEGER, "
                 "PRIMARY KEY (revenue_type, spot_type, language_code))")
    conn.execute("DELETE FROM temp.language_outcomes")
    conn.executemany("INSERT INTO temp.language_outcomes VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [key + outcome for key, outcome in outcomes.items()])
    # Spot and language codes are stored NULL when blank; the outcomes are keyed by ''.
    inserted = conn.execute(
        "INSERT INTO spot_languages (spot_id, category, language_code, status, needs_review, high_value) "
        "SELECT s.id, o.category, o.language, o.status, o.review, o.review AND s.gross_rate >= ? "
        "FROM spots s JOIN temp.language_outcomes o ON o.revenue_type = s.revenue_type "
        "AND o.spot_type = coalesce(s.spot_type, '') AND o.language_code = coalesce(s.language_code, '') "
        "WHERE s.id >= ? ORDER BY s.id", (codes.HIGH_VALUE_GROSS, first_id)).rowcount
    if inserted != len(spots):  # a spot the join missed would silently have no language outcome
        raise ImportFailed(f"language step: {inserted} outcomes for {len(spots)} new spots")


def _store_rejected(conn, batch_id: int, rejected: list[RejectedRow]) -> None:
    conn.executemany(
        "INSERT INTO rejected_rows (batch_id, sheet, row_number, column_name, value, reason) VALUES (?, ?, ?, ?, ?, ?)",
        [(batch_id, r.sheet, r.row_number, r.column_name, str(r.value)[:200], r.reason) for r in rejected[:5000]])


def _finish_batch(conn, batch_id: int, result: ImportResult, status: str, error: str | None) -> None:
    conn.execute(
        "UPDATE import_batches SET status = ?, finished_at = ?, rows_read = ?, rows_imported = ?, "
        "rows_deleted = ?, rows_ignored = ?, rows_trade = ?, rows_rejected = ?, rows_protected = ?, "
        "months_replaced = ?, months_protected = ?, error_summary = ? WHERE id = ?",
        (status, utc_now(), result.rows_read, result.rows_imported, result.rows_deleted,
         result.rows_ignored, result.rows_trade, result.rows_rejected, result.rows_protected,
         ",".join(str(m) for m in result.months_replaced),
         ",".join(f"{m.month}:{m.reason}" for m in result.months_protected), error, batch_id))


def _open(db_path: Path, auto_setup: bool, dry_run: bool) -> sqlite3.Connection | None:
    """The run's connection (None for a dry run against a database not created yet)."""
    if not db_path.exists():
        if not auto_setup:
            raise ImportFailed(f"database {db_path} does not exist (check DATABASE_PATH, run `ctvdb init`, "
                               f"or pass --auto-setup to create it)")
        if dry_run:
            return None
        db.init(db_path)
        log.info("created database %s", db_path)
    conn = db.connect(db_path)
    conn.execute(f"PRAGMA cache_size = -{db.IMPORT_CACHE_KIB}")
    if not dry_run:
        applied = db.ensure_current(conn)
        if applied:
            log.info("applied migrations %s", ", ".join(applied))
    return conn


def _database_error(db_path: Path, exc: sqlite3.Error) -> ImportFailed:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return ImportFailed(f"database {db_path} is locked by another writer; nothing was changed")
    if "readonly" in text or "read-only" in text:
        return ImportFailed(f"database {db_path} is read-only for this user; nothing was changed")
    if "full" in text:
        return ImportFailed(f"database {db_path}: the disk is full; nothing was changed")
    return ImportFailed(f"database {db_path}: {text}; nothing was changed")


@dataclass(frozen=True)
class _Options:
    """What `import_workbook` was asked to do, handed down as one value."""
    mode: str
    closed_by: str | None
    auto_setup: bool
    dry_run: bool
    include_previous_month: bool
    today: dt.date
    max_rejected_ratio: float
    max_xml_bytes: int
    confirm: Callable[[ImportResult], bool] | None
    progress: Callable[[str, int, int], None] | None


def import_workbook(
    db_path: str | os.PathLike,
    workbook_path: str | os.PathLike,
    *,
    mode: str = "daily",
    closed_by: str | None = None,
    auto_setup: bool = False,
    dry_run: bool = False,
    include_previous_month: bool = False,
    today: dt.date | None = None,
    max_rejected_ratio: float = 0.01,
    max_xml_bytes: int = workbook.MAX_XML_BYTES,
    confirm: Callable[[ImportResult], bool] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Import one Commercial Log. Raises ImportFailed (nothing changed) or returns the result."""
    db_path, workbook_path = Path(db_path), Path(workbook_path)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    if mode == "historical" and not (closed_by or "").strip():
        raise ImportFailed("historical mode closes months: say who closes them (--closed-by NAME)")
    options = _Options(mode, closed_by, auto_setup, dry_run, include_previous_month, today or dt.date.today(),
                       max_rejected_ratio, max_xml_bytes, confirm, progress)
    result = ImportResult(str(workbook_path), str(db_path), mode)

    if not db_path.parent.is_dir():
        raise ImportFailed(f"database {db_path}: directory {db_path.parent} does not exist")
    # The import builds a few hundred thousand small tuples that live until the commit: the
    # cyclic garbage collector would rescan them again and again for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _locked_import(db_path, workbook_path, result, options)
    except OSError as exc:
        raise ImportFailed(f"{exc.filename or db_path}: {exc.strerror or exc}; nothing was changed") from exc
    finally:
        if gc_was_enabled:
            gc.enable()


def _locked_import(db_path, workbook_path, result, options: _Options):
    with import_lock(db_path):
        try:
            conn = _open(db_path, options.auto_setup, options.dry_run)
        except sqlite3.Error as exc:
            raise _database_error(db_path, exc) from exc
        try:
            return _run(conn, result, db_path, workbook_path, options)
        finally:
            if conn is not None:
                conn.close()


def _run(conn, result, db_path, workbook_path, options: _Options) -> ImportResult:
    if conn is not None and not options.dry_run:
        try:
            result.stale_batches_cleaned = _clean_stale_batches(conn, dt.datetime.now(dt.timezone.utc))
        except sqlite3.Error as exc:
            raise _database_error(db_path, exc) from exc
        if result.stale_batches_cleaned:
            log.warning("marked interrupted batch(es) %s FAILED", ", ".join(map(str, result.stale_batches_cleaned)))

    try:
        with workbook.Workbook.open(workbook_path, options.max_xml_bytes) as book:
            if options.progress and book.xml_bytes:
                options.progress("reading", 0, book.xml_bytes)
            parsed = _parse(book, options.progress if book.xml_bytes else None)
    except workbook.WorkbookError as exc:
        raise ImportFailed(str(exc)) from exc
    log.info("read %s: %s rows from %s", workbook_path.name, f"{parsed.rows_read:,}", ", ".join(book.sheets))
    for warning in book.warnings:
        log.warning("%s", warning)
    result.warnings = list(book.warnings)
    result.rows_read, result.rows_ignored, result.rows_trade = parsed.rows_read, parsed.rows_ignored, parsed.rows_trade
    result.rows_rejected, result.rejected = len(parsed.rejected), parsed.rejected

    data_rows = parsed.rows_read - parsed.rows_ignored
    if parsed.rejected and len(parsed.rejected) > options.max_rejected_ratio * data_rows:
        first = parsed.rejected[0].describe(workbook_path.name)
        raise ImportFailed(
            f"{len(parsed.rejected)} of {data_rows} rows rejected ({len(parsed.rejected) / max(data_rows, 1):.1%}, "
            f"more than the {options.max_rejected_ratio:.0%} allowed): is this the right file? First: {first}")
    for rejected in parsed.rejected[:20]:
        log.warning("rejected %s", rejected.describe(workbook_path.name))

    markets = {code for code in parsed.markets if code}
    known = {row[0] for row in conn.execute("SELECT code FROM markets")} if conn else set(codes.MARKETS)
    result.new_markets = sorted(markets - known)
    if result.new_markets and not options.auto_setup:
        raise ImportFailed(f"{workbook_path.name}, column AC Market: unknown market code(s) "
                           f"{', '.join(result.new_markets)} (pass --auto-setup to create them)")

    if conn is None:   # dry run against a database that does not exist yet
        result.months = _plan_empty(parsed)
    else:
        result.months = _plan(conn, parsed, options.mode, options.today, options.include_previous_month)
    protected = {m.month for m in result.months_protected}
    result.rows_protected = sum(parsed.months[month][0] for month in protected)

    if options.dry_run:
        result.status = "PLANNED"
        result.rows_imported = sum(m.spots_after for m in result.months if m.action == "replace")
        result.rows_deleted = sum(m.spots_before for m in result.months if m.action == "replace")
        result.message = "Dry run: " + _summary(result, planned=True) + "; nothing was written."
        return result
    if options.confirm is not None and not options.confirm(result):
        result.status = "CANCELLED"
        result.message = "Import cancelled; nothing was changed."
        return result

    try:
        batch_id = conn.execute(
            "INSERT INTO import_batches (mode, source_file, status, started_at, pid, closed_by) "
            "VALUES (?, ?, 'RUNNING', ?, ?, ?)",
            (options.mode, str(workbook_path), utc_now(), os.getpid(), options.closed_by)).lastrowid
    except sqlite3.Error as exc:
        raise _database_error(db_path, exc) from exc
    result.batch_id = batch_id
    try:
        conn.execute("BEGIN IMMEDIATE")
        _write(conn, result, parsed, result.months, batch_id, options.mode, options.closed_by, options.progress)
        result.after_import_seconds = after_import.run(conn, options.today, batch_id)
        result.status = "COMPLETED"
        _finish_batch(conn, batch_id, result, "COMPLETED", None)
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        error = _database_error(db_path, exc) if isinstance(exc, sqlite3.Error) else exc
        result.status = "FAILED"
        result.rows_imported = result.rows_deleted = 0
        try:
            _finish_batch(conn, batch_id, result, "FAILED", str(error)[:1000])
        except sqlite3.Error:
            log.exception("could not mark batch %s FAILED; the next run will", batch_id)
        if isinstance(exc, sqlite3.Error):
            raise error from exc
        raise
    result.message = _summary(result, planned=False)
    return result


def _plan_empty(parsed: _Parsed) -> list[MonthFigures]:
    return [MonthFigures(month, "replace", "", count, 0, 0.0, count, gross)
            for month, (count, gross) in sorted(parsed.months.items())]


def _summary(result: ImportResult, planned: bool) -> str:
    replaced = codes.month_ranges(result.months_replaced) or "no months"
    verb = "would replace" if planned else "replaced"
    text = (f"{verb} {replaced} with {result.rows_imported:,} spots "
            f"({result.rows_deleted:,} removed)")
    if result.months_protected:
        text += "; kept " + ", ".join(f"{m.label} ({m.reason})" for m in result.months_protected)
    extras = [f"{result.rows_trade:,} Trade rows excluded"] if result.rows_trade else []
    if result.rows_rejected:
        extras.append(f"{result.rows_rejected:,} rows rejected")
    if result.rows_ignored:
        extras.append(f"{result.rows_ignored:,} blank/total rows ignored")
    if extras:
        text += "; " + ", ".join(extras)
    if result.warnings:
        text += "; warning: " + "; ".join(result.warnings)
    if planned:
        return text
    return f"Import batch {result.batch_id} completed: {text}."
