"""The report summaries (ctvdb/summaries.py) agree with the spots after every import."""

from __future__ import annotations

import sqlite3

import pytest

from ctvdb import db
from ctvdb.summaries import refresh_all

CHECKS = [
    # (summary query, the same figures straight from the base tables)
    ("SELECT broadcast_month, revenue_type, sum(spots), round(total(gross), 2), round(total(net), 2),"
     " sum(positive_spots), min(min_positive), max(max_positive)"
     " FROM customer_month_summary GROUP BY 1, 2",
     "SELECT broadcast_month, revenue_type, count(*), round(total(gross_rate), 2), round(total(station_net), 2),"
     " count(*) FILTER (WHERE gross_rate > 0), min(gross_rate) FILTER (WHERE gross_rate > 0),"
     " max(gross_rate) FILTER (WHERE gross_rate > 0) FROM spots GROUP BY 1, 2"),
    ("SELECT customer_id, ae, market_code, sum(spots), round(total(gross), 2) FROM customer_month_summary"
     " GROUP BY 1, 2, 3",
     "SELECT customer_id, ae, coalesce(market_code, ''), count(*), round(total(gross_rate), 2) FROM spots"
     " GROUP BY 1, 2, 3"),
    ("SELECT broadcast_month, customer_id, ae, revenue_type, spots, round(gross, 2), round(net, 2),"
     " positive_spots, round(positive_gross, 2), min_positive, max_positive FROM customer_total_summary",
     "SELECT broadcast_month, customer_id, ae, revenue_type, count(*), round(total(gross_rate), 2),"
     " round(total(station_net), 2), count(*) FILTER (WHERE gross_rate > 0),"
     " round(total(gross_rate) FILTER (WHERE gross_rate > 0), 2), min(gross_rate) FILTER (WHERE gross_rate > 0),"
     " max(gross_rate) FILTER (WHERE gross_rate > 0) FROM spots GROUP BY 1, 2, 3, 4"),
    ("SELECT broadcast_month, language_code, spot_type, sum(spots), round(total(gross), 2),"
     " round(total(spot_value), 2) FROM language_month_summary GROUP BY 1, 2, 3",
     "SELECT broadcast_month, coalesce(language_code, ''), coalesce(spot_type, ''), count(*),"
     " round(total(gross_rate), 2), round(total(spot_value), 2) FROM spots GROUP BY 1, 2, 3"),
    ("SELECT customer_id, ae, bill_code, language_code, sum(spots), round(total(net), 2)"
     " FROM customer_code_summary GROUP BY 1, 2, 3, 4",
     "SELECT customer_id, ae, bill_code, coalesce(language_code, ''), count(*), round(total(station_net), 2)"
     " FROM spots GROUP BY 1, 2, 3, 4"),
    # v20 (issue 16): the revenue sheet's summary
    ("SELECT broadcast_month, customer_id, ae, revenue_type, market_code, language_code, spots, round(gross, 2),"
     " round(net, 2) FROM customer_language_summary",
     "SELECT broadcast_month, customer_id, ae, revenue_type, coalesce(market_code, ''), coalesce(language_code, ''),"
     " count(*), round(total(gross_rate), 2), round(total(station_net), 2) FROM spots GROUP BY 1, 2, 3, 4, 5, 6"),
    ("SELECT broadcast_month, status, category, sum(spots), sum(high_value) FROM review_month_summary"
     " GROUP BY 1, 2, 3",
     "SELECT s.broadcast_month, sl.status, sl.category, count(*), sum(sl.high_value) FROM spots s"
     " JOIN spot_languages sl ON sl.spot_id = s.id WHERE sl.needs_review = 1 GROUP BY 1, 2, 3"),
]


def assert_summaries_agree(path) -> None:
    conn = sqlite3.connect(path)
    try:
        for summary, base in CHECKS:
            assert sorted(conn.execute(summary).fetchall()) == sorted(conn.execute(base).fetchall()), summary
    finally:
        conn.close()


def test_summaries_match_the_spots_after_an_import(imported_sample, workbook_rows):
    sample = imported_sample(rows=3000, months="Jan-25..Dec-26")
    assert_summaries_agree(sample.database)
    rows = [r for r in workbook_rows(sample.workbook) if str(r["revenue_type"]).strip() != "Trade"]
    conn = sqlite3.connect(sample.database)
    total = conn.execute("SELECT total(gross) FROM customer_month_summary").fetchone()[0]
    conn.close()
    assert total == pytest.approx(sum(float(r["gross_rate"] or 0) for r in rows))


def test_summaries_follow_a_month_replaced_by_a_later_import(imported_sample, private_copy, tmp_path):
    from ctvdb.importer import import_workbook
    from ctvdb.sample import write_sample

    path = private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)
    workbook = tmp_path / "Commercial Log 261201.xlsx"
    write_sample(workbook, rows=250, months=["Nov-26", "Dec-26"], seed=9)
    import_workbook(path, workbook, mode="manual")
    assert_summaries_agree(path)


