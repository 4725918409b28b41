"""The sample Commercial Log: layout, types, mixes, determinism, messy counts, the command."""

import shutil
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from xlsx_rows import HEADER
from ctvdb.sample import month_range, parse_month_label, parse_months, write_sample

SHEETS = ["Commercials", "Worldlink Lines", "Add to booked business", "Pending"]
MARKETS = {"SEA", "SFO", "LAX", "NYC", "HOU", "DAL", "CVC", "CMP", "CHI", "MSP", "WDC", "MMT", "ADMIN"}
LANGUAGES = {"E", "M", "C", "M/C", "T", "V", "K", "J", "SA", "P", "Hm", "HM", "EN", "ENG", "L"}
GROSS, MONTH, START, TYPE, LANGUAGE, MARKET = 15, 18, 1, 13, 9, 28


def openpyxl_rows(path) -> dict[str, list[tuple]]:
    """Every sheet as rows of cells (read-only mode, as an importer would)."""
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows()] for ws in wb.worksheets}
    finally:
        wb.close()


def calamine_rows(path) -> dict[str, list[list]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in wb.sheet_names}


def data_rows(rows_by_sheet) -> list[list]:
    """Values of every data row (header dropped) over all sheets."""
    return [[c.value for c in row] for rows in rows_by_sheet.values() for row in rows[1:]]


def calamine_data(path) -> list[list]:
    """Values of every data row over all sheets, read fast; None for an empty cell."""
    return [[None if v == "" else v for v in row]
            for rows in calamine_rows(path).values() for row in rows[1:]]


