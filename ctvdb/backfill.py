"""Booking snapshots built from saved daily workbooks, for the days before snapshots were kept.

Each file's date is in its name (`Commercial Log 251114.xlsx`, as the daily update names them,
or a `2025-11-14` anywhere in it). A day's snapshot is what that workbook booked for the months
from that day's broadcast month on, read with the import's own reader (Trade left out, the same
AE, revenue type, market and month rules) and never written to the spots. One difference from
an import that day: an open month the workbook has no rows for counts as nothing booked, where
the import would have kept the month's spots as they were.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ctvdb import codes, db, snapshots, workbook
from ctvdb.rows import SPOT_COLUMNS, Rejected, RowReader

# The import refuses a workbook with more rejected rows than this (importer.import_workbook's
# default): such a day had no completed import, so it gets no snapshot either.
MAX_REJECTED_RATIO = 0.01
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_YYMMDD = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{2})(?!\d)")
_AE, _NET = SPOT_COLUMNS.index("ae"), SPOT_COLUMNS.index("station_net")


class BackfillError(Exception):
    """Files that cannot be backfilled as given; the message is one sentence."""


def date_of(path: Path) -> dt.date | None:
    """The day a saved workbook is of, from its name; None when the name holds no date."""
    for pattern, century in ((_ISO, 0), (_YYMMDD, 2000)):
        for match in pattern.finditer(path.stem):
            year, month, day = (int(g) for g in match.groups())
            try:
                return dt.date(century + year, month, day)
            except ValueError:
                continue
    return None


def dated(paths: list[Path]) -> list[tuple[dt.date, Path]]:
    """The workbooks in date order (a directory stands for the .xlsx files in it). Raises
    BackfillError for a name without a date, or two files of one day."""
    files = []
    for path in paths:
        files += sorted(path.glob("*.xlsx")) if path.is_dir() else [path]
    found: dict[dt.date, Path] = {}
    for path in files:
        day = date_of(path)
        if day is None:
            raise BackfillError(f"cannot tell the day of {path} from its name (expected "
                                f"'Commercial Log YYMMDD.xlsx' or a YYYY-MM-DD in it); nothing was written")
        if day in found:
            raise BackfillError(f"{found[day].name} and {path.name} are both of {day:%b %-d, %Y}; "
                                f"give one workbook per day; nothing was written")
        found[day] = path
    if not found:
        raise BackfillError("no workbook given (a directory holds no .xlsx file); nothing was written")
    return sorted(found.items())


def figures_of(path: Path, day: dt.date) -> snapshots.Figures:
    """What the workbook books per month × AE × revenue type × market, months from the day's
    broadcast month on. Raises workbook.WorkbookError for a file the import would refuse."""
    reader, figures, first = RowReader(), {}, codes.broadcast_month(day)
    rows = rejected = 0
    first_rejected = None
    with workbook.Workbook.open(path) as book:
        for part in book.parts():
            for offset, row in enumerate(part.rows):
                rows += 1
                if reader.is_trade(row):
                    continue
                try:
                    if offset in part.errors:
                        raise Rejected(*part.errors[offset])
                    spot = reader.read(row)
                except Rejected as exc:
                    rejected += 1
                    first_rejected = first_rejected or (part.sheet, part.first_row_number + offset, exc.reason)
                    continue
                if spot is None:
                    rows -= 1
                    continue
                if spot.broadcast_month < first:
                    continue
                key = (spot.broadcast_month, spot.values[_AE], spot.revenue_type, spot.market_code)
                total = figures.get(key)
                if total is None:
                    total = figures[key] = [0, 0.0, 0.0]
                total[0] += 1
                total[1] += spot.gross
                total[2] += spot.values[_NET] or 0.0
    if rejected > MAX_REJECTED_RATIO * rows:
        sheet, row_number, reason = first_rejected
        raise workbook.WorkbookError(f"{path.name}: {rejected} of {rows} rows rejected, more than the import "
                                     f"allows (first: sheet {sheet!r}, row {row_number}: {reason})")
    return figures


@dataclass
class Outcome:
    built: list[dt.date] = field(default_factory=list)
    kept: list[dt.date] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)       # one sentence per workbook skipped

    def summary(self) -> str:
        span = f" ({_day(min(self.built))} – {_day(max(self.built))})" if self.built else ""
        text = f"built {len(self.built)} snapshots from {len(self.built)} workbooks{span}"
        if self.kept:
            text += f"; kept {len(self.kept)} days already there"
        if self.bad:
            text += f"; skipped {len(self.bad)} bad workbook{'s' if len(self.bad) > 1 else ''}"
        return text


def _day(day: dt.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def backfill(conn: sqlite3.Connection, paths: list[Path], *, replace: bool = False,
             progress: Callable[[str], None] | None = None) -> Outcome:
    """Build the snapshot of each workbook's day, in date order, each in its own transaction.
    A day that has a snapshot is kept unless `replace`. A workbook that cannot be read is
    skipped, with its sentence in Outcome.bad; nothing is written for it."""
    work = dated(paths)
    have, outcome = snapshots.days(conn), Outcome()
    for n, (day, path) in enumerate(work, 1):
        where = f"[{n}/{len(work)}] {path.name}"
        if day.isoformat() in have and not replace:
            outcome.kept.append(day)
            if progress:
                progress(f"{where}: {day} already has a snapshot, kept")
            continue
        try:
            figures = figures_of(path, day)
        except workbook.WorkbookError as exc:
            outcome.bad.append(f"{exc}; no snapshot was written for {day}")
            if progress:
                progress(f"{where}: skipped: {outcome.bad[-1]}")
            continue
        with db.write_transaction(conn):
            rows = snapshots.store_day(conn, day, figures, str(path))
        outcome.built.append(day)
        if progress:
            progress(f"{where}: {rows:,} rows for {day}")
    return outcome
