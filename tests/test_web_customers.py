"""The customer pages (ctvdb/web/queries/customers.py): one customer's detail page — as an AE
who booked it, as management, gross or net — and the sector analysis. Expected figures are sums
over the workbook's rows, or over the rows a test wrote."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from ctvdb import auth, auth_web, db
from ctvdb.config import Config
from ctvdb.importer import import_workbook
from ctvdb.web import cache
from ctvdb.web.app import create_app
# The same sample and its spots as the app's tests (their fixtures, not copies of them).
from test_web_app import NOW, YEAR, PageTables, in_year, money, sample, signed_in, spot, spots  # noqa: F401
from xlsx_rows import Row, write


@pytest.fixture
def app(sample):
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    return create_app(Config(database_path=sample.database), now=lambda: NOW)


def customer_ids(database) -> dict[str, int]:
    """Bill code (agency:name) -> customer id, to find a customer's page."""
    conn = sqlite3.connect(database)
    try:
        return {(f"{agency}:{name}" if agency else name): cid
                for cid, name, agency in conn.execute("SELECT id, name, agency_chain FROM customers")}
    finally:
        conn.close()


OTHER_AE = "ZED OTHER"


@pytest.fixture(scope="module")
def shared(sample, spots, tmp_path_factory):
    """The sample's largest customer, its spots of even months handed to a second AE (the sample
    gives each account one AE): (database, bill code, its first AE, its spots as now booked)."""
    from ctvdb import summaries

    counts: dict[str, int] = {}
    for s in spots:
        counts[s.bill_code] = counts.get(s.bill_code, 0) + 1
    bill_code = max(counts, key=counts.get)
    database = tmp_path_factory.mktemp("shared") / "ctvdb.db"
    for source, target in ((sample.database, database), (db.auth_path(sample.database), db.auth_path(database))):
        src, dst = sqlite3.connect(source), sqlite3.connect(target)
        src.backup(dst)
        src.close()
        dst.close()
    conn = db.connect(database)
    with conn:
        conn.execute("BEGIN")
        conn.execute("UPDATE spots SET ae = ? WHERE customer_id = ? AND broadcast_month % 2 = 0",
                     (OTHER_AE, customer_ids(database)[bill_code]))
        summaries.refresh_all(conn)
    conn.close()
    mine = [SimpleNamespace(**{**vars(s), "ae": OTHER_AE if s.month % 2 == 0 else s.ae})
            for s in spots if s.bill_code == bill_code]
    (ae,) = {s.ae for s in mine} - {OTHER_AE}
    return database, bill_code, ae, mine


@pytest.fixture
def shared_app(shared):
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    return create_app(Config(database_path=shared[0]), now=lambda: NOW)


