"""The daily booking snapshot (ctvdb/snapshots.py) and `ctvdb pace backfill` (ctvdb/backfill.py):
a year and a bit of daily workbooks imported on their days (tests/pace_history.py), against sums
over the spots those workbooks hold."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import pace_history as h
from ctvdb import backfill, db
from ctvdb.importer import import_workbook


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return h.history(tmp_path_factory)


def rows(database, where: str = "", params=()) -> list[tuple]:
    conn = sqlite3.connect(database)
    try:
        return sorted(conn.execute(f"SELECT * FROM booking_snapshots {where}", params))
    finally:
        conn.close()


def day_totals(database, day: dt.date) -> dict[int, float]:
    conn = sqlite3.connect(database)
    try:
        return {m: round(g, 2) for m, g in conn.execute(
            "SELECT broadcast_month, total(gross) FROM booking_snapshots WHERE snapshot_date = ? GROUP BY 1",
            (day.isoformat(),))}
    finally:
        conn.close()


def ctvdb(*args):
    return subprocess.run([sys.executable, "-m", "ctvdb", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def expected(day: dt.date) -> dict[int, float]:
    """What day's snapshot holds: the months from its broadcast month on that had bookings."""
    return {m: h.booked(m, day) for m in h.MONTHS if m >= h.broadcast_month(day) and h.booked(m, day)}


def test_every_import_keeps_its_day_s_bookings_of_the_current_and_coming_months(history):
    database, _ = history
    conn = sqlite3.connect(database)
    assert [r[0] for r in conn.execute("SELECT snapshot_date FROM snapshot_days ORDER BY 1")] == \
        [d.isoformat() for d in h.DAYS]
    conn.close()
    for day in (h.DAYS[0], h.DAYS[9], dt.date(2026, 6, 3), h.LAST_DAY):
        assert day_totals(database, day) == expected(day), day
    # Nov 30, 2026 is a Monday of Dec-26: from that day on November is no longer in the snapshot
    assert min(day_totals(database, dt.date(2026, 11, 25))) == 202611
    assert min(day_totals(database, h.LAST_DAY)) == 202612


def test_the_snapshot_splits_by_ae_revenue_type_and_market(history):
    database, _ = history
    found = rows(database, "WHERE snapshot_date = ? AND broadcast_month = 202701", (h.LAST_DAY.isoformat(),))
    by_key: dict[tuple, float] = {}
    for s in h.SPOTS:
        if s.month == 202701 and s.booked_on <= h.LAST_DAY and s.revenue_type != "Trade":
            rt = "Internal Ad Sales" if s.revenue_type == "Local" else s.revenue_type
            key = (s.ae, rt, s.market)
            by_key[key] = round(by_key.get(key, 0.0) + s.gross, 2)
    assert {(ae, rt, market): gross for _, _, ae, rt, market, _, gross, _ in found} == by_key
    assert "CARMEN REYES" in {key[0] for key in by_key}


def test_a_second_import_the_same_day_replaces_that_day_only(history, private_copy, tmp_path):
    database = private_copy(history[0])
    before = rows(database, "WHERE snapshot_date < ?", (h.LAST_DAY.isoformat(),))
    late = h.Spot(202701, h.LAST_DAY, dt.date(2027, 1, 4), 4321.5, 3000.0, "Brandon Wu", "Internal Ad Sales",
                  "SEA", 999_999)
    workbook = h.write(tmp_path / h.name(h.LAST_DAY), h.spots_of(h.LAST_DAY) + [late])
    import_workbook(database, workbook, mode="daily", today=h.LAST_DAY, auto_setup=True)
    now = day_totals(database, h.LAST_DAY)
    assert now[202701] == round(h.booked(202701, h.LAST_DAY) + 4321.5, 2)
    assert now[202612] == h.booked(202612, h.LAST_DAY)
    assert rows(database, "WHERE snapshot_date < ?", (h.LAST_DAY.isoformat(),)) == before


def test_an_older_workbook_imported_again_rewrites_no_earlier_day(history, private_copy):
    database, logs = history
    database = private_copy(database)
    before = rows(database, "WHERE snapshot_date < ?", (h.LAST_DAY.isoformat(),))
    old_day = h.DAYS[-6]                       # five weeks ago
    import_workbook(database, logs / h.name(old_day), mode="daily", today=h.LAST_DAY, auto_setup=True)
    assert rows(database, "WHERE snapshot_date < ?", (h.LAST_DAY.isoformat(),)) == before
    # today's snapshot is what the database now holds: the old workbook's months, as it booked them
    assert day_totals(database, h.LAST_DAY)[202701] == h.booked(202701, old_day)


