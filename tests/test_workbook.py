"""The workbook reader cuts a big sheet's XML into parts that load in parallel: whatever the part
size, the rows, their numbers and the error cells must be exactly those of calamine's own read
of the whole sheet."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import zipfile

import pytest
import python_calamine

from ctvdb import importer, sample, workbook
from xlsx_rows import Row, month_rows, write

NOV = dt.date(2026, 11, 1)


def whole_sheet(path, name) -> list[list]:
    """calamine's read of the whole sheet, the way the reader worked before it cut sheets up."""
    return python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python(
        skip_empty_area=False)


@pytest.fixture
def gappy_workbook(tmp_path):
    """Blank rows (no <row> element at all) in runs, a row that stops at column C, a #REF! cell,
    shared strings and dates: 400 rows on Commercials, 30 on a second sheet."""
    rows: list = []
    for n, row in enumerate(month_rows(NOV, 400)):
        rows.append(row)
        if n % 37 == 5:
            rows.extend([None] * (1 + n % 4))
        if n == 200:
            rows.append(["Totals", None, 12345.0])
    rows[150] = list(Row(line=7).cells())
    rows[150][15] = "#REF!"
    return write(tmp_path / "gappy.xlsx", {"Commercials": rows, "Worldlink Lines": month_rows(NOV, 30)})


@pytest.mark.parametrize("part_bytes", [700, 4096, 50_000, 1 << 30])
def test_parts_hold_exactly_the_rows_of_a_whole_sheet_read(gappy_workbook, monkeypatch, part_bytes):
    monkeypatch.setattr(workbook, "PART_BYTES", part_bytes)
    with workbook.Workbook.open(gappy_workbook) as book:
        parts = list(book.parts())
    if part_bytes == 700:
        assert len([p for p in parts if p.sheet == "Commercials"]) > 50
    for name in ("Commercials", "Worldlink Lines"):
        whole = whole_sheet(gappy_workbook, name)[1:]
        mine = [p for p in parts if p.sheet == name]
        assert mine[0].first_row_number == 2
        for before, after in zip(mine, mine[1:]):   # consecutive, no row lost or repeated
            assert after.first_row_number == before.first_row_number + len(before.rows)
        rows = [row for part in mine for row in part.rows]
        assert len(rows) == len(whole)
        for number, (got, expected) in enumerate(zip(rows, whole), start=2):
            expected = expected + [""] * (len(got) - len(expected))
            if name == "Commercials" and number == 152:   # rows[150], below the header
                assert got[15] == "#REF!" and expected[15] in ("", "#REF!")
                got, expected = got[:15] + got[16:], expected[:15] + expected[16:]
            assert got == expected, f"{name} row {number}"
    errors = [(p.sheet, p.first_row_number + i, e) for p in parts for i, e in p.errors.items()]
    assert errors == [("Commercials", 152, (15, "#REF!", "Excel error value #REF!"))]


def test_the_sheet_order_and_layout_errors_are_those_of_a_whole_read(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "PART_BYTES", 2048)
    bad = ["Bill Code", "Start Date"] + [f"x{i}" for i in range(27)]
    write(tmp_path / "bad.xlsx", {"Commercials": month_rows(NOV, 80), "Pending": [Row()]}, header=bad)
    with workbook.Workbook.open(tmp_path / "bad.xlsx") as opened, pytest.raises(workbook.WorkbookError) as caught:
        list(opened.parts())
    assert str(caught.value).startswith("bad.xlsx, sheet 'Commercials', row 1, column C: expected header 'End Date'")


@pytest.mark.parametrize("part_bytes", [3000, 1 << 30])
def test_a_messy_sample_imports_the_same_whatever_the_part_size(tmp_path, monkeypatch, part_bytes):
    """Row numbers of rejected rows, every stored spot and every count: cut into ~300 parts
    against read in one piece, and the sample's own record of what it wrote."""
    info = sample.write_sample(tmp_path / "messy.xlsx", rows=3000, months="Oct-26..Nov-26", seed=4, messy=True)
    results = {}
    for label, size in (("one piece", 1 << 30), ("parts", part_bytes)):
        monkeypatch.setattr(workbook, "PART_BYTES", size)
        database = tmp_path / f"{label}-{size}.db"
        result = importer.import_workbook(database, tmp_path / "messy.xlsx", mode="manual", auto_setup=True)
        with sqlite3.connect(database) as conn:
            spots = conn.execute("SELECT sheet, row_number, bill_code, air_date, gross_rate, station_net, "
                                 "broadcast_month, ae, revenue_type, market_code FROM spots ORDER BY sheet, row_number").fetchall()
        results[label] = (result.rows_read, result.rows_ignored, result.rows_trade,
                          [(r.sheet, r.row_number, r.column, r.reason) for r in result.rejected], spots)
    assert results["parts"] == results["one piece"]
    rows_read, ignored, trade, rejected, spots = results["parts"]
    assert rows_read == info.rows + info.blank_rows + info.totals_rows
    assert ignored == info.blank_rows + info.totals_rows
    assert trade == info.trade_rows and len(rejected) == info.rejected_rows_expected == 2
    assert len(spots) == sum(n for _, n in info.spots_by_month)
    assert any(reason.startswith("Excel error value") for *_, reason in rejected)


