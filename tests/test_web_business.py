"""/reports/new-business through the WSGI app, signed in (issue 13): the three tables with the
figures of the workbooks tests/business_logs.py writes, an ae's own rows only, the note while there is
one import day, `days=`, sorting and the CSV of each table."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from werkzeug.test import Client

from ctvdb import auth_web, db
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app
from business_logs import ALICE, BRANDON, CONTRACTS, COPY_IN, DAY1, DAY2, open_gross, run, workbook

NOW = dt.datetime(2026, 11, 17, 20, 0, tzinfo=dt.timezone.utc)   # Tue 17 Nov 2026, noon Pacific: DAY2


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("business")
    path = folder / "ctvdb.db"
    db.init(path)
    run(path, workbook(folder / "day1.xlsx", 1), DAY1)
    run(path, workbook(folder / "day2.xlsx", 2), DAY2)
    return path


def client(database, session_token, role="management", ae=None, now=NOW) -> Client:
    cache.REPORTS.clear()
    c = Client(create_app(Config(database_path=database), now=lambda: now))
    c.set_cookie(auth_web.SESSION_COOKIE, session_token(database, role, ae))
    return c


def table(c, name, query="") -> list[dict]:
    report = c.get(f"/reports/new-business?format=json{query}").json
    return report["tables"][name]["rows"]


def test_the_page_shows_the_three_tables_with_the_workbooks_figures(database, session_token):
    c = client(database, session_token)
    page = c.get("/reports/new-business")
    assert page.status_code == 200
    text = html.unescape(page.text)
    for title in ("Contracts added in the last 15 days", "Cancellations and reductions: Mon 16 Nov 2026 to Tue 17 Nov 2026",
                  "Waiting for copy, airing in the next 14 days"):
        assert f"<h2>{title}</h2>" in text
    assert "from Tue 17 Nov 2026 to Tue 1 Dec 2026" in text and "from Tue 3 Nov 2026 to Tue 17 Nov 2026" in text
    before, after = open_gross(1), open_gross(2)
    assert {r["contract"]: (r["before"], r["after"]) for r in table(c, "reductions")} == {
        k: (before[k], after[k]) for k in ("C300", "C400", "C500")}
    assert [r["media"] for r in table(c, "copy")] == [media for _, media, _ in COPY_IN]
    assert {r["contract"] for r in table(c, "added")} == set(CONTRACTS)
    # customers link to their pages; a cancellation reads as one
    assert re.search(r'<a href="/reports/customer/\d+">Tempur Sealy</a>', page.text)
    assert "cancelled" in text and "reduced" in text


def test_days_chooses_the_window_and_sorting_and_downloads_keep_it(database, session_token):
    c = client(database, session_token)
    assert [r["contract"] for r in table(c, "added", "&days=1")] == ["C900"]
    page = c.get("/reports/new-business?days=1").text
    assert "Contracts added in the last 1 days" in page
    links = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    sort_links = [h for h in links if "sort=" in h]
    downloads = [h for h in links if "table=" in h]
    assert sort_links and downloads and all("days=1" in h for h in sort_links + downloads)
    sorted_page = c.get("/reports/new-business?days=1&sort=added.contract&dir=asc")
    assert sorted_page.status_code == 200 and 'value="1"' in sorted_page.text
    rows = list(csv.reader(io.StringIO(c.get("/reports/new-business?days=1&format=csv&table=added").text)))
    assert [row[0] for row in rows[1:]] == ["C900"]


@pytest.mark.parametrize("days", ["0", "367", "ten", "-3"])
def test_a_bad_number_of_days_is_one_sentence(database, session_token, days):
    r = client(database, session_token).get("/reports/new-business", query_string={"days": days})
    assert r.status_code == 400 and "is not a number from 1 to 366" in html.unescape(r.text)


@pytest.mark.parametrize("who", [ALICE, BRANDON])
def test_an_ae_user_sees_only_their_own(database, session_token, who):
    c = client(database, session_token, role="ae", ae=who)
    r = c.get("/reports/new-business")
    assert r.status_code == 302 and f"ae={who.upper().replace(' ', '+')}" in r.headers["Location"]
    page = c.get(r.headers["Location"])
    assert page.status_code == 200
    choices = re.findall(r'<option value="([^"]*)"', re.search(r'<select name="ae">(.*?)</select>', page.text, re.S)[1])
    assert choices == [who.upper()]
    query = f"&ae={who.upper()}"
    assert {r["contract"] for r in table(c, "added", query)} == {k for k, v in CONTRACTS.items() if v[0] == who}
    assert {r["ae"] for name in ("added", "reductions", "copy") for r in table(c, name, query)} == {who.upper()}
    other = BRANDON if who == ALICE else ALICE
    assert c.get("/reports/new-business", query_string={"ae": other.upper()}).status_code == 403


def test_with_one_import_day_the_page_says_so_instead_of_an_empty_table(database, session_token):
    c = client(database, session_token, now=dt.datetime(2026, 11, 16, 20, 0, tzinfo=dt.timezone.utc))
    page = html.unescape(c.get("/reports/new-business").text)
    assert "There is only one import day so far (2026-11-16)" in page
    assert "No contract was cancelled" not in page
    # Day 1's own contracts are all added that day
    assert {r["contract"] for r in table(c, "added")} == {k for k, g in open_gross(1).items() if g}


def test_the_reports_index_lists_the_page(database, session_token):
    page = client(database, session_token, role="viewer").get("/reports/").text
    assert 'href="/reports/new-business"' in page and "New and changed business" in page


def test_every_heading_sorts_and_every_table_downloads(database, session_token):
    c = client(database, session_token)
    page = c.get("/reports/new-business?days=3").text
    sort_links = [html.unescape(h) for h in re.findall(r'<a class="sort" href="([^"]+)"', page)]
    assert len(sort_links) == 10 + 9 + 8     # the shown columns of the three tables
    for href in sort_links:
        assert c.get(href).status_code == 200, href
    shown = c.get("/reports/new-business?days=3&format=json").json["tables"]
    for name in ("added", "reductions", "copy"):
        body = c.get(f"/reports/new-business?days=3&format=csv&table={name}").get_data().decode("utf-8-sig")
        assert len(list(csv.reader(io.StringIO(body)))) == 1 + len(shown[name]["rows"]), name
    xlsx = c.get("/reports/new-business?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.get_data()[:2] == b"PK"
    # sorted by gross, smallest first: the added contracts in that order
    rows = c.get("/reports/new-business?days=3&sort=added.gross&dir=asc&format=json").json["tables"]["added"]["rows"]
    assert [r["gross"] for r in rows] == sorted(r["gross"] for r in shown["added"]["rows"])