def test_backfill_from_the_directory_gives_the_snapshots_the_imports_gave(history, tmp_path):
    database, logs = history
    fresh = tmp_path / "fresh.db"
    db.init(fresh)
    done = ctvdb("--db", fresh, "pace", "backfill", logs)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Built 62 snapshots from 62 workbooks (Oct 1, 2025 – Dec 2, 2026).\n"
    assert f"[62/62] {h.name(h.LAST_DAY)}: " in done.stderr
    assert rows(fresh) == rows(database)
    conn = sqlite3.connect(fresh)
    assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 0   # the spots are never touched
    assert conn.execute("SELECT count(*) FROM snapshot_days WHERE batch_id IS NULL").fetchone()[0] == 62
    conn.close()


def test_backfill_keeps_days_already_there_unless_told_to_replace(history, private_copy):
    database, logs = history
    database = private_copy(database)
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("UPDATE booking_snapshots SET gross = gross + 1 WHERE snapshot_date = ?", (h.DAYS[3].isoformat(),))
    conn.close()
    spoiled = day_totals(database, h.DAYS[3])
    files = [logs / h.name(h.DAYS[3]), logs / h.name(h.DAYS[4])]
    kept = ctvdb("--db", database, "pace", "backfill", *files)
    assert kept.returncode == 0 and kept.stdout == "Built 0 snapshots from 0 workbooks; kept 2 days already there.\n"
    assert day_totals(database, h.DAYS[3]) == spoiled != expected(h.DAYS[3])
    replaced = ctvdb("--db", database, "pace", "backfill", "--replace", files[0])
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout == "Built 1 snapshots from 1 workbooks (Oct 22, 2025 – Oct 22, 2025).\n"
    assert day_totals(database, h.DAYS[3]) == expected(h.DAYS[3])


def test_a_bad_workbook_is_skipped_and_named_and_the_others_are_built(history, tmp_path):
    _, logs = history
    folder = tmp_path / "logs"
    folder.mkdir()
    for day in h.DAYS[:3]:
        shutil.copy(logs / h.name(day), folder)
    (folder / h.name(h.DAYS[1])).write_bytes(b"not a workbook")
    fresh = tmp_path / "fresh.db"
    db.init(fresh)
    done = ctvdb("--db", fresh, "pace", "backfill", folder)
    assert done.returncode == 1
    assert done.stdout == "Built 2 snapshots from 2 workbooks (Oct 1, 2025 – Oct 15, 2025); skipped 1 bad workbook.\n"
    assert f"ctvdb: skipped {h.name(h.DAYS[1])}: not a readable .xlsx workbook" in done.stderr
    assert "no snapshot was written for 2025-10-08" in done.stderr
    assert day_totals(fresh, h.DAYS[1]) == {} and day_totals(fresh, h.DAYS[2]) == expected(h.DAYS[2])


def test_a_workbook_without_a_date_in_its_name_is_refused_before_anything_is_written(history, tmp_path):
    _, logs = history
    undated = tmp_path / "export.xlsx"
    shutil.copy(logs / h.name(h.DAYS[0]), undated)
    fresh = tmp_path / "fresh.db"
    db.init(fresh)
    done = ctvdb("--db", fresh, "pace", "backfill", logs / h.name(h.DAYS[1]), undated)
    assert done.returncode == 1 and done.stdout == ""
    assert f"cannot tell the day of {undated} from its name" in done.stderr
    assert rows(fresh) == []


@pytest.mark.parametrize("file_name, day", [
    ("Commercial Log 251114.xlsx", dt.date(2025, 11, 14)),
    ("log 2025-11-14 copy.xlsx", dt.date(2025, 11, 14)),
    ("Commercial Log 261131.xlsx", None),          # no 31 November
    ("Commercial Log 2611145.xlsx", None),         # seven digits are not a date
    ("Commercial Log.xlsx", None),
])
def test_a_workbook_s_day_is_read_from_its_name(file_name, day):
    assert backfill.date_of(Path(file_name)) == day