def as_json(client, url: str) -> dict:
    response = client.get(url + "&format=json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.loads(response.data)["tables"]


# An AE and their customers ---------------------------------------------------------------------

def test_an_ae_opens_their_own_customer_with_only_their_figures(shared_app, shared, session_token):
    database, bill_code, ae, spots_of_customer = shared
    theirs = [s for s in spots_of_customer if s.ae == ae]
    others = {s.ae for s in spots_of_customer} - {ae}
    assert theirs and others
    client = signed_in(shared_app, session_token(database, role="ae", ae=ae.title()))
    cid = customer_ids(database)[bill_code]

    sent = client.get(f"/reports/customer/{cid}?year={YEAR}")
    assert sent.status_code == 302
    assert parse_qs(urlsplit(sent.headers["Location"]).query) == {"year": [str(YEAR)], "ae": [ae]}
    page = client.get(f"/reports/customer/{cid}?year={YEAR}&ae={ae}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    this_year = [s for s in theirs if in_year(s)]
    assert f"${money(sum(s.gross for s in this_year))}" in html            # the year's card
    assert f"${money(sum(s.gross for s in theirs))}" in html                # the all-time card
    assert not [name for name in others if name.title() in html or name in html]

    tables = as_json(client, f"/reports/customer/{cid}?year={YEAR}&ae={ae}")
    years = {r["year"]: r for r in tables["years"]["rows"]}
    assert years[str(YEAR)]["gross"] == pytest.approx(sum(s.gross for s in this_year))
    assert years[str(YEAR - 1)]["net"] == pytest.approx(sum(s.net for s in theirs if in_year(s, YEAR - 1)))
    assert sum(r["spots"] for r in tables["trend"]["rows"]) == sum(1 for s in theirs if s.month // 100 in (YEAR, YEAR - 1))
    assert [r["ae"] for r in tables["aes"]["rows"]] == [ae]
    assert sum(r["spots"] for r in tables["languages"]["rows"]) == len(this_year)
    assert sum(r["spots"] for r in tables["markets"]["rows"]) == len(this_year)
    assert sum(r["amount"] for r in tables["markets"]["rows"]) == pytest.approx(sum(s.gross for s in this_year))
    assert sum(r["spots"] for r in tables["bill_codes"]["rows"]) == len(theirs)
    assert {r["ae"] for r in tables["recent_spots"]["rows"]} == {ae}
    assert len(tables["recent_spots"]["rows"]) == min(25, len(theirs))
    conn = sqlite3.connect(database)
    latest = [r[0] for r in conn.execute(
        "SELECT air_date FROM spots WHERE customer_id = ? AND ae = ? ORDER BY air_date DESC LIMIT 25", (cid, ae))]
    conn.close()
    assert [r["air_date"] for r in tables["recent_spots"]["rows"]] == latest


def test_an_ae_is_refused_a_customer_they_never_booked(app, sample, spots, shared, session_token):
    _, _, ae, _ = shared
    booked = {s.bill_code for s in spots if s.ae == ae}
    never = sorted({s.bill_code for s in spots} - booked)[0]
    cid = customer_ids(sample.database)[never]
    client = signed_in(app, session_token(sample.database, role="ae", ae=ae))
    response = client.get(f"/reports/customer/{cid}?year={YEAR}", follow_redirects=True)
    assert response.status_code == 403
    assert "You can see only the customers you have booked." in response.get_data(as_text=True)
    assert client.get(f"/reports/customer/{cid}?year={YEAR}&ae={ae}&format=csv").status_code == 403


def test_management_sees_the_customer_s_full_figures(shared_app, shared, session_token):
    database, bill_code, _, mine = shared
    client = signed_in(shared_app, session_token(database, role="management"))
    cid = customer_ids(database)[bill_code]
    assert client.get(f"/reports/customer/{cid}?year={YEAR}").status_code == 200
    tables = as_json(client, f"/reports/customer/{cid}?year={YEAR}")
    years = {r["year"]: r for r in tables["years"]["rows"]}
    assert years[str(YEAR)]["gross"] == pytest.approx(sum(s.gross for s in mine if in_year(s)))
    assert {r["ae"] for r in tables["aes"]["rows"]} == {s.ae for s in mine if in_year(s)}


def test_an_ae_s_link_to_a_customer_carries_their_own_ae(sample, session_token):
    conn = db.connect_auth(sample.database)
    try:
        token = session_token(sample.database, role="ae", ae="Frank Tran")
        user = auth.session_user(conn, token, idle=dt.timedelta(days=1))
    finally:
        conn.close()
    principal = auth_web.Principal(user, "token", "session")
    assert auth_web.may_open(principal, "customer_detail", ae=principal.ae)
    assert not auth_web.may_open(principal, "customer_detail", ae="ELAINE CHAN")


# Gross or net ------------------------------------------------------------------------------------

def test_a_net_page_shows_net_cards_a_change_and_a_way_back(shared_app, shared, session_token):
    database, bill_code, _, mine = shared
    client = signed_in(shared_app, session_token(database, role="management"))
    cid = customer_ids(database)[bill_code]
    url = f"/reports/customer/{cid}?year={YEAR}&measure=net"
    html = client.get(url).get_data(as_text=True)
    this = sum(s.net for s in mine if in_year(s))
    last = sum(s.net for s in mine if in_year(s, YEAR - 1))
    assert f"<dt>{YEAR} net</dt><dd>${money(this)}</dd>" in html
    assert f"<dt>{YEAR - 1} net</dt><dd>${money(last)}</dd>" in html
    assert " gross</dt>" not in html
    assert "24-month trend (net)" in html
    assert 'href="/reports/revenue-dashboard-customer?year=2026&amp;measure=net"' in html
    tables = as_json(client, url)
    columns = {c["key"]: c["kind"] for c in tables["years"]["columns"]}
    assert columns["change"] == "change" and columns["change_pct"] == "change_pct"
    years = {r["year"]: r for r in tables["years"]["rows"]}
    assert years[str(YEAR)]["change"] == pytest.approx(this - last, abs=0.01)
    assert years[str(YEAR)]["change_pct"] == pytest.approx(100 * (this - last) / last, abs=0.05)


# Languages, markets, months: a small workbook the test wrote -----------------------------------

NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def small(tmp_path_factory, session_token):
    folder = tmp_path_factory.mktemp("customer")
    rows = ([Row(bill_code="Golden Dragon", language="E", market="SEA", gross=100.0, line=n) for n in range(3)]
            + [Row(bill_code="Golden Dragon", language="EN", market="SEA", gross=50.0, line=10 + n) for n in range(2)]
            + [Row(bill_code="Golden Dragon", language="ENG", market="LAX", gross=20.0, line=20,
                   month=DEC, air_date=dt.date(2026, 12, 8))]
            + [Row(bill_code="Golden Dragon", language="M", market="LAX", gross=400.0, line=21)])
    write(folder / "log.xlsx", {"Commercials": rows})
    import_workbook(folder / "ctvdb.db", folder / "log.xlsx", mode="manual", auto_setup=True)
    cache.REPORTS.clear()
    app = create_app(Config(database_path=folder / "ctvdb.db"), now=lambda: NOW)
    return signed_in(app, session_token(folder / "ctvdb.db", role="viewer"))


def test_a_language_group_is_one_row_with_its_codes_beside_it(small):
    tables = as_json(small, f"/reports/customer/1?year={YEAR}")
    rows = {r["language"]: r for r in tables["languages"]["rows"]}
    assert set(rows) == {"English", "Chinese"}
    assert rows["English"]["spots"] == 6 and rows["English"]["amount"] == 100.0 * 3 + 50.0 * 2 + 20.0
    assert rows["English"]["codes"] == "E 3, EN 2, ENG 1"
    assert rows["Chinese"]["codes"] == "M 1"
    page = PageTables(small.get(f"/reports/customer/1?year={YEAR}").get_data(as_text=True))
    assert [r["Language"] for r in page.records("languages")] == ["English", "Chinese"]


def test_markets_show_their_names_with_the_code(small):
    page = PageTables(small.get(f"/reports/customer/1?year={YEAR}").get_data(as_text=True))
    markets = {r["Market"]: r for r in page.records("markets")}
    assert set(markets) == {"Seattle (SEA)", "Los Angeles (LAX)"}
    assert markets["Los Angeles (LAX)"]["Spots"] == "2"


def test_months_and_dates_are_months_and_dates(small):
    tables = as_json(small, f"/reports/customer/1?year={YEAR}")
    kinds = {t: {c["key"]: c["kind"] for c in tables[t]["columns"]} for t in tables}
    assert kinds["trend"]["month"] == "month" and kinds["recent_spots"]["month"] == "month"
    assert kinds["bill_codes"]["first"] == kinds["bill_codes"]["last"] == "month"
    assert kinds["recent_spots"]["air_date"] == "date" and kinds["aes"]["ae"] == "ae"
    assert [r["month"] for r in tables["trend"]["rows"]][-2:] == [202611, 202612]
    assert (tables["bill_codes"]["rows"][0]["first"], tables["bill_codes"]["rows"][0]["last"]) == (202611, 202612)
    assert tables["recent_spots"]["rows"][0]["air_date"] == "2026-12-08"


# Sector analysis ---------------------------------------------------------------------------------

def test_a_net_sector_page_shows_net_cards_and_net_bars(app, sample, spots, session_token):
    client = signed_in(app, session_token(sample.database, role="management"))
    html = client.get(f"/reports/sector-analysis?year={YEAR}&measure=net").get_data(as_text=True)
    net = sum(s.net for s in spots if in_year(s))
    assert f"<dt>{YEAR} net</dt><dd>${money(net)}</dd>" in html
    assert "Share of net by sector" in html
    tables = as_json(client, f"/reports/sector-analysis?year={YEAR}&measure=net")
    (row,) = tables["sectors"]["rows"]
    assert (row["sector"], row["sector_code"]) == ("Unassigned", "NONE")
    assert row["amount"] == pytest.approx(net)
    assert {c["key"]: c["kind"] for c in tables["sectors"]["columns"]}["sector"] == "sector"
    assert {r["sector_code"] for r in tables["top_customers"]["rows"]} == {"NONE"}


@pytest.mark.parametrize("role, sees_the_command", [("management", False), ("viewer", False), ("admin", True)])
def test_only_an_admin_is_told_the_sector_command(app, sample, session_token, role, sees_the_command):
    client = signed_in(app, session_token(sample.database, role=role))
    html = client.get(f"/reports/sector-analysis?year={YEAR}").get_data(as_text=True)
    assert "Sectors are assigned by an administrator; customers without one show as Unassigned." in html
    assert ("ctvdb sectors load" in html) == sees_the_command
