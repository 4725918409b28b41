"""New and changed business (issue 13) from small Commercial Logs imported on consecutive days:
what each import keeps (ctvdb/contracts.py) and the three tables of ctvdb/web/queries/business.py.
Every expected figure is summed here from the rows tests/business_logs.py writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from importlib import resources

import pytest

from business_logs import (
    ALICE, ALL, BRANDON, CONTRACTS, COPY_GROSS, COPY_IN, DAY1, DAY2, JAN, NOV, DEC, open_gross, run, spot, workbook,
)
from ctvdb import db
from ctvdb.web.params import Filters
from ctvdb.web.queries import business
from xlsx_rows import write

@pytest.fixture(scope="module")
def two_days(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contracts")
    database = folder / "ctvdb.db"
    db.init(database)
    run(database, workbook(folder / "day1.xlsx", 1), DAY1)
    run(database, workbook(folder / "day2.xlsx", 2), DAY2)
    conn = db.connect_readonly(database)
    yield conn
    conn.close()


# What each import keeps ----------------------------------------------------------------------------

def test_each_day_keeps_every_contract_s_gross_per_open_month(two_days):
    for day, when in ((1, DAY1), (2, DAY2)):
        kept = {(r[0], r[1]): r[2] for r in two_days.execute(
            "SELECT contract, broadcast_month, gross FROM contract_snapshots WHERE snapshot_date = ?",
            (when.isoformat(),))}
        expected = {(c, m.year * 100 + m.month): g for c, spec in CONTRACTS.items()
                    for m, g in spec[1 + day].items() if m >= NOV}
        assert kept == pytest.approx(expected)


def test_a_contract_is_first_seen_on_the_day_of_the_first_import_that_has_it(two_days):
    seen = dict(two_days.execute("SELECT contract, first_seen FROM contracts_seen").fetchall())
    assert seen == {c: (DAY2 if c == "C900" else DAY1).isoformat() for c in CONTRACTS}


def test_a_second_import_the_same_day_replaces_that_day_and_no_other(tmp_path):
    database = tmp_path / "ctvdb.db"
    db.init(database)
    run(database, workbook(tmp_path / "day1.xlsx", 1), DAY1)
    run(database, workbook(tmp_path / "day2.xlsx", 2), DAY2)
    run(database, write(tmp_path / "again.xlsx", {"Commercials": [spot("C100", 50.0, DEC)]}), DAY2)
    conn = db.connect_readonly(database)
    days = defaultdict(dict)
    for day, contract, gross in conn.execute("SELECT snapshot_date, contract, total(gross) FROM contract_snapshots"
                                             " GROUP BY 1, 2"):
        days[day][contract] = gross
    conn.close()
    # Only Dec-26 is in the last workbook: the import keeps day 2's Nov-26 and Jan-27 as they were.
    kept = defaultdict(float, {"C100": 50.0})
    for contract, (_, _, _, booked) in CONTRACTS.items():
        for month, gross in booked.items():
            if month in (NOV, JAN):
                kept[contract] += gross
    assert days[DAY2.isoformat()] == pytest.approx(kept)
    assert days[DAY1.isoformat()] == pytest.approx({c: g for c, g in open_gross(1).items() if g})


def test_a_workbook_imported_out_of_date_order_dates_a_contract_by_its_earliest_day(tmp_path):
    database = tmp_path / "ctvdb.db"
    db.init(database)
    log = write(tmp_path / "log.xlsx", {"Commercials": [spot("C1", 100.0, DEC)]})
    run(database, log, DAY2)
    run(database, log, DAY1)
    run(database, log, DAY2 + dt.timedelta(days=3))
    conn = db.connect_readonly(database)
    assert [tuple(r) for r in conn.execute("SELECT contract, first_seen FROM contracts_seen")] == [("C1", DAY1.isoformat())]
    conn.close()


# Contracts added ---------------------------------------------------------------------------------

def test_the_contract_that_appears_on_day_two_is_the_one_added_in_the_last_day(two_days):
    table = business.contracts_added(two_days, ALL, DAY2, days=1)
    who, bill, _, booked = CONTRACTS["C900"]
    assert [(r["contract"], r["customer"], r["ae"], r["first_month"], r["last_month"], r["spots"], r["gross"])
            for r in table.rows] == [("C900", bill, who.upper(), 202612, 202701, len(booked), sum(booked.values()))]


def test_contracts_added_in_the_window_largest_first_as_booked_when_last_seen(two_days):
    rows = business.contracts_added(two_days, ALL, DAY2).rows      # 15 days: both import days
    # C400 is gone from day 2: it shows what it had when last seen, on day 1.
    last = {c: (g, DAY2) if g else (open_gross(1)[c], DAY1) for c, g in open_gross(2).items()}
    expected = sorted(((c, g, day.isoformat()) for c, (g, day) in last.items()), key=lambda r: -r[1])
    assert [(r["contract"], r["gross"], r["last_seen"]) for r in rows] == expected


def test_the_window_is_the_last_n_days_up_to_today(two_days):
    # A contract first seen exactly N days ago is outside (today − N, today]; a day later, inside.
    assert business.contracts_added(two_days, ALL, DAY2 + dt.timedelta(days=15)).rows == []
    assert [r["contract"] for r in business.contracts_added(two_days, ALL, DAY2 + dt.timedelta(days=14)).rows] \
        == ["C900"]
    assert business.contracts_added(two_days, ALL, DAY1 - dt.timedelta(days=1)).rows == []


# Cancellations and reductions --------------------------------------------------------------------

def test_cut_by_exactly_10_percent_or_exactly_500_is_not_a_reduction_just_over_both_is(two_days):
    rows = business.reductions(two_days, ALL, DAY2).rows
    before, after = open_gross(1), open_gross(2)
    expected = sorted(((c, before[c], after[c], round(after[c] - before[c], 2),
                        round(100 * (after[c] - before[c]) / before[c], 1), "reduced" if after[c] else "cancelled")
                       for c in ("C300", "C400", "C500")), key=lambda r: r[3])
    assert [(r["contract"], r["before"], r["after"], r["change"], r["change_pct"], r["what"]) for r in rows] == expected
    assert [r["contract"] for r in rows] == ["C400", "C500", "C300"]      # biggest drop first
    assert {r["contract"]: (r["customer"], r["ae"]) for r in rows} == {
        c: (CONTRACTS[c][1].rsplit(":")[-1], CONTRACTS[c][0].upper()) for c in ("C300", "C400", "C500")}


def test_the_reduction_rule_at_its_boundaries():
    assert not business.is_reduction(10000, 9000)         # exactly 10 %
    assert business.is_reduction(10000, 8999.99)
    assert not business.is_reduction(2000, 1500)          # exactly $500 (25 %)
    assert business.is_reduction(2000, 1499.99)
    assert business.is_reduction(5000, 4499.99)           # just over both
    assert not business.is_reduction(100000, 94000)       # $6,000 but 6 %
    assert not business.is_reduction(800, 800.01)
    assert business.is_reduction(501, 0)                  # gone entirely
    assert not business.is_reduction(500, 0)


def test_reductions_compare_the_two_latest_import_days_on_or_before_today(two_days):
    assert business.snapshot_days(two_days, DAY2 + dt.timedelta(days=5)) == (DAY2.isoformat(), DAY1.isoformat())
    assert business.snapshot_days(two_days, DAY1) == (DAY1.isoformat(), None)
    assert business.reductions(two_days, ALL, DAY1).rows == []            # one import day: nothing to compare
    assert business.snapshot_days(two_days, DAY1 - dt.timedelta(days=1)) == (None, None)


# Waiting for copy -----------------------------------------------------------------------------------

def test_waiting_for_copy_is_the_next_14_days_any_case_soonest_first(two_days):
    rows = business.waiting_for_copy(two_days, ALL, DAY2).rows
    assert [(r["air_date"], r["media"], r["ae"], r["gross"], r["customer"]) for r in rows] == [
        (air.isoformat(), media, who.upper(), COPY_GROSS, "Tempur Sealy") for air, media, who in COPY_IN]


@pytest.mark.parametrize("who", [None, ALICE.upper()])
def test_the_copy_query_reads_the_copy_index_not_the_spots(two_days, who):
    # A partial index serves a query only when the query repeats its condition word for word; with
    # an AE, SQLite would rather read every spot of the AE through theirs.
    said = []
    two_days.set_trace_callback(said.append)
    try:
        business.waiting_for_copy(two_days, Filters(ae=who), DAY2)
    finally:
        two_days.set_trace_callback(None)
    (query,) = [sql for sql in said if "FROM spots s" in sql]
    plan = " ".join(r[3] for r in two_days.execute("EXPLAIN QUERY PLAN " + query))
    assert "USING INDEX spots_copy" in plan, plan


# An ae's own -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", [ALICE, BRANDON])
def test_an_ae_sees_only_their_own_rows(two_days, who):
    mine = Filters(ae=who.upper())
    added = {r["contract"] for r in business.contracts_added(two_days, mine, DAY2).rows}
    assert added == {c for c, spec in CONTRACTS.items() if spec[0] == who}
    reduced = {r["contract"] for r in business.reductions(two_days, mine, DAY2).rows}
    assert reduced == {c for c in ("C300", "C400", "C500") if CONTRACTS[c][0] == who}
    copy = [r["air_date"] for r in business.waiting_for_copy(two_days, mine, DAY2).rows]
    assert copy == [air.isoformat() for air, _, ae in COPY_IN if ae == who]
    assert {r["ae"] for t in business.new_business(two_days, 15, mine, DAY2).tables for r in t.rows} == {who.upper()}


# A database from before migration 14 -------------------------------------------------------------------

def test_the_migration_counts_the_contracts_already_there_as_seen_so_adoption_does_not_flood_added(tmp_path):
    database = tmp_path / "ctvdb.db"
    db.init(database)
    run(database, write(tmp_path / "a.xlsx", {"Commercials": [spot("A", 1000.0, NOV), spot("B", 2000.0, DEC)]}),
        dt.date(2026, 10, 1), mode="manual")
    run(database, write(tmp_path / "b.xlsx", {"Commercials": [spot("B", 500.0, JAN), spot("C", 700.0, JAN)]}),
        dt.date(2026, 10, 20), mode="manual")
    # As it was before migration 14: the two batches, no contract tables.
    conn = sqlite3.connect(database, isolation_level=None)
    conn.executescript("""
        UPDATE import_batches SET started_at = '2026-10-01T15:00:00Z' WHERE id = 1;
        UPDATE import_batches SET started_at = '2026-10-20T15:00:00Z' WHERE id = 2;
        DROP TABLE contracts_seen; DROP TABLE contract_snapshots; DROP INDEX spots_copy;""")
    conn.executescript(resources.files("ctvdb").joinpath("migrations/0014_contracts.sql").read_text())
    assert dict(conn.execute("SELECT contract, first_seen FROM contracts_seen").fetchall()) == {
        "A": "2026-10-01", "B": "2026-10-01", "C": "2026-10-20"}
    assert dict(conn.execute("SELECT contract, batch_id FROM contracts_seen").fetchall()) == {"A": 1, "B": 1, "C": 2}
    conn.close()
    today = dt.date(2026, 11, 2)   # within 15 days of batch 2: C was first seen then, and is added
    run(database, write(tmp_path / "c.xlsx", {"Commercials": [spot(c, 100.0, DEC) for c in "ABCD"]}), today)
    conn = db.connect_readonly(database)
    assert [r["contract"] for r in business.contracts_added(conn, ALL, today).rows] == ["C", "D"]   # a tie: by number
    assert [r["contract"] for r in business.contracts_added(conn, ALL, today, days=5).rows] == ["D"]
    conn.close()


def test_a_contract_of_a_customer_merged_since_is_shown_with_the_survivor(tmp_path):
    from ctvdb import customers

    database = tmp_path / "ctvdb.db"
    db.init(database)
    run(database, workbook(tmp_path / "day1.xlsx", 1), DAY1)
    run(database, workbook(tmp_path / "day2.xlsx", 2), DAY2)
    conn = db.connect(database)
    ids = dict(conn.execute("SELECT name, id FROM customers").fetchall())
    customers.merge(conn, "manager@example.com", ids["McDonald's"], [ids["Tempur Sealy"]])
    # C400 is in day 1's snapshot only, under the customer merged away
    rows = {r["contract"]: r for r in business.reductions(conn, ALL, DAY2).rows}
    assert (rows["C400"]["customer_id"], rows["C400"]["customer"]) == (ids["McDonald's"], "McDonald's")
    added = {r["contract"]: r["customer_id"] for r in business.contracts_added(conn, ALL, DAY2).rows}
    assert added["C900"] == added["C400"] == ids["McDonald's"]
    conn.close()


def test_a_month_that_ends_between_the_two_days_is_no_drop(tmp_path):
    # Sunday 29 November is the last day of Nov-26; Monday 30 November is in Dec-26.
    database = tmp_path / "ctvdb.db"
    db.init(database)
    log = write(tmp_path / "log.xlsx", {"Commercials": [spot("X", 5000.0, NOV), spot("X", 1000.0, DEC),
                                                       spot("Y", 5000.0, NOV), spot("Y", 1000.0, DEC)]})
    cut = write(tmp_path / "cut.xlsx", {"Commercials": [spot("X", 5000.0, NOV), spot("X", 1000.0, DEC),
                                                       spot("Y", 5000.0, NOV), spot("Y", 499.0, DEC)]})
    run(database, log, dt.date(2026, 11, 29))
    run(database, cut, dt.date(2026, 11, 30))
    conn = db.connect_readonly(database)
    rows = business.reductions(conn, ALL, dt.date(2026, 11, 30)).rows
    conn.close()
    # Only Dec-26 counts on both days: X unchanged; Y 1,000 -> 499 (−$501, −50 %)
    assert [(r["contract"], r["before"], r["after"]) for r in rows] == [("Y", 1000.0, 499.0)]
