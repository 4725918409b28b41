"""The import against real xlsx files and a real SQLite file: figures, modes, atomicity."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import openpyxl
import pytest

from ctvdb import db, importer
from ctvdb.sample import write_sample
from xlsx_rows import HEADER, Row, month_rows, rewrite, set_dimension, with_cell, write

NOV, DEC, OCT = dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2026, 10, 1)
MID_NOV = dt.date(2026, 11, 15)   # today: previous month is Oct-26
IAS = "Internal Ad Sales"


@pytest.fixture
def database(tmp_path) -> Path:
    path = tmp_path / "ctvdb.db"
    db.init(path)
    return path


def run(database, workbook, **options):
    options.setdefault("mode", "daily")
    options.setdefault("today", MID_NOV)
    return importer.import_workbook(database, workbook, auto_setup=True, **options)


def query(database, sql, *params):
    conn = sqlite3.connect(database)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def content_digest(database) -> str:
    """A digest of every row of every table: 'unchanged' checked by content, not row counts."""
    conn = sqlite3.connect(database)
    try:
        digest = hashlib.sha256()
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            digest.update(table.encode())
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        conn.close()


def spots_and_gross(database, month: int) -> tuple[int, float]:
    count, gross = query(database, "SELECT count(*), total(gross_rate) FROM spots WHERE broadcast_month = ?", month)[0]
    return count, round(gross, 2)


# Figures ------------------------------------------------------------------------------------------

def mixed_workbook(path):
    """Two months over three sheets with every revenue-type spelling, Trade included."""
    commercials = month_rows(NOV, 40) + month_rows(DEC, 30)
    commercials += [
        Row(revenue_type="A&O", gross=300.0, sales_person=" alice nguyen "),
        Row(revenue_type="Local", gross=200.0),
        Row(revenue_type="Trade", gross=5000.0),
        Row(revenue_type="Trade", gross=7000.0, month=DEC, air_date=dt.date(2026, 12, 2)),
        Row(spot_type="BNS", gross=0.0),
        Row(spot_type="CRD", gross=-150.0),
    ]
    worldlink = [Row(bill_code="WorldLink:Tempur Sealy", revenue_type="Direct Response Sales",
                     sales_person="House", gross=float(g), spot_type="Com") for g in (120, 80, 95)]
    added = [Row(bill_code="Kim & Park Realty", gross=444.0, month=DEC, air_date=dt.date(2026, 11, 30))]
    write(path, {"Commercials": commercials, "Worldlink Lines": worldlink, "Add to booked business": added})
    return {"Commercials": commercials, "Worldlink Lines": worldlink, "Add to booked business": added}


REVENUE_NAME = {"A&O": IAS, "Local": IAS, IAS: IAS, "Direct Response Sales": "Direct Response Sales"}


def test_totals_per_month_sheet_ae_and_revenue_type_equal_the_workbook_rows(tmp_path, database):
    sheets = mixed_workbook(tmp_path / "log.xlsx")
    result = run(database, tmp_path / "log.xlsx", mode="manual")

    by_month, by_sheet, by_ae, by_type = defaultdict(float), defaultdict(float), defaultdict(float), defaultdict(float)
    stored = 0
    for sheet, rows in sheets.items():
        for row in rows:
            if row.revenue_type == "Trade":
                continue
            stored += 1
            by_month[row.month.year * 100 + row.month.month] += row.gross
            by_sheet[sheet] += row.gross
            by_ae[row.sales_person.strip().upper()] += row.gross
            by_type[REVENUE_NAME[row.revenue_type]] += row.gross

    assert result.status == "COMPLETED"
    assert result.rows_imported == stored == 3 + 1 + 70 + 4
    assert result.rows_trade == 2
    assert dict(query(database, "SELECT broadcast_month, round(total(gross_rate), 2) FROM spots GROUP BY 1")) == \
        {m: round(v, 2) for m, v in by_month.items()}
    assert dict(query(database, "SELECT sheet, round(total(gross_rate), 2) FROM spots GROUP BY 1")) == \
        {s: round(v, 2) for s, v in by_sheet.items()}
    assert dict(query(database, "SELECT ae, round(total(gross_rate), 2) FROM spots GROUP BY 1")) == \
        {a: round(v, 2) for a, v in by_ae.items()}
    assert dict(query(database, "SELECT revenue_type, round(total(gross_rate), 2) FROM spots GROUP BY 1")) == \
        {t: round(v, 2) for t, v in by_type.items()}
    # Trade is never stored: 12,000 of barter would otherwise show up.
    assert query(database, "SELECT count(*) FROM spots WHERE revenue_type = 'Trade'")[0][0] == 0
    assert query(database, "SELECT count(*) FROM spot_languages")[0][0] == stored


def test_broadcast_month_comes_from_the_month_column_not_the_air_date(tmp_path, database):
    write(tmp_path / "log.xlsx", {"Commercials": [Row(air_date=dt.date(2026, 10, 27), month=NOV, gross=700.0)]})
    run(database, tmp_path / "log.xlsx", mode="manual")
    assert query(database, "SELECT broadcast_month, month_label, air_date FROM spots") == \
        [(202611, "Nov-26", "2026-10-27")]


def test_bill_codes_map_to_agency_chain_and_customer_identity(tmp_path, database):
    write(tmp_path / "log.xlsx", {"Commercials": [
        Row(bill_code="Admerasia:McDonald's"),
        Row(bill_code="OtherAgency:McDonald's"),
        Row(bill_code="  admerasia:mcdonald's  (Broker Fees - DO NOT INVOICE)"),
        Row(bill_code="IW Group:Sensis:Covered  California"),
        Row(bill_code="WorldLink Tempur Sealy", revenue_type="Direct Response Sales"),
        Row(bill_code="Phở Hòa CREDIT MEMO"),
    ]})
    run(database, tmp_path / "log.xlsx", mode="manual")
    customers = query(database, "SELECT c.name, c.agency_chain, a.name, count(s.id) FROM customers c "
                                "LEFT JOIN agencies a ON a.id = c.agency_id JOIN spots s ON s.customer_id = c.id "
                                "GROUP BY c.id ORDER BY c.identity_key")
    assert customers == [
        ("McDonald's", "Admerasia", "Admerasia", 2),
        ("Covered California", "IW Group:Sensis", "IW Group", 1),
        ("McDonald's", "OtherAgency", "OtherAgency", 1),
        ("Phở Hòa", "", None, 1),
        ("Tempur Sealy", "WorldLink", "WorldLink", 1),
    ]


def test_language_assignment_and_review_queue(tmp_path, database):
    write(tmp_path / "log.xlsx", {"Commercials": [
        Row(language="M", line=1),                                    # known → assigned
        Row(language="", line=2),                                     # none → English default
        Row(language="L", spot_type="Com", line=3),                   # COM with L → English
        Row(language="L", spot_type="BNS", gross=0.0, line=4),        # L → undetermined, review
        Row(language="xx", line=5),                                   # unknown → invalid, review
        Row(language="V", spot_type="PKG", gross=1500.0, line=6),     # IAS PKG → review, high value
        Row(language="", revenue_type="Paid Programming", spot_type="PRG", line=7),  # default English
        Row(language=" hm ", line=8),                                 # Hmong, trimmed, upper-cased
    ]})
    run(database, tmp_path / "log.xlsx", mode="manual")
    rows = query(database, "SELECT s.line_number, l.category, l.language_code, l.status, l.needs_review, l.high_value "
                           "FROM spots s JOIN spot_languages l ON l.spot_id = s.id ORDER BY s.line_number")
    assert rows == [
        (1, "language_assignment", "M", "assigned", 0, 0),
        (2, "language_assignment", "E", "default", 0, 0),
        (3, "language_assignment", "E", "default", 0, 0),
        (4, "language_assignment", None, "undetermined", 1, 0),
        (5, "language_assignment", None, "invalid", 1, 0),
        (6, "review_category", "V", "assigned", 1, 1),
        (7, "default_english", "E", "default", 0, 0),
        (8, "language_assignment", "HM", "assigned", 0, 0),
    ]


def test_sample_workbook_month_totals_equal_an_independent_openpyxl_sum(tmp_path, database):
    info = write_sample(tmp_path / "sample.xlsx", rows=3000, months=["Oct-26", "Nov-26", "Dec-26"], seed=7)
    expected: dict[int, list] = defaultdict(lambda: [0, 0.0])
    book = openpyxl.load_workbook(tmp_path / "sample.xlsx", read_only=True)
    for sheet in book.worksheets:
        for cells in sheet.iter_rows(min_row=2, values_only=True):
            if not cells or cells[0] is None or cells[23] == "Trade":
                continue
            month = cells[18].year * 100 + cells[18].month
            expected[month][0] += 1
            expected[month][1] += cells[15]
    result = run(database, tmp_path / "sample.xlsx", mode="manual")
    assert result.rows_rejected == 0 and result.rows_trade == info.trade_rows
    got = {m: [c, g] for m, c, g in query(database, "SELECT broadcast_month, count(*), round(total(gross_rate), 2) "
                                                    "FROM spots GROUP BY 1")}
    assert got == {m: [c, round(g, 2)] for m, (c, g) in expected.items()}


def test_messy_sample_counts_ignored_and_rejected_rows_exactly(tmp_path, database):
    info = write_sample(tmp_path / "messy.xlsx", rows=2000, months=["Nov-26", "Dec-26"], seed=3, messy=True)
    book = openpyxl.load_workbook(tmp_path / "messy.xlsx", read_only=True)
    blank = totals = 0
    for sheet in book.worksheets:
        for cells in sheet.iter_rows(min_row=2, values_only=True):
            if all(c is None or str(c).strip() == "" for c in cells):
                blank += 1
            elif cells[0] is None and any(isinstance(c, str) and c.strip().lower().startswith("total") for c in cells):
                totals += 1
    result = run(database, tmp_path / "messy.xlsx", mode="manual")
    assert (blank, totals) == (info.blank_rows, info.totals_rows)
    assert result.rows_ignored == blank + totals
    assert result.rows_rejected == info.rejected_rows_expected == 2
    assert result.rows_imported == sum(n for _, n in info.spots_by_month)
    rejected = query(database, "SELECT sheet, row_number, column_name, value, reason FROM rejected_rows "
                               "WHERE batch_id = ? ORDER BY row_number", result.batch_id)
    assert len(rejected) == 2
    assert {r[2] for r in rejected} == {"P Unit rate Gross", "B Start Date"}
    assert any(r[3] == "#REF!" for r in rejected)
    batch = query(database, "SELECT status, rows_read, rows_ignored, rows_rejected, rows_trade, rows_imported "
                            "FROM import_batches WHERE id = ?", result.batch_id)[0]
    assert batch == ("COMPLETED", result.rows_read, blank + totals, 2, info.trade_rows, result.rows_imported)


def test_text_amounts_text_dates_and_month_labels_are_read(tmp_path, database):
    raw = Row().cells()
    raw[1], raw[2], raw[15], raw[17], raw[18], raw[21], raw[26] = "11/03/2026", "2026-11-03", "1,250.00", "1,250.00", "Nov-26", "(10.50)", "Yes"
    raw[13], raw[28], raw[9] = " com ", " sfo", " m "
    write(tmp_path / "log.xlsx", {"Commercials": [raw]})
    run(database, tmp_path / "log.xlsx", mode="manual")
    assert query(database, "SELECT air_date, end_date, gross_rate, station_net, broadcast_month, affidavit_flag, "
                           "spot_type, market_code, language_code, length_seconds FROM spots") == \
        [("2026-11-03", "2026-11-03", 1250.0, -10.5, 202611, "Y", "COM", "SFO", "M", 30)]


# Modes and protections ----------------------------------------------------------------------------

def test_reimporting_the_same_workbook_changes_nothing(tmp_path, database):
    write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 20) + month_rows(DEC, 20)})
    run(database, tmp_path / "log.xlsx")
    figures = query(database, "SELECT broadcast_month, customer_id, ae, gross_rate, air_date FROM spots ORDER BY 1, 4, 5")
    second = run(database, tmp_path / "log.xlsx")
    assert second.rows_deleted == second.rows_imported == 40
    assert query(database, "SELECT broadcast_month, customer_id, ae, gross_rate, air_date FROM spots ORDER BY 1, 4, 5") == figures
    assert query(database, "SELECT count(*) FROM customers")[0][0] == 4


def test_a_changed_month_changes_only_that_month(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 20) + month_rows(DEC, 20)})
    run(database, tmp_path / "a.xlsx")
    dec_before = query(database, "SELECT id, gross_rate FROM spots WHERE broadcast_month = 202612 ORDER BY id")
    changed = [r.with_(gross=r.gross + 10) for r in month_rows(NOV, 25)]
    write(tmp_path / "b.xlsx", {"Commercials": changed + month_rows(DEC, 20)})
    run(database, tmp_path / "b.xlsx")
    assert spots_and_gross(database, 202611) == (25, round(sum(r.gross for r in changed), 2))
    assert spots_and_gross(database, 202612)[0] == 20
    dec_after = query(database, "SELECT gross_rate FROM spots WHERE broadcast_month = 202612 ORDER BY id")
    assert [g for _, g in dec_before] == [g for (g,) in dec_after]


def test_closed_month_is_untouched_by_a_daily_import(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 10) + month_rows(DEC, 10)})
    run(database, tmp_path / "a.xlsx")
    conn = db.connect(database)
    conn.execute("INSERT INTO month_closures VALUES (202611, '2026-12-05T00:00:00Z', 'Kelly', NULL)")
    conn.close()
    nov = query(database, "SELECT * FROM spots WHERE broadcast_month = 202611 ORDER BY id")
    write(tmp_path / "b.xlsx", {"Commercials": month_rows(NOV, 3, spot_type="BNS") + month_rows(DEC, 12)})
    result = run(database, tmp_path / "b.xlsx")
    assert query(database, "SELECT * FROM spots WHERE broadcast_month = 202611 ORDER BY id") == nov
    assert [(m.label, m.action, m.reason) for m in result.months] == [("Nov-26", "protect", "closed"), ("Dec-26", "replace", "")]
    assert result.rows_protected == 3
    assert query(database, "SELECT months_replaced, months_protected FROM import_batches WHERE id = ?", result.batch_id) == \
        [("202612", "202611:closed")]


def test_an_open_month_absent_from_the_workbook_is_kept(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 10) + month_rows(DEC, 10)})
    run(database, tmp_path / "a.xlsx")
    write(tmp_path / "b.xlsx", {"Commercials": month_rows(NOV, 4)})
    run(database, tmp_path / "b.xlsx")
    assert spots_and_gross(database, 202612)[0] == 10
    assert spots_and_gross(database, 202611)[0] == 4


def test_previous_month_is_frozen_once_a_new_month_has_begun(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(OCT, 10) + month_rows(NOV, 10)})
    run(database, tmp_path / "a.xlsx", today=dt.date(2026, 10, 20))   # in October: October is open and current
    write(tmp_path / "b.xlsx", {"Commercials": month_rows(OCT, 15) + month_rows(NOV, 15)})
    frozen = run(database, tmp_path / "b.xlsx", today=dt.date(2026, 11, 2))
    assert spots_and_gross(database, 202610)[0] == 10 and spots_and_gross(database, 202611)[0] == 15
    assert frozen.months[0].reason.startswith("previous month")
    run(database, tmp_path / "b.xlsx", today=dt.date(2026, 11, 2), include_previous_month=True)
    assert spots_and_gross(database, 202610)[0] == 15


def test_historical_mode_replaces_and_closes_its_months(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(OCT, 10)})
    with pytest.raises(importer.ImportFailed, match="closed-by"):
        run(database, tmp_path / "a.xlsx", mode="historical")
    result = run(database, tmp_path / "a.xlsx", mode="historical", closed_by="Kelly")
    assert result.months_replaced == [202610]
    assert query(database, "SELECT broadcast_month, closed_by, batch_id FROM month_closures") == [(202610, "Kelly", result.batch_id)]
    write(tmp_path / "b.xlsx", {"Commercials": month_rows(OCT, 3)})
    with pytest.raises(importer.ImportFailed, match="closed month"):
        run(database, tmp_path / "b.xlsx", mode="manual")
    assert spots_and_gross(database, 202610)[0] == 10


def test_dry_run_writes_nothing(tmp_path, database):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 10)})
    before = content_digest(database)
    result = run(database, tmp_path / "a.xlsx", dry_run=True)
    assert result.status == "PLANNED" and result.months[0].spots_after == 10
    assert content_digest(database) == before


# Bad input: one clear line, database unchanged -----------------------------------------------------

def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "ctvdb.import", *map(str, args), "--unattended"],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def loaded(tmp_path, database):
    write(tmp_path / "good.xlsx", {"Commercials": month_rows(NOV, 10)})
    run(database, tmp_path / "good.xlsx")
    return database


def bad_input_cases(tmp_path):
    (tmp_path / "notes.xlsx").write_text("this is not a workbook\n")
    good = write(tmp_path / "full.xlsx", {"Commercials": month_rows(NOV, 50)})
    (tmp_path / "truncated.xlsx").write_bytes(good.read_bytes()[:2000])
    write(tmp_path / "other_sheet.xlsx", {"Summary": [["Month", "Total"], ["Nov-26", 1000]]}, header=["Report", "x"])
    write(tmp_path / "narrow.xlsx", {"Commercials": [r.cells()[:20] for r in month_rows(NOV, 5)]}, header=HEADER[:20])
    shifted = ["Extra"] + HEADER
    write(tmp_path / "shifted.xlsx", {"Commercials": [[""] + r.cells() for r in month_rows(NOV, 5)]}, header=shifted)
    no_month = [r.cells() for r in month_rows(NOV, 5)]
    for cells in no_month:
        cells[18] = None
    write(tmp_path / "no_month.xlsx", {"Commercials": no_month})
    return [
        ("missing.xlsx", "missing.xlsx: file not found"),
        ("notes.xlsx", "notes.xlsx: not a readable .xlsx workbook"),
        ("truncated.xlsx", "truncated.xlsx: not a readable .xlsx workbook"),
        ("other_sheet.xlsx", "other_sheet.xlsx, sheet 'Summary', row 1: expected 29 columns"),
        ("narrow.xlsx", "narrow.xlsx, sheet 'Commercials', row 1: expected 29 columns"),
        ("shifted.xlsx", "shifted.xlsx, sheet 'Commercials', row 1, column A: expected header 'Bill Code', found 'Extra'"),
        ("no_month.xlsx", "no_month.xlsx, sheet 'Commercials', column S Month: no row has a broadcast month (first at row 2)"),
    ]


def test_bad_workbooks_fail_with_one_line_and_change_nothing(tmp_path, loaded):
    before = content_digest(loaded)
    for name, message in bad_input_cases(tmp_path):
        done = cli(tmp_path / name, "--db", loaded)
        last = done.stdout.strip().splitlines()[-1]
        assert done.returncode == 1, (name, done.stdout, done.stderr)
        assert message in last, (name, last)
        assert "Traceback" not in done.stderr
        assert content_digest(loaded) == before, name


def test_too_many_rejected_rows_fail_the_whole_run(tmp_path, loaded):
    rows = month_rows(NOV, 30)
    rows[4] = rows[4].with_(gross="abc")
    write(tmp_path / "bad.xlsx", {"Commercials": rows})
    before = query(loaded, "SELECT * FROM spots ORDER BY id")
    with pytest.raises(importer.ImportFailed) as failure:
        run(loaded, tmp_path / "bad.xlsx")
    assert "1 of 30 rows rejected" in str(failure.value)
    assert "bad.xlsx, sheet 'Commercials', row 6, column P Unit rate Gross: not an amount ('abc')" in str(failure.value)
    assert query(loaded, "SELECT * FROM spots ORDER BY id") == before
    # one bad row in 200 is under 1%: imported, the row kept in rejected_rows
    rows = month_rows(NOV, 200)
    rows[4] = rows[4].with_(gross="abc")
    write(tmp_path / "ok.xlsx", {"Commercials": rows})
    result = run(loaded, tmp_path / "ok.xlsx")
    assert (result.rows_imported, result.rows_rejected) == (199, 1)


def test_unknown_market_needs_auto_setup(tmp_path, loaded):
    write(tmp_path / "new.xlsx", {"Commercials": month_rows(NOV, 5, market="PDX")})
    before = content_digest(loaded)
    with pytest.raises(importer.ImportFailed, match="unknown market code.*PDX"):
        importer.import_workbook(loaded, tmp_path / "new.xlsx", today=MID_NOV)
    assert content_digest(loaded) == before
    run(loaded, tmp_path / "new.xlsx")
    assert query(loaded, "SELECT code FROM markets WHERE code = 'PDX'") == [("PDX",)]


def test_database_problems_are_one_line(tmp_path, loaded):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 5)})
    done = cli(tmp_path / "a.xlsx", "--db", tmp_path / "nowhere" / "x.db", "--auto-setup")
    assert done.returncode == 1
    assert done.stdout.strip().endswith(f"directory {tmp_path / 'nowhere'} does not exist")
    assert not (tmp_path / "nowhere").exists()
    done = cli(tmp_path / "a.xlsx", "--db", tmp_path / "typo.db")
    assert done.returncode == 1 and "typo.db does not exist" in done.stdout
    assert not (tmp_path / "typo.db").exists()


def test_a_database_locked_by_another_writer_fails_cleanly(tmp_path, loaded, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 7)})
    before = content_digest(loaded)
    holder = sqlite3.connect(loaded, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(importer.ImportFailed, match="locked by another writer"):
            run(loaded, tmp_path / "a.xlsx")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert content_digest(loaded) == before


def test_a_read_only_database_fails_cleanly(tmp_path, loaded):
    # Root ignores file modes, so as root the import runs as nobody, in a directory nobody can
    # reach and write (the lock file lives beside the database), on a database it cannot write.
    shared = Path(tempfile.mkdtemp(prefix="ctvdb-ro-", dir="/tmp"))
    os.chmod(shared, 0o777)
    database = shared / "ro.db"
    shutil.copy(loaded, database)
    write(shared / "a.xlsx", {"Commercials": month_rows(NOV, 7)})
    before = content_digest(database)
    os.chmod(database, 0o444)
    os.chmod(shared / "a.xlsx", 0o444)
    command = [sys.executable, "-m", "ctvdb.import", str(shared / "a.xlsx"), "--db", str(database), "--unattended"]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=shared)
    finally:
        os.chmod(database, 0o644)
    last = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"database {database}" in last and "read-only" in last and "nothing was changed" in last, last
    assert content_digest(database) == before
    shutil.rmtree(shared)


# Concurrency and crashes ----------------------------------------------------------------------------

def test_a_second_import_while_one_runs_fails_at_once(tmp_path, loaded):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 5)})
    with importer.import_lock(loaded):
        started = time.monotonic()
        done = cli(tmp_path / "a.xlsx", "--db", loaded)
    assert done.returncode == 1
    assert "another import is running" in done.stdout
    assert time.monotonic() - started < 10


def test_killed_import_leaves_every_table_as_before_and_next_run_cleans_up(tmp_path, loaded):
    write_sample(tmp_path / "big.xlsx", rows=30000, months=["Nov-26", "Dec-26"], seed=5)
    before = content_digest(loaded)
    env = dict(os.environ, CTVDB_IMPORT_CLOCK="2026-11-15")
    proc = subprocess.Popen([sys.executable, "-m", "ctvdb.import", str(tmp_path / "big.xlsx"), "--db", str(loaded),
                             "--unattended", "--auto-setup"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # Kill it once its batch is RUNNING: the data transaction is under way.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if query(loaded, "SELECT count(*) FROM import_batches WHERE status = 'RUNNING'")[0][0]:
            break
        time.sleep(0.005)
    else:
        pytest.fail("the import never started its batch")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(loaded)
    running = conn.execute("SELECT id FROM import_batches WHERE status = 'RUNNING'").fetchall()
    conn.execute("DELETE FROM import_batches WHERE status = 'RUNNING'")   # only the batch row may differ
    conn.commit()
    conn.close()
    assert running, "the batch row is written RUNNING before the data transaction"
    assert content_digest(loaded) == before
    conn = sqlite3.connect(loaded)
    conn.execute("INSERT INTO import_batches (id, mode, source_file, status, started_at) VALUES (?, 'daily', 'x', 'RUNNING', ?)",
                 (running[0][0], "2026-11-15T04:30:00Z"))
    conn.commit()
    conn.close()
    result = run(loaded, tmp_path / "big.xlsx")
    assert result.stale_batches_cleaned == [running[0][0]]
    assert query(loaded, "SELECT status, error_summary LIKE 'interrupted%' FROM import_batches WHERE id = ?",
                 running[0][0]) == [("FAILED", 1)]


def test_a_reader_sees_the_old_totals_or_the_new_never_a_mix(tmp_path, loaded):
    old = spots_and_gross(loaded, 202611)
    write(tmp_path / "new.xlsx", {"Commercials": month_rows(NOV, 3000)})
    new_rows = month_rows(NOV, 3000)
    new = (3000, round(sum(r.gross for r in new_rows), 2))
    seen, stop = set(), threading.Event()

    def poll():
        conn = db.connect_readonly(loaded)
        while not stop.is_set():
            count, gross = conn.execute("SELECT count(*), total(gross_rate) FROM spots WHERE broadcast_month = 202611").fetchone()
            seen.add((count, round(gross, 2)))
        conn.close()

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        run(loaded, tmp_path / "new.xlsx")
    finally:
        stop.set()
        reader.join()
    assert seen <= {old, new} and old in seen
    assert spots_and_gross(loaded, 202611) == new


def test_summaries_match_a_full_rebuild_after_imports(tmp_path, database):
    from ctvdb import summaries
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 30) + month_rows(DEC, 30)})
    run(database, tmp_path / "a.xlsx")
    write(tmp_path / "b.xlsx", {"Commercials": month_rows(NOV, 12)})
    run(database, tmp_path / "b.xlsx")
    snapshot = query(database, "SELECT * FROM customer_month_summary ORDER BY 1, 2, 3, 4, 5")
    conn = db.connect(database)
    with conn:
        conn.execute("BEGIN")
        summaries.refresh_all(conn)
    conn.close()
    assert query(database, "SELECT * FROM customer_month_summary ORDER BY 1, 2, 3, 4, 5") == snapshot
    assert sum(r[5] for r in snapshot if r[0] == 202611) == 12


def test_a_full_disk_fails_cleanly_and_loses_nothing(tmp_path):
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        database = mount_point / "ctvdb.db"
        db.init(database)
        write(tmp_path / "small.xlsx", {"Commercials": month_rows(NOV, 20)})
        run(database, tmp_path / "small.xlsx")
        before = content_digest(database)
        write_sample(tmp_path / "big.xlsx", rows=20000, months=["Nov-26", "Dec-26"], seed=2)
        with pytest.raises(importer.ImportFailed, match="disk is full; nothing was changed"):
            run(database, tmp_path / "big.xlsx")
        conn = sqlite3.connect(database)
        failed = conn.execute("SELECT status FROM import_batches ORDER BY id DESC LIMIT 1").fetchone()
        conn.execute("DELETE FROM import_batches WHERE id > 1")
        conn.commit()
        conn.close()
        assert failed == ("FAILED",)
        assert content_digest(database) == before
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


# Hostile and broken workbooks (issue 10) -------------------------------------------------------------

def cli_with_peak(*args, env=None) -> tuple[int, str, float]:
    """(exit status, stdout, peak resident MB of the command and its children) of the import command."""
    with subprocess.Popen([sys.executable, "-m", "ctvdb.import", *map(str, args), "--unattended"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as proc:
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, usage.ru_maxrss / 1024


def hostile_cases(tmp_path):
    """(file, what the one line must say): each a few KB, each once too much for the reader."""
    xfd = with_cell(tmp_path / "xfd.xlsx", "XFD1048576")            # once: SIGABRT, exit 134
    far = with_cell(tmp_path / "far.xlsx", "A1048576")              # once: 1.26 GB
    sheet = "xl/worksheets/sheet1.xml"
    rewrite(xfd, tmp_path / "xfd_undeclared.xlsx", {sheet: set_dimension(None)})
    rewrite(far, tmp_path / "far_undeclared.xlsx", {sheet: set_dimension(None)})
    rewrite(far, tmp_path / "far_understated.xlsx", {sheet: set_dimension("A1:AC21")})
    sample = write_sample(tmp_path / "sample.xlsx", rows=20, months="Nov-26", seed=1).path
    filler = b"<si><t>" + b"A" * 4000 + b"</t></si>"
    rewrite(sample, tmp_path / "strings.xlsx",                      # 16 MB from 20 KB (once: 1.57 GB from 841 KB)
            {"xl/sharedStrings.xml": lambda xml: xml.replace(b"</sst>", filler * 4_000 + b"</sst>")})
    return [
        ("xfd.xlsx", "xfd.xlsx, sheet 'Commercials': the sheet holds cells up to XFD1048576, beyond column AD"),
        ("far.xlsx", "far.xlsx, sheet 'Commercials': the sheet says it holds rows down to 1,048,576 (A1:AC1048576)"),
        ("xfd_undeclared.xlsx", "xfd_undeclared.xlsx, sheet 'Commercials', cell XFD1048576: a cell beyond column AD"),
        ("far_undeclared.xlsx", "far_undeclared.xlsx, sheet 'Commercials', row 1,048,576: a cell 1,048,554 blank rows"),
        ("far_understated.xlsx", "far_understated.xlsx, sheet 'Commercials', row 1,048,576: the sheet has rows past "
                                 "the 21 its dimension says it holds"),
        ("strings.xlsx", "strings.xlsx: the shared-strings table unpacks from"),
    ]


def test_workbooks_that_claim_too_much_are_refused_unread_and_change_nothing(tmp_path, loaded):
    # A process started from pytest inherits pytest's own peak (Linux keeps it across exec): the
    # reference is the same command refusing a plainly wrong file.
    cases = hostile_cases(tmp_path)
    (tmp_path / "notes.xlsx").write_text("not a workbook\n")
    _, _, reference_mb = cli_with_peak(tmp_path / "notes.xlsx", "--db", loaded)
    before = content_digest(loaded)
    for name, message in cases:
        assert (tmp_path / name).stat().st_size < 40_000, name
        summary = tmp_path / f"{name}.json"
        code, out, peak_mb = cli_with_peak(tmp_path / name, "--db", loaded, "--summary-json", summary)
        last = out.strip().splitlines()[-1]
        assert code == 1, (name, out)
        assert last.startswith(f"Import failed: {message}"), (name, last)
        assert json.loads(summary.read_text()) == {"status": "FAILED", "message": last}
        assert peak_mb < reference_mb + 60, (name, peak_mb, reference_mb)   # refused before anything loads
        assert content_digest(loaded) == before, name


def test_an_xml_bound_set_lower_refuses_a_bigger_workbook(tmp_path, loaded):
    write_sample(tmp_path / "log.xlsx", rows=3000, months="Nov-26", seed=3)   # about 2.6 MB of XML
    env = dict(os.environ, CTVDB_MAX_XML_MB="1")
    done = cli(tmp_path / "log.xlsx", "--db", loaded, env=env)
    assert done.returncode == 1
    assert re.search(r"Import failed: log\.xlsx: (sheet 'Commercials' \(xl/worksheets/sheet1\.xml\) )?unpacks to "
                     r"\d MB, more than the 1 MB a workbook may \(CTVDB_MAX_XML_MB\)", done.stdout), done.stdout


def test_a_formula_with_no_saved_value_is_a_rejected_cell_not_a_zero(tmp_path, database):
    """openpyxl writes formulas without their values; calamine reads them as empty cells, which
    imported as gross 0.00 with nothing rejected."""
    rows = month_rows(NOV, 1000)
    formula_rows = list(range(40, 1000, 125))                    # 8 rows: under the 1 % allowed
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Commercials"
    sheet.append(HEADER)
    for index, row in enumerate(rows):
        cells = row.cells()
        if index in formula_rows:
            cells[15] = f"={row.gross}*1"
        sheet.append(cells)
    book.save(tmp_path / "formulas.xlsx")
    result = run(database, tmp_path / "formulas.xlsx", mode="manual")
    kept = [row for index, row in enumerate(rows) if index not in formula_rows]
    assert len(formula_rows) == 8 and result.rows_rejected == 8
    assert [(r.row_number, r.column_name, r.value, r.reason) for r in result.rejected] == [
        (index + 2, "P Unit rate Gross", f"={rows[index].gross}*1",
         "formula with no saved value: open the workbook in Excel and save it") for index in formula_rows]
    lost = sum(rows[index].gross for index in formula_rows)
    assert lost > 0
    assert query(database, "SELECT count(*), round(sum(gross_rate), 2) FROM spots") == \
        [(len(kept), round(sum(row.gross for row in kept), 2))]


def test_a_formula_whose_value_was_saved_imports_that_value(tmp_path, database):
    source = write(tmp_path / "plain.xlsx", {"Commercials": month_rows(NOV, 5)})
    # As Excel saves a formula: the formula and its cached value, here for P2 (gross 50.0).
    rewrite(source, tmp_path / "saved.xlsx", {"xl/worksheets/sheet1.xml": lambda xml: re.sub(
        rb'<c r="P2"([^>]*)><v>50</v></c>', rb'<c r="P2"\1><f>25*2</f><v>50</v></c>', xml)})
    assert b"<f>25*2</f>" in zipfile.ZipFile(tmp_path / "saved.xlsx").read("xl/worksheets/sheet1.xml")
    result = run(database, tmp_path / "saved.xlsx", mode="manual")
    assert (result.rows_imported, result.rows_rejected) == (5, 0)
    assert query(database, "SELECT round(sum(gross_rate), 2) FROM spots") == \
        [(round(sum(r.gross for r in month_rows(NOV, 5)), 2),)]


def test_one_renamed_sheet_imports_with_a_warning_several_are_refused(tmp_path, loaded):
    write(tmp_path / "one.xlsx", {"Export 1": month_rows(DEC, 6)})
    done = cli(tmp_path / "one.xlsx", "--db", loaded, "--summary-json", tmp_path / "one.json",
               env=dict(os.environ, CTVDB_IMPORT_CLOCK="2026-12-02"))
    assert done.returncode == 0, done.stdout
    warning = ("one.xlsx: no sheet has a known name ('Commercials', 'Worldlink Lines', 'Add to booked business', "
               "'Pending', 'Data'); imported its only sheet, 'Export 1'")
    summary = json.loads((tmp_path / "one.json").read_text())
    assert summary["status"] == "COMPLETED" and summary["warnings"] == [warning]
    assert warning in done.stdout.strip().splitlines()[-1]
    assert spots_and_gross(loaded, 202612) == (6, round(sum(r.gross for r in month_rows(DEC, 6)), 2))

    before = content_digest(loaded)
    write(tmp_path / "several.xlsx", {"Export 1": month_rows(NOV, 3), "Export 2": month_rows(NOV, 3)})
    done = cli(tmp_path / "several.xlsx", "--db", loaded)
    assert done.returncode == 1
    assert done.stdout.strip().splitlines()[-1] == (
        "Import failed: several.xlsx: none of its sheets ('Export 1', 'Export 2') has a name the import looks for "
        "('Commercials', 'Worldlink Lines', 'Add to booked business', 'Pending', 'Data'): rename the sheet to "
        "import, or remove the others")
    assert content_digest(loaded) == before


def test_a_missing_sheet_part_is_said_in_words(tmp_path, loaded):
    source = write(tmp_path / "log.xlsx", {"Commercials": month_rows(NOV, 5)})
    rewrite(source, tmp_path / "hollow.xlsx", {"xl/worksheets/sheet1.xml": None})
    done = cli(tmp_path / "hollow.xlsx", "--db", loaded)
    assert done.returncode == 1
    assert done.stdout.strip().splitlines()[-1] == (
        "Import failed: hollow.xlsx, sheet 'Commercials': the sheet's data (xl/worksheets/sheet1.xml) is missing "
        "from the file; the workbook is damaged: open it in Excel and save it again")


def test_a_symlink_to_the_database_meets_the_same_import_lock(tmp_path, loaded):
    write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 5)})
    (tmp_path / "other").mkdir()
    link = tmp_path / "other" / "same.db"
    link.symlink_to(loaded)
    before = content_digest(loaded)
    with importer.import_lock(loaded):
        done = cli(tmp_path / "a.xlsx", "--db", link)
    assert done.returncode == 1 and "another import is running" in done.stdout
    assert content_digest(loaded) == before


def test_a_running_batch_of_a_live_import_is_never_marked_interrupted(tmp_path, loaded):
    """Even when the lock is free (the same file reached from another mount namespace), a RUNNING
    batch whose import process is alive is left alone; one whose process is gone is cleaned."""
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ctvdb.import"])
    try:
        conn = sqlite3.connect(loaded)
        conn.executemany("INSERT INTO import_batches (mode, source_file, status, started_at, pid) "
                         "VALUES ('daily', 'x.xlsx', 'RUNNING', '2026-11-15T04:30:00Z', ?)", [(alive.pid,), (1 << 22,)])
        conn.commit()
        conn.close()
        write(tmp_path / "a.xlsx", {"Commercials": month_rows(NOV, 5)})
        result = run(loaded, tmp_path / "a.xlsx")
        statuses = query(loaded, "SELECT pid, status FROM import_batches WHERE source_file = 'x.xlsx' ORDER BY id")
        assert statuses == [(alive.pid, "RUNNING"), (1 << 22, "FAILED")]
        assert len(result.stale_batches_cleaned) == 1
    finally:
        alive.kill()
        alive.wait()


def test_a_trade_row_with_no_air_date_is_excluded_as_trade_not_rejected(tmp_path, database):
    """Trade is barter and never stored, so what else its row lacks does not matter: it must
    not count towards the 1 % rejected limit (six such rows in 157 would fail the import)."""
    paid = month_rows(NOV, 150)
    trade = [Row(revenue_type="Trade", gross=900.0, air_date=None, line=901),
             Row(revenue_type="Trade", gross=800.0, air_date="", line=902),
             Row(revenue_type="trade ", gross=700.0, air_date="not a date", line=903),
             Row(revenue_type="Trade", gross=600.0, air_date="#REF!", line=904),     # an Excel error cell
             Row(revenue_type="Trade", gross=500.0, air_date=None, month="", line=905),
             Row(revenue_type="Trade", gross=400.0, line=906)]
    broken = [Row(gross=123.0, air_date=None, line=907)]                           # not Trade: rejected
    write(tmp_path / "log.xlsx", {"Commercials": paid + trade + broken})
    result = run(database, tmp_path / "log.xlsx", mode="manual")

    assert result.status == "COMPLETED"
    batch = query(database, "SELECT rows_trade, rows_rejected, rows_imported FROM import_batches WHERE id = ?",
                  result.batch_id)[0]
    assert batch == (len(trade), len(broken), len(paid))
    assert query(database, "SELECT row_number, column_name FROM rejected_rows") == [(2 + len(paid) + len(trade), "B Start Date")]
    assert spots_and_gross(database, 202611) == (len(paid), round(sum(r.gross for r in paid), 2))