def is_blank(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def broadcast_span(month_start: date) -> tuple[date, date]:
    """Monday on or before the 1st, to the last Sunday of the month."""
    first = month_start.replace(day=1)
    last_day = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return first - timedelta(days=first.weekday()), last_day - timedelta(days=(last_day.weekday() + 1) % 7)


def test_month_labels_and_ranges():
    assert parse_month_label("Nov-26") == 202611
    assert parse_month_label(" jan-22 ") == 202201
    assert month_range("Nov-25..Feb-26") == [202511, 202512, 202601, 202602]
    assert len(month_range("Jan-22..Dec-26")) == 60
    assert parse_months("Dec-26,Nov-26, Nov-26") == [202611, 202612]
    assert parse_months(["Jan-22..Feb-22", "Dec-21"]) == [202112, 202201, 202202]
    for bad in ("November-26", "Nov-2026", "Nox-26", "Dec-26..Jan-26", ""):
        with pytest.raises(ValueError):
            parse_months(bad)


def test_four_sheets_with_the_header_in_openpyxl_and_calamine(tmp_path):
    info = write_sample(tmp_path / "log.xlsx", rows=300, months="Nov-26,Dec-26", seed=3)
    by_openpyxl = openpyxl_rows(info.path)
    by_calamine = calamine_rows(info.path)
    assert list(by_openpyxl) == SHEETS
    assert list(by_calamine) == SHEETS
    for name in SHEETS:
        assert [c.value for c in by_openpyxl[name][0]] == HEADER
        assert by_calamine[name][0] == HEADER
        assert all(len(row) == 29 for row in by_calamine[name])
    counts = {name: len(rows) - 1 for name, rows in by_calamine.items()}
    assert counts == dict(info.rows_by_sheet) == {
        "Commercials": 264, "Worldlink Lines": 24, "Add to booked business": 6, "Pending": 6}
    assert sum(counts.values()) == info.rows == 300
    assert info.months == [202611, 202612]


def test_cells_have_excel_types_and_formats(tmp_path):
    info = write_sample(tmp_path / "log.xlsx", rows=200, months="Nov-26", seed=1)
    rows = openpyxl_rows(info.path)["Commercials"][1:]
    for row in rows:
        month = row[MONTH]
        assert isinstance(month.value, datetime) and month.value.day == 1, month.value
        assert month.number_format == "mmm-yy"
        assert isinstance(row[START].value, datetime) and row[2].value == row[START].value
        assert row[3].value == row[START].value.strftime("%A")
        assert isinstance(row[4].value, time) and isinstance(row[5].value, time)
        assert isinstance(row[GROSS].value, (int, float)) and isinstance(row[21].value, (int, float))
    lengths = [row[6] for row in rows if row[6].value is not None]
    assert all(c.number_format == "h:mm:ss" for c in lengths)
    assert time(0, 0, 30) in {c.value for c in lengths}
    by_calamine = calamine_rows(info.path)["Commercials"][1:]
    assert {row[MONTH] for row in by_calamine} == {date(2026, 11, 1)}
    assert {row[6] for row in by_calamine} >= {time(0, 0, 30), time(0, 0, 15), time(0, 1)}


def test_same_seed_same_file_other_seed_other_values(tmp_path):
    a = write_sample(tmp_path / "a.xlsx", rows=400, months="Jan-26..Mar-26", seed=7, messy=True)
    b = write_sample(tmp_path / "b.xlsx", rows=400, months="Jan-26..Mar-26", seed=7, messy=True)
    c = write_sample(tmp_path / "c.xlsx", rows=400, months="Jan-26..Mar-26", seed=8, messy=True)
    assert a.path.read_bytes() == b.path.read_bytes()
    assert calamine_rows(a.path) == calamine_rows(b.path)
    assert calamine_rows(a.path) != calamine_rows(c.path)
    assert (a.trade_rows, a.spots_by_month, a.messy_cells) == (b.trade_rows, b.spots_by_month, b.messy_cells)


def test_messy_extras_are_where_the_counts_say(tmp_path):
    info = write_sample(tmp_path / "messy.xlsx", rows=2000, months="Nov-26,Dec-26", seed=5, messy=True)
    assert (info.blank_rows, info.totals_rows, info.rejected_rows_expected) == (3, 1, 2)
    assert info.accepted_rows == 1998 and info.spots_expected == 1998 - info.trade_rows
    sheets = openpyxl_rows(info.path)
    values = data_rows(sheets)
    blank = [v for v in values if is_blank(v)]
    totals = [v for v in values if not is_blank(v) and v[0] is None and "Total" in v]
    data = [v for v in values if not is_blank(v) and v[0] is not None]
    assert (len(blank), len(totals), len(data)) == (3, 1, 2000)
    assert sum(1 for v in blank if any(isinstance(x, str) for x in v)) == 1  # whitespace only
    assert isinstance(totals[0][GROSS], float) and totals[0][GROSS] > 0

    error_cells = [(c.coordinate, c.value) for rows in sheets.values()
                   for row in rows for c in row if c.data_type == "e"]
    assert len(error_cells) == 1 and error_cells[0][1] == "#REF!" and error_cells[0][0].startswith("P")

    def air_date_parses(value) -> bool:
        if isinstance(value, datetime):
            return True
        for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
            try:
                datetime.strptime(value.strip(), fmt)
                return True
            except ValueError:
                pass
        return False

    assert sum(1 for v in data if not air_date_parses(v[START])) == 1
    cells = dict(info.messy_cells)
    assert sum(1 for v in data if isinstance(v[START], str)) == cells["us_text_date"] + cells["iso_text_date"] + 1
    assert sum(1 for v in data if isinstance(v[MONTH], str)) == cells["text_month"] > 0
    assert {v[MONTH] for v in data if isinstance(v[MONTH], str)} == {"Nov-26", "Dec-26"}
    assert sum(1 for v in data if isinstance(v[GROSS], str)) == cells["text_amount"] + 1  # + "#REF!"
    assert any(isinstance(v[GROSS], str) and "," in v[GROSS] for v in data)
    assert sum(1 for v in data if v[26] in ("Yes", "No")) == cells["yes_no_affidavit"] > 0
    assert any(v[TYPE] == " com " for v in data) and any(v[MARKET] == "sea" for v in data)
    assert any(v[LANGUAGE] in (" m ", "m") for v in data)
    # python-calamine 0.9 turns error cells into "" (an importer using it sees a blank gross).
    assert sum(1 for r in calamine_data(info.path) if r[0] and r[0].strip() and r[GROSS] is None) == 1


def test_a_clean_file_has_no_messy_extras(tmp_path):
    info = write_sample(tmp_path / "clean.xlsx", rows=1500, months="Jan-26..Jun-26", seed=2)
    assert (info.blank_rows, info.totals_rows, info.rejected_rows_expected) == (0, 0, 0)
    values = data_rows(openpyxl_rows(info.path))
    assert len(values) == 1500 and not any(is_blank(v) for v in values)
    assert all(isinstance(v[START], datetime) and isinstance(v[MONTH], datetime) for v in values)
    assert {v[LANGUAGE] for v in values} - {None} == LANGUAGES
    assert {v[MARKET] for v in values} == MARKETS
    assert {v[TYPE] for v in values} - {None} == {"Com", "BNS", "BB", "SVC", "PRD", "PKG", "CRD", "PRG", "AV"}


def test_codes_and_business_mixes(tmp_path):
    info = write_sample(tmp_path / "log.xlsx", rows=6000, months="Jan-22..Dec-26", seed=11)
    values = calamine_data(info.path)
    assert {v[MARKET] for v in values} == MARKETS
    assert {v[LANGUAGE] for v in values} - {None} == LANGUAGES
    assert {v[23] for v in values} >= {"Internal Ad Sales", "A&O", "Local", "Direct Response Sales",
                                       "Paid Programming", "Branded Content", "Services", "Other", "Trade"}
    assert sum(1 for v in values if v[23] == "Trade") == info.trade_rows > 0
    codes = {v[0] for v in values}
    assert {"Admerasia:McDonald's", "IW Group:McDonald's"} <= codes
    assert any("Phở Hòa" in c for c in codes) and any("金山 Travel" in c for c in codes)
    assert {c.count(":") for c in codes} == {0, 1, 2}
    customers_by_agency = {}
    for code in codes:
        agency, _, customer = code.rpartition(":")
        customers_by_agency.setdefault(customer, set()).add(agency.split(":")[0])
    assert sum(1 for agencies in customers_by_agency.values() if len(agencies) > 1) >= 3
    assert 150 <= len(customers_by_agency) <= 320
    worldlink = calamine_rows(info.path)["Worldlink Lines"][1:]
    assert worldlink and all(v[0].startswith(("WorldLink:", "WorldLink ")) for v in worldlink)
    assert {v[22] for v in worldlink} == {"House"} and {v[23] for v in worldlink} == {"Direct Response Sales"}
    assert {v[22] for v in values} - {"House"} and len({v[22] for v in values}) == 11
    for v in values:
        gross, broker, net = v[GROSS], v[19] or 0, v[21]
        if v[TYPE] == "BNS":
            assert gross == 0
        if v[TYPE] == "CRD":
            assert gross < 0
        assert v[25] == ("Agency" if ":" in v[0] else "Non-agency")
        assert abs(net - (gross * (0.85 if v[25] == "Agency" else 1) - broker)) < 0.011, v
    assert sum(1 for v in values if v[19]) > 50


def test_air_dates_lie_in_the_broadcast_month(tmp_path):
    info = write_sample(tmp_path / "log.xlsx", rows=3000, months="Jan-25..Dec-26", seed=4)
    values = calamine_data(info.path)
    early = 0
    for v in values:
        first, last = broadcast_span(v[MONTH])
        assert first <= v[START] <= last, (v[START], v[MONTH])
        early += v[START].month != v[MONTH].month
    assert early > 0  # some spots of a month air in the last days of the previous month
    assert {v[MONTH] for v in values} == {date(m // 100, m % 100, 1) for m in info.months}
    assert len(info.months) == 24
    spots = {m: 0 for m in info.months}
    for v in values:
        if v[23] != "Trade":
            spots[v[MONTH].year * 100 + v[MONTH].month] += 1
    assert tuple(spots.items()) == info.spots_by_month and sum(spots.values()) == info.spots_expected


def test_the_sample_command_writes_the_file(tmp_path):
    out = tmp_path / "cmd.xlsx"
    uv = shutil.which("uv")
    command = [uv, "run", "ctvdb"] if uv else [sys.executable, "-m", "ctvdb"]
    done = subprocess.run(
        command + ["sample", str(out), "--rows", "500", "--months", "Nov-26,Dec-26", "--seed", "9", "--messy"],
        capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout and "500 rows" in done.stdout and "seed 9" in done.stdout
    again = write_sample(tmp_path / "api.xlsx", rows=500, months="Nov-26,Dec-26", seed=9, messy=True)
    assert out.read_bytes() == again.path.read_bytes()
    bad = subprocess.run(command + ["sample", str(out), "--months", "Nov-2026"],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert bad.returncode == 2 and "Nov-2026" in bad.stderr
