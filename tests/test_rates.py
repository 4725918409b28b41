"""The rules of rate analysis (ctvdb/rates.py, DOMAIN.md §9) at their boundaries, its exact
quartiles against Python's statistics, and the rate summary: the SQL the import builds it with
agrees with the Python rules, the migration's first build with the import's, and a merge or a
split keeps it as a rebuild from the spots would."""

from __future__ import annotations

import json

import datetime as dt
import random
import sqlite3
import statistics
from pathlib import Path

import numpy as np
import pytest

import xlsx_rows as x
from ctvdb import customers, db, rate_summary, rates, summaries
from ctvdb.importer import import_workbook


@pytest.mark.parametrize("time_in, daypart", [
    ("04:59:59", "overnight"), ("05:00:00", "early_morning"), ("05:59:59", "early_morning"),
    ("06:00:00", "early_morning"), ("08:59:59", "early_morning"), ("09:00:00", "daytime"),
    ("15:59:59", "daytime"), ("16:00:00", "early_fringe"), ("18:59:59", "early_fringe"),
    ("19:00:00", "prime_access"), ("19:59:59", "prime_access"), ("20:00:00", "prime"), ("22:59:59", "prime"),
    ("23:00:00", "late_fringe"), ("23:30:00", "late_fringe"),     # a block 23:30-00:30 crosses midnight
    ("00:00:00", "late_fringe"), ("00:59:59", "late_fringe"), ("01:00:00", "overnight"),
    (None, ""), ("", ""), ("late night", ""), ("24:00:00", ""),
])
def test_the_daypart_of_a_time_in(time_in, daypart):
    assert rates.daypart(time_in) == daypart


@pytest.mark.parametrize("day, air_date, weekend", [
    ("Friday", "2026-11-07", False), ("Saturday", "2026-11-06", True), ("Sunday", None, True),
    ("monday", None, False), ("  SAT", None, True),
    (None, "2026-11-07", True), ("", "2026-11-09", False), ("Mon-Fri", "2026-11-08", False), ("??", "bad", False),
])
def test_weekday_or_weekend_by_day_else_the_air_date(day, air_date, weekend):
    # 2026-11-07 is a Saturday; Day(s) wins over the date, the date stands in when Day(s) is no day
    assert rates.is_weekend(day, air_date) is weekend


def test_lengths_other_than_the_standard_ones_are_other_with_their_seconds():
    assert [rates.length_class(s) for s in (15, 30, 60, 120)] == ["15", "30", "60", "120"]
    assert [rates.length_class(s) for s in (10, 45, 90, 1800, 0, None)] == ["other"] * 6
    assert rates.length_label(45) == "Other (45 s)" and rates.length_label(30) == ":30"
    assert rates.length_label(None) == "Other (no length)"


def test_tenure_counts_from_the_period_s_last_month():
    assert rates.tenure(202512, 202611) == "new"              # 11 months before: within 12
    assert rates.tenure(202511, 202611) == "established"      # 12 months before
    assert rates.tenure(202312, 202611) == "established"      # 35
    assert rates.tenure(202311, 202611) == "long_standing"    # 36


def test_counted_spots():
    assert rates.counted(50.0, "Internal Ad Sales", "COM")
    assert not rates.counted(0.0, "Internal Ad Sales", "COM")
    assert not rates.counted(-50.0, "Internal Ad Sales", "CRD")
    assert not rates.counted(50.0, "Internal Ad Sales", "BNS")
    assert not rates.counted(50.0, "Trade", "COM")


def test_quartiles_of_rate_and_count_pairs_equal_statistics_on_the_spots():
    rng = random.Random(14)
    for n in (2, 3, 4, 5, 7, 10, 101):
        spots = [rng.choice((25.0, 40.0, 50.0, 75.0, 99.99, 150.0, 1000.0)) for _ in range(n)]
        pairs = {}
        for rate in spots:
            pairs[rate] = pairs.get(rate, 0) + 1
        p25, median, p75 = rates.quartiles(list(pairs.items()))
        assert [p25, median, p75] == statistics.quantiles(spots, n=4, method="inclusive"), n
        assert round(median, 9) == round(statistics.median(spots), 9)
    assert rates.quartiles([(70.0, 1)]) == (70.0, 70.0, 70.0)
    assert rates.quartiles([]) is None and rates.quartiles([(5.0, 0)]) is None