def test_refresh_all_rebuilds_damaged_summaries(imported_sample, private_copy):
    path = private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)
    conn = db.connect(path)
    conn.execute("DELETE FROM customer_month_summary WHERE broadcast_month = 202603")
    conn.execute("UPDATE language_month_summary SET gross = 0")
    conn.execute("DELETE FROM customer_total_summary WHERE broadcast_month = 202512")
    with conn:
        conn.execute("BEGIN")
        refresh_all(conn)
    conn.close()
    assert_summaries_agree(path)


# Migration 9 (the customer workbench) as if never applied, for the tests of older migrations.
# What versions 13 to 19 added (issue 13's snapshots, contracts, signals and planning, the customers'
# lifetime totals, issue 14's rate summaries, issue 15's accounts), dropped again for a database of an earlier version.
BEFORE_V13 = """
    DROP TABLE booking_snapshots; DROP TABLE snapshot_days; DROP TABLE contracts_seen;
    DROP TABLE contract_snapshots; DROP INDEX spots_copy; DROP TABLE account_signals; DROP TABLE signal_states;
    DROP TABLE forecasts; DROP TABLE plan_history; DROP TABLE customer_lifetime_summary;
    DROP TABLE rate_summary; DROP TABLE rate_cut_summary; DROP TABLE rate_summary_stamps;
    DROP TABLE customer_language_summary;
    DROP TABLE accounts; DROP TABLE account_contacts; DROP TABLE account_addresses; DROP TABLE account_assignments;
    DROP TABLE account_activities; DROP TABLE account_follow_ups; DROP TABLE account_saved_filters;
"""
LATER = ["0013_booking_snapshots", "0014_contracts", "0015_account_signals", "0016_planning",
         "0017_customer_lifetime", "0018_rate_summary", "0019_accounts",
         "0020_customer_language_summary", "0021_rate_cube_by_ae", "0022_rate_summary_stamps"]
BEFORE_V9 = BEFORE_V13 + """
    DROP TABLE change_objects; DROP TABLE changes; DROP TABLE bill_codes;
    CREATE TABLE customers_v8 (id INTEGER PRIMARY KEY, name TEXT NOT NULL, agency_chain TEXT NOT NULL DEFAULT '',
        agency_id INTEGER REFERENCES agencies(id), identity_key TEXT NOT NULL UNIQUE,
        sector_code TEXT REFERENCES sectors(code), created_at TEXT NOT NULL);
    INSERT INTO customers_v8 SELECT id, name, agency_chain, agency_id, identity_key, sector_code, created_at FROM customers;
    DROP TABLE customers; ALTER TABLE customers_v8 RENAME TO customers;
    ALTER TABLE sectors DROP COLUMN active; ALTER TABLE agencies DROP COLUMN merged_into;
    ALTER TABLE agencies DROP COLUMN version; DELETE FROM sectors WHERE code IN ('CASINO', 'EDU', 'POL');
"""


def test_migration_builds_the_summaries_of_an_existing_database(imported_sample, private_copy):
    path = private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE_V9)
    conn.executescript("DROP TABLE customer_code_summary; DROP TABLE review_month_summary;"
                       " DROP INDEX spot_languages_review_queue; DROP TABLE customer_total_summary;"
                       " PRAGMA user_version = 4;")
    conn.close()
    conn = db.connect(path)
    assert db.migrate(conn) == ["0005_report_speed", "0006_customer_totals", "0007_auth_database",
                                "0008_summary_values", "0009_customer_workbench", "0010_sector_list",
                                "0011_customer_totals_covering", "0012_agency_merges"] + LATER
    conn.close()
    assert_summaries_agree(path)


def test_migration_8_adds_the_spot_value_and_the_ae_to_a_version_7_database(imported_sample, private_copy):
    path = private_copy(imported_sample(rows=3000, months="Jan-25..Dec-26").database)
    conn = sqlite3.connect(path)
    conn.executescript(BEFORE_V9)
    conn.executescript(  # the two summaries as version 7 had them, empty as if never filled
        "DROP TABLE language_month_summary; DROP TABLE customer_code_summary;"
        " CREATE TABLE language_month_summary (broadcast_month INTEGER NOT NULL, ae TEXT NOT NULL,"
        " market_code TEXT NOT NULL, language_code TEXT NOT NULL, spot_type TEXT NOT NULL,"
        " revenue_type TEXT NOT NULL, spots INTEGER NOT NULL, gross REAL NOT NULL, net REAL NOT NULL,"
        " PRIMARY KEY (broadcast_month, ae, market_code, language_code, spot_type, revenue_type)) WITHOUT ROWID;"
        " CREATE TABLE customer_code_summary (broadcast_month INTEGER NOT NULL, customer_id INTEGER NOT NULL,"
        " bill_code TEXT NOT NULL, language_code TEXT NOT NULL, spots INTEGER NOT NULL, gross REAL NOT NULL,"
        " net REAL NOT NULL, PRIMARY KEY (broadcast_month, customer_id, bill_code, language_code)) WITHOUT ROWID;"
        " PRAGMA user_version = 7;")
    conn.close()
    conn = db.connect(path)
    assert db.migrate(conn) == ["0008_summary_values", "0009_customer_workbench", "0010_sector_list",
                                "0011_customer_totals_covering", "0012_agency_merges"] + LATER
    conn.close()
    assert_summaries_agree(path)
