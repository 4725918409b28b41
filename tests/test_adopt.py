"""`ctvdb adopt` (issue 17), the core: spots, months, customers, agencies, identity, reconciliation.

The source is written by tests/source_db.py in CTV BookedBiz DB's layout, with its quirks: months
as `Mmm-YY` text, a spot whose customer_id is wrong but whose audit-view attribution is right,
case-duplicate customers, an alias pointing at an inactive customer, an inactive alias, and the
older customer_mappings table disagreeing with entity_aliases. Every expected figure is added up
here from the rows this file generated, with the attribution written out by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import sqlite3
from collections import defaultdict

import pytest

import source_db
from ctvdb import db, importer
from ctvdb.adopt import AdoptError, adopt
from ctvdb.cli import main
from xlsx_rows import Row, write

TODAY = dt.date(2025, 1, 20)
MONTHS = ["Sep-24", "Oct-24", "Nov-24", "Dec-24", "Jan-25", "Feb-25"]
FIRST_DAY = {"Sep-24": "2024-09-02", "Oct-24": "2024-09-30", "Nov-24": "2024-10-28", "Dec-24": "2024-11-25",
             "Jan-25": "2024-12-30", "Feb-25": "2025-01-27"}
CLOSED = {"Sep-24": ("2024-10-03", "Dana Ortiz"), "Oct-24": ("2024-11-04", "Dana Ortiz"),
          "Nov-24": ("2024-12-02", "Lee Park")}
YYYYMM = {label: 2000_00 + int(label[-2:]) * 100 + ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                    "Oct", "Nov", "Dec"].index(label[:3]) + 1 for label in MONTHS}

# bill code in the source's spots, the customer_id the source stored on them, the customer the
# spots belong to after the source's identity decisions (written out by hand).
BILL_CODES = [
    ("Admerasia:McDonald's", 10, 10),
    ("IW Group:Toyota", 11, 11),
    ("Golden Dragon Restaurant", 12, 12),
    ("Admerasia", 20, 20),             # case duplicates the source split: two customers
    ("ADMERASIA", 21, 21),
    ("Lucky Casino", None, 14),        # active alias -> inactive customer 14
    ("Pho Hoa", 12, 15),               # customer_id wrong; the audit view says 15
    ("Toyota Dealers Association", 16, 16),   # alias of 16; customer_mappings says 11
    ("New Advertiser Inc", None, None),  # no customer in the source: ctvdb creates one
]
SALES = ["Charmaine Lane", "jose ruiz", "House", ""]
REVENUE = ["Internal Ad Sales", "Internal Ad Sales", "Direct Response Sales", "Paid Programming", "Branded Content"]


def _spot_rows(seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for number in range(1, 321):
        code, stored, _ = BILL_CODES[number % len(BILL_CODES)]
        if code == "ADMERASIA" and number % 2:      # fewer spots than "Admerasia"
            code, stored, _ = BILL_CODES[3]
        label = MONTHS[number % len(MONTHS)]
        gross = round(rng.uniform(0, 900), 2) if number % 11 else 0.0
        day = dt.date.fromisoformat(FIRST_DAY[label]) + dt.timedelta(days=number % 27)
        rows.append(dict(
            spot_id=1000 + number, bill_code=code, customer_id=stored, broadcast_month=label,
            air_date=day.isoformat(), gross_rate=gross, station_net=round(gross * 0.85, 2) if number % 5 else None,
            sales_person=SALES[number % len(SALES)], revenue_type=REVENUE[number % len(REVENUE)],
            market_id=1 + number % 3, language_code=["M", "C", "V", "K", "E"][number % 5],
            spot_type=["COM", "BNS", "COM", "PRD"][number % 4], contract=f"C{number % 17}",
            import_batch_id="B1" if label in CLOSED else "B2"))
    for number in range(321, 326):   # Trade: the source's reports leave it out, ctvdb never stores it
        rows.append(dict(spot_id=1000 + number, bill_code="IW Group:Toyota", customer_id=11, broadcast_month="Dec-24",
                         air_date="2024-12-02", gross_rate=50.0, station_net=40.0, sales_person="House",
                         revenue_type="Trade", market_id=1, import_batch_id="B2"))
    return rows


def build_source(path, rows: list[dict]):
    conn = source_db.create_source(path)
    for code, name in (("SEA", "Seattle"), ("SFO", "San Francisco"), ("LAX", "Los Angeles")):
        source_db.market(conn, code, name)
    source_db.agency(conn, 1, "Admerasia")
    source_db.agency(conn, 2, "IW Group")
    source_db.agency(conn, 3, "Mass Media")
    source_db.customer(conn, 10, "Admerasia:McDonald's", agency_id=1)
    source_db.customer(conn, 11, "IW Group:Toyota", agency_id=2)
    source_db.customer(conn, 12, "Golden Dragon Restaurant")
    source_db.customer(conn, 14, "Old Casino", active=False)
    source_db.customer(conn, 15, "Pho Hoa")
    source_db.customer(conn, 16, "Toyota Dealers Assn")
    source_db.customer(conn, 20, "Admerasia")
    source_db.customer(conn, 21, "ADMERASIA")
    source_db.customer(conn, 30, "Quiet Customer No Spots")
    source_db.alias(conn, "Lucky Casino", 14)
    source_db.alias(conn, "Toyota Dealers Association", 16)
    source_db.alias(conn, "Golden Dragon", 11, active=False)
    source_db.alias(conn, "MassMedia", 3, entity_type="agency")
    source_db.mapping(conn, "Toyota Dealers Association", 11)
    source_db.raw_input(conn, "Pho Hoa")
    for label, (day, by) in CLOSED.items():
        source_db.close_month(conn, label, day, by)
    source_db.batch(conn, "B1", mode="HISTORICAL", source_file="Commercial Log 241202.xlsx",
                    import_date="2024-12-02 04:30:00", records=200, started_by="Lee Park")
    source_db.batch(conn, "B2", source_file="Commercial Log 250119.xlsx", import_date="2025-01-19 04:30:00")
    for row in rows:
        source_db.spot(conn, **row)
    conn.commit()
    conn.close()


def _cents(value) -> int:
    return round((value or 0) * 100)


def expected(rows: list[dict], new_customer: int):
    """month / customer / (AE, year) -> (spots, gross cents, net cents), from the rows."""
    owner = {code: customer for code, _, customer in BILL_CODES}
    owner["New Advertiser Inc"] = new_customer
    by = {"month": defaultdict(lambda: [0, 0, 0]), "customer": defaultdict(lambda: [0, 0, 0]),
          "ae": defaultdict(lambda: [0, 0, 0])}
    for row in rows:
        if row["revenue_type"] == "Trade":
            continue
        ae = row["sales_person"].strip().upper() or "UNKNOWN"
        for kind, key in (("month", YYYYMM[row["broadcast_month"]]), ("customer", owner[row["bill_code"]]),
                          ("ae", (ae, YYYYMM[row["broadcast_month"]] // 100))):
            figures = by[kind][key]
            figures[0] += 1
            figures[1] += _cents(row["gross_rate"])
            figures[2] += _cents(row["station_net"])
    return {kind: {key: tuple(v) for key, v in values.items()} for kind, values in by.items()}


def _figures(conn, sql: str) -> dict:
    return {row[0] if len(row) == 4 else tuple(row[:2]): tuple(row[-3:]) for row in conn.execute(sql)}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def rows():
    return _spot_rows()


@pytest.fixture
def source(tmp_path, rows):
    path = tmp_path / "production-copy.db"
    build_source(path, rows)
    return path


@pytest.fixture
def adopted(tmp_path, source):
    target = tmp_path / "ctvdb.db"
    result = adopt(source, target, today=TODAY)
    return target, result


def test_every_figure_after_adopt_is_the_source_s_per_month_customer_and_ae(adopted, rows):
    target, result = adopted
    conn = db.connect(target)
    new_customer = conn.execute("SELECT customer_id FROM bill_codes WHERE code_key = 'new advertiser inc'").fetchone()[0]
    assert new_customer not in {10, 11, 12, 14, 15, 16, 20, 21, 30}
    want = expected(rows, new_customer)
    cents = "sum(CAST(round(coalesce({0}, 0) * 100) AS INTEGER))"
    figures = f"count(*), {cents.format('gross_rate')}, {cents.format('station_net')}"
    assert _figures(conn, f"SELECT broadcast_month, {figures} FROM spots GROUP BY 1") == want["month"]
    assert _figures(conn, f"SELECT customer_id, {figures} FROM spots GROUP BY 1") == want["customer"]
    assert _figures(conn, f"SELECT ae, broadcast_month / 100, {figures} FROM spots GROUP BY 1, 2") == want["ae"]
    # What the report pages read: the summaries, per month and per customer.
    summary = {row[0]: (row[1], round(row[2] * 100), round(row[3] * 100)) for row in conn.execute(
        "SELECT broadcast_month, sum(spots), total(gross), total(net) FROM customer_total_summary GROUP BY 1")}
    assert summary == want["month"]
    by_customer = {row[0]: (row[1], round(row[2] * 100)) for row in conn.execute(
        "SELECT customer_id, sum(spots), total(gross) FROM customer_total_summary GROUP BY 1")}
    assert by_customer == {c: v[:2] for c, v in want["customer"].items()}
    language = {row[0]: (row[1], round(row[2] * 100)) for row in conn.execute(
        "SELECT broadcast_month, sum(spots), total(gross) FROM language_month_summary GROUP BY 1")}
    assert language == {m: v[:2] for m, v in want["month"].items()}
    assert conn.execute("SELECT count(*) FROM spot_languages").fetchone()[0] == 320
    assert result.spots == 320 and result.trade_left_out == 5
    assert result.reconciliation.ok and len(result.reconciliation.months) == len(MONTHS)
    # Source ids are ctvdb ids.
    assert conn.execute("SELECT min(id), max(id) FROM spots").fetchone()[:] == (1001, 1320)


def test_closed_months_customers_agencies_and_history_are_the_source_s(adopted):
    target, result = adopted
    conn = db.connect(target)
    closures = {row[0]: (row[1], row[2]) for row in conn.execute(
        "SELECT broadcast_month, closed_at, closed_by FROM month_closures")}
    assert closures == {YYYYMM[label]: (f"{day}T00:00:00Z", by) for label, (day, by) in CLOSED.items()}
    customers = {row[0]: tuple(row[1:]) for row in conn.execute(
        "SELECT id, name, agency_chain, agency_id, active, reviewed_at IS NULL FROM customers WHERE id < 100")}
    assert customers[10] == ("McDonald's", "Admerasia", 1, 1, 0)
    assert customers[14] == ("Old Casino", "", None, 0, 0)          # inactive, as in the source
    assert customers[20][3:] == (1, 0) and customers[21][3:] == (1, 1)   # the later duplicate waits in the queue
    reason = conn.execute("SELECT review_reason FROM customers WHERE id = 21").fetchone()[0]
    assert "customer 20" in reason and "merge" in reason
    assert 30 in customers
    # The agency alias is a spelling of agency 3; the older alias table is named, not brought.
    assert conn.execute("SELECT merged_into FROM agencies WHERE name_key = 'massmedia'").fetchone()[0] == 3
    kinds = {k.kind: k for k in result.reconciliation.kinds}
    assert [(t, i) for t, i, _ in kinds["customer_mappings"].not_brought] == [("customer_mappings", 1)]
    assert kinds["customer aliases"].in_source == 3 and kinds["customer aliases"].brought == 2
    assert "inactive" in kinds["customer aliases"].not_brought[0][2]
    batches = conn.execute("SELECT mode, status, source_file FROM import_batches ORDER BY id").fetchall()
    assert [tuple(b) for b in batches[:2]] == [
        ("historical", "COMPLETED", "Commercial Log 241202.xlsx (adopted from CTV BookedBiz DB batch B1)"),
        ("daily", "COMPLETED", "Commercial Log 250119.xlsx (adopted from CTV BookedBiz DB batch B2)")]
    assert batches[2]["status"] == "COMPLETED" and "adopted" in batches[2]["source_file"]
    spot_batches = dict(conn.execute("SELECT broadcast_month, min(batch_id) FROM spots GROUP BY 1").fetchall())
    assert spot_batches[YYYYMM["Sep-24"]] == 1 and spot_batches[YYYYMM["Jan-25"]] == 2


def test_an_alias_routes_the_next_import_s_bill_code_to_its_customer(adopted, tmp_path):
    target, _ = adopted
    rows = [Row(bill_code="Lucky Casino", air_date=dt.date(2025, 2, 3), month=dt.date(2025, 2, 1), gross=120.0,
                market="SEA"),
            Row(bill_code="Toyota Dealers Association", air_date=dt.date(2025, 2, 4), month=dt.date(2025, 2, 1),
                gross=75.5, market="SEA"),
            Row(bill_code="admerasia", air_date=dt.date(2025, 2, 5), month=dt.date(2025, 2, 1), gross=10.0,
                market="SEA")]
    write(tmp_path / "log.xlsx", {"Commercials": rows})
    importer.import_workbook(target, tmp_path / "log.xlsx", mode="manual", today=TODAY)
    conn = db.connect(target)
    got = dict(conn.execute("SELECT bill_code, customer_id FROM spots WHERE broadcast_month = 202502 AND id > 1320"))
    # The case duplicates' shared bill code goes to the one waiting in the queue until a person decides.
    assert got == {"Lucky Casino": 14, "Toyota Dealers Association": 16, "admerasia": 21}


def test_a_spot_ctvdb_cannot_take_fails_adopt_naming_it_and_the_target_holds_nothing(tmp_path, rows):
    rows[40]["gross_rate"] = "12,5O"     # the source accepted it (DECIMAL is not enforced)
    build_source(tmp_path / "bad.db", rows)
    target = tmp_path / "ctvdb.db"
    with pytest.raises(AdoptError) as caught:
        adopt(tmp_path / "bad.db", target, today=TODAY)
    assert "source table spots, spot_id 1041, column gross_rate, value '12,5O'" in str(caught.value)
    assert not target.exists() and not db.auth_path(target).exists()
    db.init(target)                          # an empty target stays empty
    with pytest.raises(AdoptError):
        adopt(tmp_path / "bad.db", target, today=TODAY)
    assert db.connect(target).execute("SELECT count(*) FROM spots").fetchone()[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "adopt" in p.name and "lock" not in p.name) == []


def test_the_source_bytes_are_unchanged_by_adopt_and_by_a_dry_run(tmp_path, source):
    before = _sha(source)
    result = adopt(source, tmp_path / "dry.db", dry_run=True, today=TODAY)
    assert result.reconciliation.ok and result.spots == 320
    assert not (tmp_path / "dry.db").exists()
    assert _sha(source) == before
    adopt(source, tmp_path / "ctvdb.db", today=TODAY)
    assert _sha(source) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["production-copy.db", "ctvdb.db", "ctvdb.auth.db", "ctvdb.db.import-lock", "dry.db.import-lock"])


def _state(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("spots", "customers", "bill_codes", "agencies", "month_closures",
                              "customer_total_summary", "spot_languages")}
    finally:
        conn.close()


def test_adopting_twice_is_refused_without_replace_and_gives_the_same_result_with_it(adopted, source):
    target, _ = adopted
    first = _state(target)
    with pytest.raises(AdoptError, match="already holds 320 spots.*--replace"):
        adopt(source, target, today=TODAY)
    assert _state(target) == first
    adopt(source, target, replace=True, today=TODAY)
    second = _state(target)
    # Timestamps of the adopt itself (reviewed_at) differ; every id, figure and decision is the same.
    strip = lambda rows: [tuple(v for i, v in enumerate(r) if i not in (6, 8, 9)) for r in rows]  # noqa: E731
    assert strip(second.pop("customers")) == strip(first.pop("customers"))
    assert second == first


def test_the_command_prints_the_reconciliation_and_writes_the_report(tmp_path, source, capsys):
    target, report = tmp_path / "ctvdb.db", tmp_path / "report.json"
    code = main(["adopt", str(source), "--db", str(target), "--report", str(report)])
    out = capsys.readouterr()
    assert code == 0, out
    assert "Adopted" in out.out.splitlines()[-1] and "320 spots in 6 months" in out.out
    assert "Nov-24" in out.out and "DIFFERENT" not in out.out
    assert "adopt: writing spots 325/325" in out.err          # plain progress lines off a terminal
    data = json.loads(report.read_text())
    assert data["status"] == "COMPLETED" and data["reconciliation"]["equal"] is True
    month = next(m for m in data["reconciliation"]["months"] if m["month"] == "Nov-24")
    rows = [r for r in _spot_rows() if r["broadcast_month"] == "Nov-24" and r["revenue_type"] != "Trade"]
    assert month["source"]["spots"] == month["ctvdb"]["spots"] == len(rows)
    assert month["ctvdb"]["gross_cents"] == sum(_cents(r["gross_rate"]) for r in rows)
    # A second run without --replace: refused, one line, exit 1.
    assert main(["adopt", str(source), "--db", str(target)]) == 1
    assert "Adopt failed: target" in capsys.readouterr().out


def test_figures_that_do_not_reconcile_fail_adopt_and_leave_the_target_as_it_was(tmp_path, source, monkeypatch):
    from ctvdb import summaries

    target = tmp_path / "ctvdb.db"
    db.init(target)
    monkeypatch.setattr(summaries, "refresh_summaries", lambda conn, months, *a, **k: None)   # summaries left empty
    with pytest.raises(AdoptError, match="do not reconcile.*Sep-24: source 53 spots"):
        adopt(source, target, today=TODAY)
    conn = db.connect(target)
    assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def test_the_users_of_an_existing_empty_target_are_kept(tmp_path, source):
    from ctvdb import auth

    target = tmp_path / "ctvdb.db"
    db.init(target)
    conn = db.connect_auth(target)
    auth.add_user(conn, "boss@station.example", "a long enough password 1", "admin")
    conn.close()
    adopt(source, target, today=TODAY)
    conn = db.connect_auth(target)
    assert auth.get_user(conn, "boss@station.example") is not None


def test_the_report_pages_show_the_source_s_figures_and_the_queue_proposes_the_case_merge(
        adopted, rows, session_token):
    from werkzeug.test import Client

    from ctvdb.auth_web import SESSION_COOKIE
    from ctvdb.config import Config
    from ctvdb.web import cache
    from ctvdb.web.app import create_app
    from test_web_app import PageTables, money

    target, _ = adopted
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    client = Client(create_app(Config(database_path=target),
                               now=lambda: dt.datetime(2025, 1, 20, 12, tzinfo=dt.timezone.utc)))
    client.set_cookie(SESSION_COOKIE, session_token(target))
    page = PageTables(client.get("/reports/monthly/revenue-summary?year=2024").get_data(as_text=True))
    shown = {r["Month"]: r for r in page.records("months")}
    for label in ("Sep-24", "Oct-24", "Nov-24", "Dec-24"):
        paid = [r for r in rows if r["broadcast_month"] == label and r["revenue_type"] == "Internal Ad Sales"
                and r["gross_rate"] > 0]   # the page counts Internal Ad Sales spots with a gross
        assert shown[label]["Spots"] == f"{len(paid):,}"
        assert shown[label]["Total gross"] == money(sum(r["gross_rate"] for r in paid))
        assert shown[label]["Status"] == ("CLOSED" if label in CLOSED else "OPEN")
    queue = client.get("/customers/review").get_data(as_text=True)
    section = queue[queue.index('id="customer-21"'):]
    section = section[:section.index("</section>")]
    assert "letter case" in section and 'name="into" value="20"' in section


def test_the_proposed_case_merge_moves_every_spot_of_the_duplicate(adopted, rows):
    from ctvdb import customers

    target, _ = adopted
    conn = db.connect(target)
    customers.merge(conn, "someone@station.example", 20, [21])
    both = sum(1 for row in rows if row["bill_code"] in ("Admerasia", "ADMERASIA"))
    assert dict(conn.execute("SELECT customer_id, count(*) FROM spots WHERE customer_id IN (20, 21) GROUP BY 1")) == {
        20: both}
    assert dict(conn.execute("SELECT customer_id, sum(spots) FROM customer_total_summary"
                             " WHERE customer_id IN (20, 21) GROUP BY 1")) == {20: both}
    # and its undo hands back exactly the duplicate's spots: each spelling to the customer the source gave it
    change_id = conn.execute("SELECT max(id) FROM changes WHERE kind = 'merge'").fetchone()[0]
    customers.undo(conn, "someone@station.example", change_id)
    split = {20: sum(1 for row in rows if row["bill_code"] == "Admerasia"),
             21: sum(1 for row in rows if row["bill_code"] == "ADMERASIA")}
    assert split[20] and split[21]
    assert dict(conn.execute("SELECT customer_id, count(*) FROM spots WHERE customer_id IN (20, 21) GROUP BY 1")) == split
    assert dict(conn.execute("SELECT customer_id, sum(spots) FROM customer_total_summary"
                             " WHERE customer_id IN (20, 21) GROUP BY 1")) == split
    assert dict(conn.execute("SELECT bill_code, customer_id FROM spots WHERE customer_id IN (20, 21)"
                             " GROUP BY 1, 2")) == {"Admerasia": 20, "ADMERASIA": 21}