# The summary ---------------------------------------------------------------------------------

TIMES = ("04:59:59", "05:59:59", "06:00:00", "12:00:00", "19:30:00", "23:30:00", "00:15:00")
DAYS = ("Monday", "Saturday", "Sunday", "", "Friday")


def _workbook(path: Path) -> Path:
    rows = []
    for i in range(120):
        row = x.Row(bill_code=("Admerasia:McDonald's", "Phở Hòa", "IW Group:State Farm")[i % 3],
                    gross=(0.0, 25.0, 50.0, 50.0, -40.0, 75.5)[i % 6], spot_type=("Com", "BNS", "Com", "CRD")[i % 4],
                    language=("M", "V", "K")[i % 3], market=("SFO", "HOU")[i % 2], line=i + 1,
                    sales_person=("Alice Nguyen", "Brandon Wu")[i % 2],
                    month=dt.date(2026, 10 + i % 2, 1), air_date=dt.date(2026, 10 + i % 2, 1 + i % 27))
        cells = row.cells()
        h, m, s = map(int, TIMES[i % len(TIMES)].split(":"))
        cells[3], cells[4], cells[6] = DAYS[i % len(DAYS)], dt.time(h, m, s), dt.time(0, 0, (15, 30, 45, 10)[i % 4])
        rows.append(cells)
    return x.write(path / "Commercial Log 261120.xlsx", {"Commercials": rows})