def rewrite_sheets(source, target, edit) -> None:
    """Copy an xlsx, passing every worksheet's XML through `edit`."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item, edit(data) if item.filename.startswith("xl/worksheets/sheet") else data)


@pytest.mark.parametrize("kind", ["positional rows", "prefixed tags"])
def test_sheets_that_cannot_be_cut_are_read_whole(tmp_path, monkeypatch, kind):
    """Rows without their r= number are placed by position, which a part would restart at row
    1; tags with a namespace prefix are not found by the cutter. Both are read whole."""
    monkeypatch.setattr(workbook, "PART_BYTES", 2048)
    write(tmp_path / "plain.xlsx", {"Commercials": month_rows(NOV, 60), "Worldlink Lines": month_rows(NOV, 25)})
    if kind == "positional rows":
        edit = lambda xml: re.sub(rb' r="[A-Z]*\d+"', b"", xml)
    else:
        edit = lambda xml: re.sub(rb"<(/?)(\w+)", rb"<\1x:\2", xml).replace(
            b"<x:worksheet xmlns=", b"<x:worksheet xmlns:x=")
    rewrite_sheets(tmp_path / "plain.xlsx", tmp_path / "odd.xlsx", edit)
    with zipfile.ZipFile(tmp_path / "odd.xlsx") as check:
        assert (b'<row r="' in check.read("xl/worksheets/sheet1.xml")) is False
    with workbook.Workbook.open(tmp_path / "odd.xlsx") as book:
        parts = list(book.parts())
    # Both sheets whole, loaded at the same time by the two loader threads.
    assert [(p.sheet, len(p.rows)) for p in parts] == [("Commercials", 60), ("Worldlink Lines", 25)]
    for part in parts:
        assert part.rows == whole_sheet(tmp_path / "odd.xlsx", part.sheet)[1:]


def test_a_big_shared_strings_table_means_whole_sheets(tmp_path, monkeypatch):
    """Each part would parse and hold its own copy of the table: above MAX_SHARED_STRINGS the
    sheets are read whole, with the same rows. (The sample writer uses a shared-strings table;
    openpyxl writes its strings inline.)"""
    path = sample.write_sample(tmp_path / "log.xlsx", rows=600, months="Nov-26", seed=5).path
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size > 1000
    monkeypatch.setattr(workbook, "PART_BYTES", 2048)
    monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", 1000)
    with workbook.Workbook.open(path) as book:
        assert book.part_bytes == 0
        parts = list(book.parts())
    assert [p.sheet for p in parts] == list(workbook.IMPORTABLE_SHEETS)   # one part per sheet
    monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", 1 << 30)
    with workbook.Workbook.open(path) as book:
        assert book.part_bytes == 2048
        cut = list(book.parts())
    assert len(cut) > 20
    for name in workbook.IMPORTABLE_SHEETS:
        assert [r for p in parts if p.sheet == name for r in p.rows] == \
            [r for p in cut if p.sheet == name for r in p.rows]


def test_a_damaged_sheet_in_an_intact_zip_is_one_clear_error_and_changes_nothing(tmp_path):
    """The zip directory and workbook.xml are fine (calamine opens it), but the middle of the
    Commercials sheet's compressed data is overwritten."""
    info = sample.write_sample(tmp_path / "log.xlsx", rows=3000, months="Nov-26", seed=2)
    data = bytearray(info.path.read_bytes())
    with zipfile.ZipFile(info.path) as archive:
        member = archive.getinfo("xl/worksheets/sheet1.xml")
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)
    middle = start + member.compress_size // 2
    data[middle:middle + 64] = bytes(range(64))
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(bytes(data))
    database = tmp_path / "a.db"
    importer.import_workbook(database, info.path, mode="manual", auto_setup=True)
    with sqlite3.connect(database) as conn:
        before = conn.execute("SELECT count(*), total(gross_rate) FROM spots").fetchone()
    with pytest.raises(importer.ImportFailed) as caught:
        importer.import_workbook(database, damaged, mode="manual")
    message = str(caught.value)
    assert message.startswith("damaged.xlsx, sheet 'Commercials': not a readable .xlsx workbook (")
    assert "\n" not in message
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*), total(gross_rate) FROM spots").fetchone() == before
        assert conn.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 1


def test_a_sheet_read_whole_still_has_its_error_cells(tmp_path, monkeypatch):
    """calamine reads #REF! as ''; a sheet loaded whole (here: a big shared-strings table) is
    scanned for error cells like a part, so the #REF! row is still rejected."""
    info = sample.write_sample(tmp_path / "messy.xlsx", rows=2000, months="Nov-26", seed=6, messy=True)
    results = {}
    for label, limit in (("parts", 1 << 30), ("whole", 0)):
        monkeypatch.setattr(workbook, "MAX_SHARED_STRINGS", limit)
        result = importer.import_workbook(tmp_path / f"{label}.db", info.path, mode="manual", auto_setup=True)
        results[label] = [(r.sheet, r.row_number, r.column, r.reason) for r in result.rejected]
    assert results["whole"] == results["parts"]
    assert len(results["whole"]) == info.rejected_rows_expected == 2
    assert any(reason == "Excel error value #REF!" for *_, reason in results["whole"])
