"""Budgets and forecasts (ctvdb/planning.py, issue 13): each save with its history row, stale cells
refused and named while the others are saved, every bad input one sentence with nothing saved,
the pasted block, a month's forecasts as they stood at the end of a Pacific day, and the CSV loads
(`ctvdb budgets load` keeps history now, `ctvdb forecasts load` is new). Times are set by the
test; expected figures are the amounts the test entered."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date

import pytest

from ctvdb import changes, db, months, planning
from ctvdb.planning import Edit, PlanError
from ctvdb.web import reference

LINDA, OMAR = "LINDA PARK", "OMAR DIAZ"


@pytest.fixture
def conn(tmp_db):
    """A new database that knows two AEs (they have budgets for January 2027)."""
    conn = db.connect(tmp_db)
    conn.execute("INSERT INTO budgets (ae, broadcast_month, amount) VALUES (?, 202701, 1000), (?, 202701, 2000)",
                 (LINDA, OMAR))
    yield conn
    conn.close()


@pytest.fixture
def clock(monkeypatch):
    """clock(iso) sets the UTC time the next change is recorded at."""
    def set_to(iso: str) -> None:
        monkeypatch.setattr(changes, "utc_now", lambda: iso)
    return set_to


def cells(conn, table="forecasts") -> dict:
    return {(ae, m): a for ae, m, a in conn.execute(f"SELECT ae, broadcast_month, amount FROM {table}")}


def rows(conn) -> list[tuple]:
    return [tuple(r) for r in conn.execute(
        "SELECT kind, ae, broadcast_month, old_amount, new_amount, changed_by, changed_at, how FROM plan_history ORDER BY id")]


def checksum(conn) -> str:
    return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()


def test_a_save_stores_the_cells_and_one_history_row_for_each_change(conn, clock):
    clock("2027-01-10T18:00:00Z")
    outcome = planning.save(conn, "Ana@Example.com", "forecast",
                            [Edit(LINDA, 202703, 12000.0), Edit(OMAR, 202703, 8000.5)], "web")
    assert outcome.saved == 2 and outcome.refused == [] and outcome.sentence() == "Saved 2 forecast cells."
    clock("2027-01-11T18:00:00Z")
    planning.save(conn, "bo@example.com", "forecast", [Edit(LINDA, 202703, 15000.0), Edit(OMAR, 202703, 8000.5)], "paste")
    assert cells(conn) == {(LINDA, 202703): 15000.0, (OMAR, 202703): 8000.5}
    # Omar's unchanged amount wrote nothing; the email is kept lower-cased.
    assert rows(conn) == [
        ("forecast", LINDA, 202703, None, 12000.0, "ana@example.com", "2027-01-10T18:00:00Z", "web"),
        ("forecast", OMAR, 202703, None, 8000.5, "ana@example.com", "2027-01-10T18:00:00Z", "web"),
        ("forecast", LINDA, 202703, 12000.0, 15000.0, "bo@example.com", "2027-01-11T18:00:00Z", "paste")]
    # Clearing a cell removes it, and says so in the history.
    planning.save(conn, "bo@example.com", "budget", [Edit(OMAR, 202701, None, drawn=2000.0)], "web")
    assert cells(conn, "budgets") == {(LINDA, 202701): 1000.0}
    assert rows(conn)[-1][:5] == ("budget", OMAR, 202701, 2000.0, None)


def test_a_cell_changed_since_the_form_was_drawn_is_refused_by_name_and_the_others_are_saved(conn, clock):
    clock("2027-01-10T18:42:00Z")    # 10:42 in Los Angeles
    planning.save(conn, "ana@example.com", "forecast", [Edit(LINDA, 202703, 12000.0)], "web")
    before = rows(conn)
    # Bo's form was drawn before Ana saved: Linda's March showed no forecast.
    outcome = planning.save(conn, "bo@example.com", "forecast",
                            [Edit(LINDA, 202703, 9000.0, drawn=None), Edit(OMAR, 202703, 5000.0, drawn=None),
                             Edit(LINDA, 202704, 700.0, drawn=700.0)], "web")
    assert outcome.saved == 1
    assert outcome.sentence() == ("Saved 1 forecast cell; not saved: Forecast for LINDA PARK, Mar-27 was changed to"
                                  " $12,000.00 by ana@example.com at 10:42 on Jan 10, 2027; reload.")
    assert cells(conn) == {(LINDA, 202703): 12000.0, (OMAR, 202703): 5000.0}
    assert rows(conn)[:-1] == before and rows(conn)[-1][1:5] == (OMAR, 202703, None, 5000.0)


def test_a_pasted_block_is_refused_for_the_cells_changed_after_its_page_was_drawn(conn, clock):
    since = planning.last_change_id(conn)
    planning.save(conn, "ana@example.com", "forecast", [Edit(LINDA, 202703, 12000.0)], "web")
    outcome = planning.save(conn, "bo@example.com", "forecast",
                            [Edit(LINDA, 202703, 1.0), Edit(OMAR, 202703, 2.0)], "paste", since=since)
    assert outcome.saved == 1 and [(r.ae, r.month, r.amount, r.changed_by) for r in outcome.refused] == [
        (LINDA, 202703, 12000.0, "ana@example.com")]
    assert cells(conn) == {(LINDA, 202703): 12000.0, (OMAR, 202703): 2.0}


@pytest.mark.parametrize("text, amount", [("12500", 12500.0), ("$12,500.00", 12500.0), (" 1,234.5 ", 1234.5),
                                          ("$ 7", 7.0), ("0", 0.0), ("", None), ("  ", None)])
def test_amounts_are_read_as_people_type_them(text, amount):
    assert planning.parse_amount(text, "Budget for LINDA PARK, Mar-27") == amount


@pytest.mark.parametrize("text, sentence", [
    ("abc", "Budget for LINDA PARK, Mar-27: “abc” is not an amount like 12,500 or $12,500.00"),
    ("12.345", "Budget for LINDA PARK, Mar-27: “12.345” is not an amount like 12,500 or $12,500.00"),
    ("1,23", "Budget for LINDA PARK, Mar-27: “1,23” is not an amount like 12,500 or $12,500.00"),
    ("-500", "Budget for LINDA PARK, Mar-27: -500 is negative, and an amount cannot be"),
    ("($500)", "Budget for LINDA PARK, Mar-27: ($500) is negative, and an amount cannot be"),
])
def test_a_bad_amount_is_one_sentence_naming_the_cell(text, sentence):
    with pytest.raises(PlanError) as refused:
        planning.parse_amount(text, "Budget for LINDA PARK, Mar-27")
    assert str(refused.value) == sentence


def test_bad_input_saves_nothing_at_all(conn):
    months.close_months(conn, [202701], "accounting")
    planning.save(conn, "ana@example.com", "forecast", [Edit(LINDA, 202702, 10.0)], "web")
    before = checksum(conn)
    cases = [
        ("budget", [Edit(LINDA, 202702, 5.0), Edit("NOBODY", 202702, 5.0)],
         "Budget for NOBODY, Feb-27: there is no AE “NOBODY” in the database"),
        ("budget", [Edit(LINDA, 202702, 5.0), Edit(OMAR, 202701, 2500.0, drawn=2000.0)],
         "Budget for OMAR DIAZ, Jan-27: Jan-27 is closed, so its budget cannot change"),
        ("forecast", [Edit(OMAR, 202702, 5.0), Edit(LINDA, 202702, -1.0)],
         "Forecast for LINDA PARK, Feb-27: -$1.00 is negative, and an amount cannot be"),
    ]
    for kind, edits, sentence in cases:
        with pytest.raises(PlanError) as refused:
            planning.save(conn, "ana@example.com", kind, edits, "web")
        assert str(refused.value) == sentence
        assert checksum(conn) == before
    with pytest.raises(PlanError, match="Say who makes the change"):
        planning.save(conn, " ", "forecast", [Edit(OMAR, 202702, 5.0)], "web")
    # A closed month's forecast may still be entered (only its budget is fixed).
    assert planning.save(conn, "ana@example.com", "forecast", [Edit(OMAR, 202701, 3.0)], "web").saved == 1


def test_a_pasted_block_reads_like_excel_copies_it():
    text = ("AE\tJan\tFeb\tMar\tApr\tMay\tJun\tJul\tAug\tSep\tOct\tNov\tDec\r\n"
            "Linda  Park\t$1,234.50\t\t2000\t\t\t\t\t\t\t\t\t100\r\n"
            "\r\n"
            "omar diaz\t0\t1\t2\t3\t4\t5\t6\t7\t8\t9\t10\t11\r\n")
    edits = planning.parse_paste(text, "forecast", 2027)
    assert [(e.ae, e.month, e.amount) for e in edits[:3]] == [(LINDA, 202701, 1234.5), (LINDA, 202703, 2000.0),
                                                              (LINDA, 202712, 100.0)]
    assert [(e.month, e.amount) for e in edits[3:]] == [(202700 + i, float(i - 1)) for i in range(1, 13)]
    assert len(planning.parse_paste("Linda Park" + "\t5" * 12, "budget", 2027)) == 12   # no header


@pytest.mark.parametrize("text, sentence", [
    ("Linda Park\t1\t2\n\nOmar Diaz" + "\t1" * 13,
     "Line 1 of the pasted budgets has 3 columns; a line is an AE and then 12 months, tab-separated as Excel copies them"),
    ("AE\tJan\nLinda Park" + "\t1" * 12 + "\n\nOmar Diaz 1 2 3",
     "Line 4 of the pasted budgets has 1 column; a line is an AE and then 12 months, tab-separated as Excel copies them"),
    ("Linda Park" + "\t1" * 11 + "\tlots",
     "Line 1, Budget for LINDA PARK, Dec-27: “lots” is not an amount like 12,500 or $12,500.00"),
    ("\t1" * 12, "Line 1 of the pasted budgets names no AE in its first column"),
    ("Linda Park" + "\t" * 12, "The pasted budgets hold no amount"),
])
def test_a_bad_pasted_line_is_named(text, sentence):
    with pytest.raises(PlanError) as refused:
        planning.parse_paste(text, "budget", 2027)
    assert str(refused.value) == sentence


def test_a_month_s_forecasts_as_they_stood_at_the_end_of_a_pacific_day(conn, clock):
    # What did we forecast for March 2027 on 1 February? The end of 1 February in Los Angeles is
    # 2027-02-02T08:00:00Z (PST, UTC−8).
    for at, ae, amount in [("2027-01-05T17:00:00Z", LINDA, 10000.0), ("2027-01-20T17:00:00Z", OMAR, 4000.0),
                           ("2027-02-02T07:59:59Z", LINDA, 11000.0),   # 23:59:59 on 1 Feb: counts
                           ("2027-02-02T08:00:00Z", OMAR, 6000.0),     # midnight starting 2 Feb: does not
                           ("2027-02-10T17:00:00Z", LINDA, None)]:
        clock(at)
        planning.save(conn, f"{ae.split()[0].lower()}@example.com", "forecast", [Edit(ae, 202703, amount)], "web")
    stood = planning.as_of(conn, "forecast", 202703, date(2027, 2, 1))
    assert {ae: v["amount"] for ae, v in stood.items()} == {LINDA: 11000.0, OMAR: 4000.0}
    assert stood[LINDA]["changed_at"] == "2027-02-02T07:59:59Z" and stood[LINDA]["changed_by"] == "linda@example.com"
    assert {ae: v["amount"] for ae, v in planning.as_of(conn, "forecast", 202703, date(2027, 1, 19)).items()} == {
        LINDA: 10000.0}
    assert planning.as_of(conn, "forecast", 202703, date(2027, 1, 4)) == {}
    # Cleared on 10 February: no forecast of Linda's from then on.
    assert {ae: v["amount"] for ae, v in planning.as_of(conn, "forecast", 202703, date(2027, 2, 10)).items()} == {
        OMAR: 6000.0}
    assert [r["new_amount"] for r in planning.history(conn, "forecast", 202703, LINDA)] == [None, 11000.0, 10000.0]
    # Summer time: the end of 1 July is 07:00 UTC the next day.
    assert planning.end_of_day_utc(date(2027, 7, 1)) == "2027-07-02T07:00:00Z"


# The CSV loads and their commands -------------------------------------------------------------

def ctvdb(*args):
    return subprocess.run([sys.executable, "-m", "ctvdb", *map(str, args)], capture_output=True, text=True, timeout=60)


def test_forecasts_load_stores_the_file_with_history_by_whoever_said_so(tmp_db, tmp_path):
    csv = tmp_path / "forecasts.csv"
    csv.write_text("ae,month,amount\nLinda Park,Mar-27,\"$12,000\"\n omar diaz ,2027-03,800.50\nLinda Park,202704,5\n")
    done = ctvdb("--db", tmp_db, "forecasts", "load", csv, "--by", "Lead@Example.com")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Loaded {csv} into {tmp_db}: 3 AE-month forecasts stored."
    conn = db.connect(tmp_db)
    try:
        assert cells(conn) == {(LINDA, 202703): 12000.0, (OMAR, 202703): 800.5, (LINDA, 202704): 5.0}
        assert {(r[1], r[2], r[4], r[5], r[7]) for r in rows(conn)} == {
            (LINDA, 202703, 12000.0, "lead@example.com", "csv"), (OMAR, 202703, 800.5, "lead@example.com", "csv"),
            (LINDA, 202704, 5.0, "lead@example.com", "csv")}
    finally:
        conn.close()
    assert ctvdb("--db", tmp_db, "forecasts", "load", csv).returncode == 2    # --by is required


@pytest.mark.parametrize("line, sentence", [
    ("Linda Park,Mar-27,-5", "line 3, column amount: -5 is negative, and an amount cannot be; nothing was loaded"),
    ("Linda Park,Mar-27,lots", "line 3, column amount: “lots” is not an amount like 12,500 or $12,500.00; nothing was loaded"),
    ("Linda Park,March,5", "line 3, column month: The forecast month “March” is not a month like 2026-11 or Nov-26; nothing was loaded"),
    (",Mar-27,5", "line 3, column ae: the AE is blank; nothing was loaded"),
    ("Linda Park,Mar-27,", "line 3, column amount: the amount is blank; nothing was loaded"),
])
def test_a_bad_forecast_line_is_one_sentence_naming_it_and_nothing_is_loaded(tmp_db, tmp_path, line, sentence):
    csv = tmp_path / "forecasts.csv"
    csv.write_text(f"ae,month,amount\nOmar Diaz,Mar-27,100\n{line}\n")
    done = ctvdb("--db", tmp_db, "forecasts", "load", csv, "--by", "lead@example.com")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().endswith(f"{csv}: {sentence}"), done.stderr
    conn = db.connect(tmp_db)
    try:
        assert cells(conn) == {} and rows(conn) == []
    finally:
        conn.close()


def test_budgets_load_keeps_history_now_and_a_reload_records_only_what_changed(conn, tmp_path, clock):
    csv = tmp_path / "budgets.csv"
    csv.write_text("ae,month,amount\nLinda Park,Jan-27,1000\nLinda Park,Feb-27,1500\n")
    clock("2027-01-02T10:00:00Z")
    assert reference.load_budgets(conn, csv) == 2
    assert rows(conn) == [("budget", LINDA, 202702, None, 1500.0, "ctvdb budgets load", "2027-01-02T10:00:00Z", "csv")]
    csv.write_text("ae,month,amount\nLinda Park,Feb-27,1750\n")
    assert reference.load_budgets(conn, csv, "lead@example.com") == 1
    assert rows(conn)[-1][:6] == ("budget", LINDA, 202702, 1500.0, 1750.0, "lead@example.com")
    # A CSV is the plan as the office keeps it: a closed month and an AE with no spot load.
    months.close_months(conn, [202701], "accounting")
    csv.write_text("ae,month,amount\nNew Hire,Jan-27,300\n")
    assert reference.load_budgets(conn, csv) == 1
    assert cells(conn, "budgets")[("NEW HIRE", 202701)] == 300.0
    assert conn.execute("SELECT count(*) FROM reference_loads WHERE kind = 'budgets'").fetchone()[0] == 3