@pytest.fixture(scope="module")
def database(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rates")
    import_workbook(folder / "ctvdb.db", _workbook(folder), mode="manual", auto_setup=True)
    return folder / "ctvdb.db"


def _summary(conn) -> dict:
    """Both rate summaries, decoded (rate_summary.contents)."""
    return rate_summary.contents(conn)


def _cube(conn) -> dict[tuple, int]:
    """{(month, language, market, daypart, weekend, length, revenue type, AE, customer, rate): spots}."""
    return {(month,) + key: spots for (kind, month), cells in _summary(conn).items() if kind == "cube"
            for key, spots in cells.items()}


def _counted_spots(conn) -> list[dict]:
    return [dict(s) for s in conn.execute("SELECT * FROM spots")
            if rates.counted(s["gross_rate"], s["revenue_type"], s["spot_type"])]


def test_the_summary_holds_the_counted_spots_by_the_python_rules(database):
    conn = db.connect(database)
    expected: dict[tuple, int] = {}
    for s in _counted_spots(conn):
        key = (s["broadcast_month"], s["language_code"] or "", s["market_code"] or "", rates.daypart(s["time_in"]),
               int(rates.is_weekend(s["day_of_week"], s["air_date"])), s["length_seconds"] or 0,
               s["revenue_type"], s["ae"], s["customer_id"], s["gross_rate"])
        expected[key] = expected.get(key, 0) + 1
    found = _cube(conn)
    conn.close()
    # of the 120 rows, those with a gross above zero (i % 6 in 1, 2, 3, 5) that are not bonus (i % 4 == 1)
    assert found == expected and sum(found.values()) == sum(1 for i in range(120) if i % 6 in (1, 2, 3, 5) and i % 4 != 1)


# Each cut's value from a spot, worked out here from the spot's own columns.
CUT_KEYS = {
    "all": lambda s: "",
    "language": lambda s: s["language_code"] or "",
    "market": lambda s: s["market_code"] or "",
    "daypart": lambda s: rates.daypart(s["time_in"]),
    "day": lambda s: str(int(rates.is_weekend(s["day_of_week"], s["air_date"]))),
    "length": lambda s: str(s["length_seconds"] or 0),
    "revenue_type": lambda s: s["revenue_type"],
    "ae": lambda s: s["ae"],
    "customer": lambda s: "",
    "card": lambda s: f"{s['language_code'] or ''}|{s['market_code'] or ''}|{rates.daypart(s['time_in'])}",
    "customer_card": lambda s: f"{s['language_code'] or ''}|{s['market_code'] or ''}|{rates.daypart(s['time_in'])}",
    "length_language": lambda s: f"{s['length_seconds'] or 0}|{s['language_code'] or ''}",
    "length_market": lambda s: f"{s['length_seconds'] or 0}|{s['market_code'] or ''}",
    "length_customer": lambda s: str(s["length_seconds"] or 0),
}
BY_CUSTOMER = {"customer", "customer_card", "length_customer"}
WITHOUT_RATE = {"card", "customer_card", "length_language", "length_market", "length_customer"}


def test_every_cut_holds_the_sums_of_the_counted_spots(database):
    assert set(CUT_KEYS) == set(rate_summary.CUTS)
    conn = db.connect(database)
    stored = _summary(conn)
    spots = _counted_spots(conn)
    for cut, value_of in CUT_KEYS.items():
        expected: dict[tuple, list] = {}
        for s in spots:
            key = (s["broadcast_month"], s["customer_id"] if cut in BY_CUSTOMER else 0, value_of(s),
                   0.0 if cut in WITHOUT_RATE else s["gross_rate"])
            cell = expected.setdefault(key, [0, 0.0, 0, 0.0, 0])
            cell[0] += 1
            cell[1] += s["gross_rate"]
            if s["length_seconds"]:
                cell[2] += 1
                cell[3] += s["gross_rate"]
                cell[4] += s["length_seconds"]
        found = {(month, customer, value, rate): list(figures) for (name, month), cells in stored.items()
                 if name == cut for (value, customer, rate), figures in cells.items()}
        assert found.keys() == expected.keys(), cut
        for key, cell in expected.items():
            assert found[key] == [cell[0], pytest.approx(cell[1]), cell[2], pytest.approx(cell[3]), cell[4]], (cut, key)
    conn.close()


def _copy(database, tmp_path) -> Path:
    copy = tmp_path / "copy.db"
    src, dst = sqlite3.connect(database), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    return copy


# What version 19 (issue 15's accounts) added, dropped for a database of version 17.
AFTER_V18 = """
    DROP TABLE accounts; DROP TABLE account_contacts; DROP TABLE account_addresses; DROP TABLE account_assignments;
    DROP TABLE account_activities; DROP TABLE account_follow_ups; DROP TABLE account_saved_filters;
"""


def test_the_migration_builds_what_the_import_builds(database, tmp_path):
    copy = _copy(database, tmp_path)
    conn = db.connect(copy)
    built = _summary(conn)
    # As a database of version 17 holding these spots: the tables gone (and version 19's), then migrated.
    conn.executescript("DROP TABLE rate_summary; DROP TABLE rate_cut_summary; DROP TABLE rate_summary_stamps;"
                       " DROP TABLE customer_language_summary;"
                       " PRAGMA user_version = 17;")
    conn.executescript(AFTER_V18)
    assert db.migrate(conn) == ["0018_rate_summary", "0019_accounts", "0020_customer_language_summary",
                                 "0021_rate_cube_by_ae", "0022_rate_summary_stamps"]
    assert db.current_version(conn) == db.schema_version() and _summary(conn) == built and built
    # v22: every month stored has its stamp, and no two months share one
    months = [r[0] for r in conn.execute("SELECT broadcast_month FROM rate_summary")]
    stamps = rate_summary.month_stamps(conn, 200001, 299912)
    assert sorted(stamps) == sorted(months) and None not in stamps.values() and len(set(stamps.values())) == len(months)
    conn.close()


def _language_spots(conn, month: int) -> dict[str, int]:
    """Counted spots of the month by language code, from the spots."""
    out: dict[str, int] = {}
    for s in _counted_spots(conn):
        if s["broadcast_month"] == month:
            out[s["language_code"] or ""] = out.get(s["language_code"] or "", 0) + 1
    return out


def _read_language(conn, month: int) -> dict[str, int]:
    return _read_language_range(conn, month, month)


def test_a_month_stored_again_is_read_again_and_the_months_not_stored_are_kept(database, tmp_path):
    conn = db.connect(_copy(database, tmp_path))
    october, november = 202610, 202611
    stamps = rate_summary.month_stamps(conn, october, november)
    before = {m: _read_language(conn, m) for m in (october, november)}
    assert before == {m: _language_spots(conn, m) for m in (october, november)} and all(before.values())
    kept = rate_summary.KEPT.get(("language", october, stamps[october]))
    assert kept is not None
    # November's 50.00 spots deleted and its summaries stored again, as an import would
    with db.write_transaction(conn):
        conn.execute("DELETE FROM spots WHERE broadcast_month = ? AND gross_rate = 50.0", (november,))
        summaries.refresh_rate_months(conn, [november])
    after = rate_summary.month_stamps(conn, october, november)
    assert after[october] == stamps[october] and after[november] != stamps[november]
    assert _read_language(conn, november) == _language_spots(conn, november) != before[november]
    assert sum(_read_language(conn, november).values()) < sum(before[november].values())
    # October was not read again: the same decoded records, at the same stamp
    assert _read_language(conn, october) == before[october]
    assert rate_summary.KEPT.get(("language", october, stamps[october]))[1] is kept[1]
    # Both months at once: the period's cuts put together again, November's new figures in them
    both = _read_language_range(conn, october, november)
    expected = dict(before[october])
    for code, n in _language_spots(conn, november).items():
        expected[code] = expected.get(code, 0) + n
    assert both == expected
    conn.close()


def _read_language_range(conn, first: int, last: int) -> dict[str, int]:
    values, entries = rate_summary.load_cut(conn, "language", first, last)
    out: dict[str, int] = {}
    for value, spots in zip(entries["value"].tolist(), entries["spots"].tolist()):
        out[values[value]] = out.get(values[value], 0) + spots
    return out


def test_rows_written_without_a_stamp_are_read_every_time(database, tmp_path):
    conn = db.connect(_copy(database, tmp_path))
    _read_language_range(conn, 202610, 202611)
    with conn:
        conn.execute("DELETE FROM rate_summary_stamps")
        conn.execute("DELETE FROM rate_cut_summary WHERE cut = 'language' AND broadcast_month = 202611")
    assert rate_summary.month_stamps(conn, 202610, 202611) == {202610: None, 202611: None}
    assert _read_language_range(conn, 202610, 202611) == _language_spots(conn, 202610)
    conn.close()


def _own(conn, ae: str) -> dict:
    """An AE's cube entries as {(month, customer, rate, length): spots}, read with load_cube(ae=)."""
    names, entries = rate_summary.load_cube(conn, 200001, 299912, ae)
    assert set(names["ae"]) <= {ae}
    out: dict = {}
    for key in zip(entries["customer"].tolist(), entries["rate"].tolist(), entries["length"].tolist(),
                   entries["spots"].tolist()):
        out[key[:3]] = out.get(key[:3], 0) + key[3]
    return out


def test_an_ae_s_entries_are_read_as_their_slice_and_older_cubes_are_put_in_ae_order(database, tmp_path):
    conn = db.connect(_copy(database, tmp_path))
    aes = [r[0] for r in conn.execute("SELECT DISTINCT ae FROM spots WHERE ae IS NOT NULL ORDER BY 1")]
    assert len(aes) >= 2
    # The counted spots of each AE, from the spots themselves.
    want = {}
    for ae in aes:
        cells: dict = {}
        for customer, rate, length in conn.execute(
                "SELECT customer_id, gross_rate, coalesce(length_seconds, 0) FROM spots WHERE ae = ? AND gross_rate > 0"
                " AND coalesce(revenue_type, '') != 'Trade' AND coalesce(spot_type, '') != 'BNS'", (ae,)):
            cells[(customer, rate, length)] = cells.get((customer, rate, length), 0) + 1
        want[ae] = cells
    rows = conn.execute("SELECT broadcast_month, names, entries FROM rate_summary").fetchall()

    def in_ae_order() -> bool:
        for _, names, data in conn.execute("SELECT broadcast_month, names, entries FROM rate_summary"):
            names, codes = json.loads(names), np.frombuffer(data, dtype=rate_summary.CUBE_DTYPE)["ae"].tolist()
            if codes != sorted(codes) or names.get("ae_ends") != [sum(1 for c in codes if c <= i)
                                                                   for i in range(len(names["ae"]))]:
                return False
        return True

    assert in_ae_order()            # as the import stored them
    built = _summary(conn)
    assert {ae: _own(conn, ae) for ae in aes} == want
    # As a cube stored before version 21: entries in no order, no ae_ends, and (before version 22)
    # no stamps, so every read reads them again. Read whole and kept by AE.
    with conn:
        conn.execute("DELETE FROM rate_summary_stamps")
        for month, names, data in rows:
            names = json.loads(names)
            del names["ae_ends"]
            entries = np.frombuffer(data, dtype=rate_summary.CUBE_DTYPE)[::-1]
            conn.execute("UPDATE rate_summary SET names = ?, entries = ? WHERE broadcast_month = ?",
                         (json.dumps(names), entries.tobytes(), month))
    assert {ae: _own(conn, ae) for ae in aes} == want and not in_ae_order()
    with conn:
        assert rate_summary.sort_cubes(conn) == len(rows)
    assert in_ae_order() and _summary(conn) == built
    assert {ae: _own(conn, ae) for ae in aes} == want
    conn.close()


def test_a_failed_first_build_leaves_the_database_at_the_version_before(database, tmp_path, monkeypatch):
    copy = _copy(database, tmp_path)
    conn = db.connect(copy)
    conn.executescript("DROP TABLE rate_summary; DROP TABLE rate_cut_summary; DROP TABLE rate_summary_stamps;"
                       " PRAGMA user_version = 17;")

    def broken(_conn):
        raise OSError("disk full")

    monkeypatch.setattr(summaries, "refresh_rates", broken)
    with pytest.raises(OSError):
        db.migrate(conn)
    assert db.current_version(conn) == 17
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'rate_summary'").fetchone()
    conn.close()


def test_a_merge_and_its_undo_keep_the_summary_as_a_rebuild_would(database, tmp_path):
    conn = db.connect(_copy(database, tmp_path))
    ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]
    stored = conn.execute("SELECT * FROM rate_summary").fetchall() + conn.execute("SELECT * FROM rate_cut_summary").fetchall()
    change = customers.merge(conn, "test@example.com", ids[0], ids[1:])
    # kept by bill code: the merge rewrote nothing of them, and they read as merged
    assert [tuple(r) for r in stored] == [tuple(r) for r in conn.execute("SELECT * FROM rate_summary").fetchall()
                                          + conn.execute("SELECT * FROM rate_cut_summary").fetchall()]
    merged = _summary(conn)
    assert {key[8] for key in _cube(conn)} == {ids[0]}
    with db.write_transaction(conn):
        summaries.refresh_all(conn)
    assert _summary(conn) == merged
    customers.undo(conn, "test@example.com", change)
    undone = _summary(conn)
    with db.write_transaction(conn):
        summaries.refresh_all(conn)
    assert _summary(conn) == undone
    assert {key[8] for key in _cube(conn)} == set(ids)
    conn.close()


