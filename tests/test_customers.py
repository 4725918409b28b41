"""The customer workbench's writes against a real workbook imported for real: the figures of the
customers people decided on, undo, refusals, stale forms, the import lock and later imports."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import defaultdict

import pytest

from ctvdb import changes, customers, db, importer
from ctvdb.customers import CustomerError
from ctvdb.web import queries
from ctvdb.web.params import Filters
from xlsx_rows import Row, write

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
TODAY = dt.date(2026, 11, 20)
ANA = "ana@example.com"

# Raw bill code as typed in the traffic system -> the advertiser a person means. The variants of
# one identity key differ in case, spacing and the DOMAIN §4 suffixes; the others need a person.
INTENDED = {
    "Admerasia:McDonald's": "mcd",
    "admerasia:MCDONALD'S": "mcd",
    "Admerasia:  McDonald's PRODUCTION": "mcd",
    "Admerasia:McDonald's (Broker Fees - DO NOT INVOICE)": "mcd",
    "McDonalds": "mcd",                       # merged into Admerasia:McDonald's
    "Phở Hòa": "pho",
    "PHỞ HÒA CREDIT MEMO": "pho",
    "PHO HOA": "pho",                         # aliased to Phở Hòa (accents differ: another key)
    "Wells Fargo": "wells",
    "Wells  Fargo Bank PROD": "wells",        # merged into Wells Fargo
    "WorldLink:Tempur Sealy": "tempur",
}
# The identity key of the customer each advertiser ends up as.
SURVIVOR = {"mcd": "admerasia:mcdonald's", "pho": "phở hòa", "wells": "wells fargo", "tempur": "worldlink:tempur sealy"}


def workbook_rows() -> list[Row]:
    rows = []
    for i, code in enumerate(sorted(INTENDED) * 3):
        month = OCT if i % 2 else NOV
        rows.append(Row(bill_code=code, month=month, air_date=month + dt.timedelta(days=i % 20),
                        gross=float(100 + 13 * i), net=float(85 + 11 * i), line=i + 1,
                        sales_person=("Alice Nguyen", "Brandon Wu")[i % 2]))
    return rows


@pytest.fixture
def loaded(tmp_path):
    path = tmp_path / "ctvdb.db"
    db.init(path)
    write(tmp_path / "log.xlsx", {"Commercials": workbook_rows()})
    importer.import_workbook(path, tmp_path / "log.xlsx", mode="manual", auto_setup=True, today=TODAY)
    conn = db.connect(path)
    # October is closed: its spots follow identity decisions all the same.
    conn.execute("INSERT INTO month_closures VALUES (202610, '2026-11-05T17:00:00Z', 'acct@example.com', NULL)")
    yield path, conn
    conn.close()


def cid(conn, key: str) -> int:
    return conn.execute("SELECT id FROM customers WHERE identity_key = ?", (key,)).fetchone()[0]


def decide(conn) -> None:
    """What a person would do with this workbook."""
    customers.merge(conn, ANA, cid(conn, "admerasia:mcdonald's"), [cid(conn, "mcdonalds")])
    customers.alias(conn, ANA, "PHO HOA", cid(conn, "phở hòa"))
    customers.merge(conn, ANA, cid(conn, "wells fargo"), [cid(conn, "wells fargo bank")])


def expected_by_customer() -> dict[str, tuple[int, float, float]]:
    sums = defaultdict(lambda: [0, 0.0, 0.0])
    for row in workbook_rows():
        s = sums[SURVIVOR[INTENDED[row.bill_code]]]
        s[0] += 1
        s[1] += row.gross
        s[2] += row.net
    return {key: (n, round(g, 2), round(net, 2)) for key, (n, g, net) in sums.items()}


def figures(conn) -> dict[str, tuple[int, float, float]]:
    """Per surviving customer (by identity key), from each customer-keyed summary table."""
    out = {}
    for table in ("customer_month_summary", "customer_total_summary", "customer_code_summary",
                  "customer_language_summary"):   # v20, issue 16
        out[table] = {key: tuple(round(v, 2) if isinstance(v, float) else v for v in row) for key, *row in conn.execute(
            f"SELECT c.identity_key, sum(s.spots), total(s.gross), total(s.net) FROM {table} s"
            " JOIN customers c ON c.id = s.customer_id GROUP BY 1")}
    return out


def state(conn) -> dict:
    """Every row that identity decides, and every summary row (money to the cent)."""
    def rows(sql):
        return sorted(tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in conn.execute(sql))
    columns = ", ".join(c for c in customers.Customer.__dataclass_fields__ if c != "version")
    return {"customers": rows(f"SELECT {columns} FROM customers"),
            "bill_codes": rows("SELECT * FROM bill_codes"), "agencies": rows("SELECT * FROM agencies"),
            "spots": rows("SELECT id, customer_id, agency_id, bill_code FROM spots"),
            **{t: rows(f"SELECT * FROM {t}") for t in ("customer_month_summary", "customer_total_summary",
                                                       "customer_code_summary", "language_month_summary",
                                                       "customer_lifetime_summary", "customer_language_summary")}}


def digest(conn) -> str:
    h = hashlib.sha256()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1"):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
            h.update(repr((table, tuple(row))).encode())
    return h.hexdigest()


def test_after_the_decisions_each_customer_has_the_figures_of_its_rows_and_a_reimport_changes_nothing(loaded, tmp_path):
    path, conn = loaded
    decide(conn)
    expected = expected_by_customer()
    for table, found in figures(conn).items():
        assert found == expected, table
    report = queries.customer_revenue(conn, Filters(year=2026), TODAY)
    totals = defaultdict(float)
    for row in report.tables[0].rows:
        totals[row["customer_id"]] += row["total"]
    assert {k: round(v, 2) for k, v in totals.items()} == {cid(conn, key): g for key, (_, g, _) in expected.items()}
    months = {r["month"]: r["clients"] for r in queries.monthly_summary(conn, Filters(year=2026), TODAY).tables[0].rows}
    for month, start in ((202610, OCT), (202611, NOV)):
        assert months[month] == len({SURVIVOR[INTENDED[r.bill_code]] for r in workbook_rows() if r.month == start})
    before = state(conn)
    importer.import_workbook(path, tmp_path / "log.xlsx", mode="daily", auto_setup=True, today=TODAY)
    after = state(conn)
    after.pop("spots"), before.pop("spots")   # November's spots are new rows with new ids
    assert after == before


@pytest.mark.parametrize("decision", ["merge", "alias", "move", "split", "rename"])
def test_undoing_a_decision_restores_every_mapping_and_figure(loaded, decision):
    path, conn = loaded
    mcd, direct = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds")
    if decision == "split":
        customers.alias(conn, ANA, "McDonalds", mcd)
    before = state(conn)
    change_id = {
        "merge": lambda: customers.merge(conn, ANA, mcd, [direct, cid(conn, "phở hòa")], name="McDonald's USA"),
        "alias": lambda: customers.alias(conn, ANA, "PHO HOA", cid(conn, "phở hòa")),
        "move": lambda: customers.move(conn, ANA, mcd, "New Agency:Admerasia"),
        "split": lambda: customers.split(conn, ANA, "mcdonalds"),
        "rename": lambda: customers.rename(conn, ANA, direct, "McDonald's Direct"),
    }[decision]()
    assert state(conn) != before
    undo_id = changes.undo(conn, "bo@example.com", change_id)
    assert state(conn) == before
    assert changes.get(conn, change_id).undone_by == undo_id
    assert changes.get(conn, undo_id).undoes == change_id


def test_a_merge_adds_up_the_summaries_to_what_a_rebuild_from_the_spots_gives(loaded):
    from ctvdb import summaries
    path, conn = loaded
    mcd, direct, pho = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds"), cid(conn, "phở hòa")
    customers.merge(conn, ANA, mcd, [direct, pho])   # whole customers: their summary rows are added up
    folded = state(conn)
    assert not conn.execute("SELECT count(*) FROM customer_month_summary WHERE customer_id IN (?, ?)",
                            (direct, pho)).fetchone()[0]
    with db.write_transaction(conn):
        summaries.refresh_customers(conn, [mcd, direct, pho])
    assert state(conn) == folded


def test_every_customer_s_lifetime_totals_are_the_sums_of_its_spots_after_imports_and_decisions(loaded):
    path, conn = loaded

    def lifetimes():
        return {r[0]: tuple(r[1:]) for r in conn.execute("SELECT * FROM customer_lifetime_summary")}

    def from_spots():
        return {r[0]: tuple(r[1:]) for r in conn.execute(
            "SELECT customer_id, count(*), total(gross_rate), min(broadcast_month), max(broadcast_month)"
            " FROM spots GROUP BY customer_id")}
    assert lifetimes() == from_spots() and len(lifetimes()) == len({SURVIVOR[v] for v in INTENDED.values()}) + 3
    decide(conn)
    assert lifetimes() == from_spots()


def test_an_older_change_can_be_undone_once_the_later_ones_on_its_customer_are_taken_back(loaded):
    path, conn = loaded
    mcd, direct = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds")
    before = state(conn)
    merged = customers.merge(conn, ANA, mcd, [direct])
    renamed = customers.rename(conn, ANA, mcd, "McDonald's USA")
    with pytest.raises(CustomerError, match="undo that first"):
        changes.undo(conn, ANA, merged)
    changes.undo(conn, ANA, renamed)
    changes.undo(conn, ANA, merged)     # the rename in between was taken back: nothing stands in the way
    assert state(conn) == before


def test_an_undo_is_refused_when_an_agency_change_re_pointed_its_customer_since(loaded):
    from ctvdb import agencies
    path, conn = loaded
    mcd = cid(conn, "admerasia:mcdonald's")
    pho = cid(conn, "phở hòa")
    moved = customers.move(conn, ANA, pho, "Admerasia")
    renamed = customers.rename(conn, ANA, pho, "Phở Hòa Noodles")
    changes.undo(conn, ANA, renamed)
    admerasia = conn.execute("SELECT agency_id FROM customers WHERE id = ?", (mcd,)).fetchone()[0]
    other = conn.execute("SELECT id FROM agencies WHERE id != ? ORDER BY id LIMIT 1", (admerasia,)).fetchone()[0]
    agencies.merge(conn, ANA, other, [admerasia])   # re-points both customers, bumping their versions
    unchanged = digest(conn)
    with pytest.raises(CustomerError, match="cannot be undone"):
        changes.undo(conn, ANA, moved)
    assert digest(conn) == unchanged


def test_a_split_sends_the_bill_code_back_to_its_own_customer(loaded):
    path, conn = loaded
    mcd, direct = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds")
    customers.alias(conn, ANA, "McDonalds", mcd)
    assert customers.get(conn, direct).merged_into == mcd
    customers.split(conn, ANA, "McDonalds", name="McDonald's Franchisees")
    own = [r for r in workbook_rows() if r.bill_code == "McDonalds"]
    assert tuple(conn.execute("SELECT sum(spots), total(gross) FROM customer_total_summary WHERE customer_id = ?",
                              (direct,)).fetchone()) == (len(own), sum(r.gross for r in own))
    assert customers.get(conn, direct).merged_into is None
    assert customers.get(conn, direct).name == "McDonald's Franchisees"


def test_bad_input_gets_one_sentence_and_changes_nothing(loaded):
    path, conn = loaded
    mcd, direct, pho = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds"), cid(conn, "phở hòa")
    wells, bank = cid(conn, "wells fargo"), cid(conn, "wells fargo bank")
    customers.merge(conn, ANA, wells, [bank])
    customers.deactivate(conn, ANA, pho)
    start = digest(conn)
    attempts = [
        (lambda: customers.merge(conn, ANA, mcd, [mcd]), "cannot be merged into itself"),
        (lambda: customers.merge(conn, ANA, pho, [mcd]), "is deactivated"),
        (lambda: customers.merge(conn, ANA, bank, [mcd]), "was merged into Wells Fargo .* by ana@example.com at"),
        (lambda: customers.merge(conn, ANA, wells, [bank]), "was merged into"),
        (lambda: customers.merge(conn, ANA, 9999, [mcd]), "There is no customer 9999"),
        (lambda: customers.merge(conn, ANA, mcd, [9999]), "There is no customer 9999"),
        (lambda: customers.merge(conn, ANA, mcd, []), "at least one"),
        (lambda: customers.alias(conn, ANA, "Wells Fargo", bank), "would make a cycle"),
        (lambda: customers.alias(conn, ANA, "Never Seen", mcd), "No spot has ever had bill code"),
        (lambda: customers.alias(conn, ANA, "ADMERASIA:McDonald's", mcd), "already belongs"),
        (lambda: customers.rename(conn, ANA, mcd, "   "), "name cannot be empty"),
        (lambda: customers.rename(conn, ANA, direct, "Wells Fargo"), "already called Wells Fargo"),
        (lambda: customers.move(conn, ANA, direct, "Admerasia"), "already called McDonald's"),
        (lambda: customers.set_class(conn, ANA, mcd, "political"), "not a revenue class"),
        (lambda: customers.split(conn, ANA, "Admerasia:McDonald's"), "own bill code"),
        (lambda: customers.rename(conn, "", mcd, "X"), "Say who"),
        (lambda: changes.undo(conn, ANA, 9999), "There is no change 9999"),
    ]
    for attempt, sentence in attempts:
        with pytest.raises(changes.ChangeError, match=sentence) as refused:
            attempt()
        assert "\n" not in str(refused.value)
        assert digest(conn) == start, sentence


def test_two_edits_from_the_same_page_one_lands_and_the_other_is_told_who_changed_what(loaded):
    path, conn = loaded
    mcd, direct = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds")
    version = customers.get(conn, direct).version
    customers.merge(conn, ANA, mcd, [direct], expected_versions={direct: version})
    start = digest(conn)
    with pytest.raises(CustomerError, match=r"McDonalds \(#\d+\) changed after the page was opened: "
                                            r"McDonalds .* was merged into Admerasia:McDonald's .* by ana@example.com at \d\d:\d\d"):
        customers.rename(conn, "bo@example.com", direct, "McD", expected_version=version)
    assert digest(conn) == start


def test_an_edit_while_an_import_writes_waits_for_it_and_both_land(loaded):
    path, conn = loaded
    mcd = cid(conn, "admerasia:mcdonald's")
    holding = threading.Event()

    def fake_import():
        with importer.import_lock(path):
            other = db.connect(path)
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO markets (code, name) VALUES ('ZZZ', 'Somewhere')")
            holding.set()
            time.sleep(1.0)
            other.execute("COMMIT")
            other.close()

    thread = threading.Thread(target=fake_import)
    thread.start()
    holding.wait(5)
    started = time.monotonic()
    customers.rename(conn, ANA, mcd, "McDonald's USA")
    waited = time.monotonic() - started
    thread.join()
    assert waited > 0.5
    assert customers.get(conn, mcd).name == "McDonald's USA"
    assert conn.execute("SELECT name FROM markets WHERE code = 'ZZZ'").fetchone()[0] == "Somewhere"


def test_later_imports_respect_every_decision(loaded, tmp_path):
    path, conn = loaded
    mcd, direct, pho = cid(conn, "admerasia:mcdonald's"), cid(conn, "mcdonalds"), cid(conn, "phở hòa")
    tempur = cid(conn, "worldlink:tempur sealy")
    decide(conn)
    customers.deactivate(conn, ANA, tempur)
    customers.mark_reviewed(conn, ANA, tempur)
    count = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    # Tempur Sealy had these spots in November; the new workbook brings one more.
    had = sum(1 for r in workbook_rows() if r.bill_code == "WorldLink:Tempur Sealy" and r.month == NOV)
    codes = ["Pho Hoa PROD", "MCDONALDS", "Brand New Co"] + ["WorldLink:Tempur Sealy"] * (had + 1)
    later = [Row(bill_code=code, month=NOV, gross=500.0, net=425.0, line=i + 1) for i, code in enumerate(codes)]
    # November is replaced by the new workbook: only these spots are in it.
    write(tmp_path / "later.xlsx", {"Commercials": later})
    importer.import_workbook(path, tmp_path / "later.xlsx", mode="daily", auto_setup=True, today=TODAY)
    nov = dict(conn.execute("SELECT customer_id, sum(spots) FROM customer_total_summary WHERE broadcast_month = 202611"
                            " GROUP BY 1"))
    new = cid(conn, "brand new co")
    assert nov == {pho: 1, mcd: 1, tempur: had + 1, new: 1}
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == count + 1
    assert customers.get(conn, direct).merged_into == mcd
    back = customers.get(conn, tempur)
    assert (back.active, back.reviewed_at) == (1, None) and "new spots" in back.review_reason
    last = changes.last_for(conn, tempur)
    assert (last.actor, last.kind, last.before["customers"][str(tempur)]["active"]) == ("import", "reactivate", 0)
    fresh = customers.get(conn, new)
    assert fresh.reviewed_at is None and "new bill code" in fresh.review_reason


def test_a_change_bumps_the_data_version_the_report_cache_is_keyed_by(loaded):
    path, conn = loaded
    before = queries.data_version(conn)
    customers.set_class(conn, ANA, cid(conn, "wells fargo"), "irregular")
    assert queries.data_version(conn) != before


def test_the_customer_detail_page_shows_who_changed_the_customer_and_where_a_merged_one_went(tmp_path, session_token):
    import datetime as dt

    from ctvdb import customers
    from ctvdb.config import Config
    from ctvdb.importer import import_workbook
    from ctvdb.web import cache
    from ctvdb.web.app import create_app
    from test_web_app import NOW, PageTables, signed_in
    from xlsx_rows import Row, write

    rows = [Row(bill_code="Pho Hoa", gross=100, line=1), Row(bill_code="PHỞ HÒA", gross=250, line=2)]
    write(tmp_path / "log.xlsx", {"Commercials": rows})
    database = tmp_path / "ctvdb.db"
    import_workbook(database, tmp_path / "log.xlsx", mode="manual", auto_setup=True, today=dt.date(2026, 11, 20))
    conn = db.connect(database)
    try:
        ids = {name: cid for cid, name in conn.execute("SELECT id, name FROM customers")}
        customers.merge(conn, "ana@example.com", ids["Pho Hoa"], [ids["PHỞ HÒA"]])
    finally:
        conn.close()
    cache.REPORTS.clear()
    client = signed_in(create_app(Config(database_path=database), now=lambda: NOW), session_token(database))
    html = client.get(f"/reports/customer/{ids['Pho Hoa']}?year=2026").get_data(as_text=True)
    history = PageTables(html).records("history")
    assert len(history) == 1 and history[0]["By"] == "ana@example.com" and "merged into" in history[0]["Change"]
    assert "350.00" in html      # both bill codes' spots are the survivor's
    gone = client.get(f"/reports/customer/{ids['PHỞ HÒA']}?year=2026").get_data(as_text=True)
    assert f'was merged into <a href="/reports/customer/{ids["Pho Hoa"]}">Pho Hoa</a>' in gone