def test_a_bill_code_bill_codes_does_not_hold_keeps_the_customer_it_was_imported_with(database, tmp_path):
    """As in a database from before version 9, whose bill_codes has one spelling per customer."""
    conn = db.connect(_copy(database, tmp_path))
    before = _cube(conn)
    conn.execute("DELETE FROM bill_codes WHERE customer_id = (SELECT min(customer_id) FROM bill_codes)")
    assert _cube(conn) == before and 0 not in {key[8] for key in before}
    conn.close()


def test_rates_are_numbered_alike_by_table_by_search_and_by_sort():
    from ctvdb.web.queries import rates as queries
    rng = np.random.default_rng(14)
    for known in (np.array([25.0, 50.0, 50.0, 75.5, 120.0]),              # cents fill a small table
                  np.array([12.0, 15.0, 99999.99, 16500.0, 0.01]),         # a few rates over a wide span: searched
                  np.array([0.005, 25.0, 1e6])):                           # not whole cents, too large: searched
        rate = rng.choice(np.unique(known), size=200)
        table = queries.rate_table(known)
        assert (table[1] is None) == (known.max() > 1000)
        values, codes = queries._rate_codes(rate, table)
        want_values, want_codes = np.unique(rate, return_inverse=True)
        assert values[codes].tolist() == rate.tolist() == want_values[want_codes].tolist()
    # a rate the known ones lack: sorted, exactly
    values, codes = queries._rate_codes(np.array([30.0, 25.0]), queries.rate_table(np.array([25.0, 50.0])))
    assert values.tolist() == [25.0, 30.0] and codes.tolist() == [1, 0]
