"""The booking pace page (/reports/pace): booked now and a year earlier at the same point, per
month, AE, revenue type and market, against sums over the spots of tests/pace_history.py's
workbooks, imported one day at a time; the history sentence; an ae sees only their own."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

import pytest
from werkzeug.test import Client

import pace_history as h
from ctvdb import auth_web
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app

NOW = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.timezone.utc)     # noon of Dec 2 in Los Angeles
TODAY = h.LAST_DAY
ALICE = "ALICE NGUYEN"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    return h.history(tmp_path_factory)[0]


def client(database, session_token, role="viewer", ae=None) -> Client:
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    c = Client(create_app(Config(database_path=database), now=lambda: NOW))
    c.set_cookie(auth_web.SESSION_COOKIE, session_token(database, role, ae))
    return c


def aligned(month: int) -> dt.date:
    """A year earlier, as many days before month − 12 starts as today is before `month` starts."""
    return h.start(h.add(month, -12)) - (h.start(month) - TODAY)


def last_year(month: int, **only) -> float:
    """Booked for month − 12 as of the latest snapshot on or before the aligned day."""
    return h.booked(h.add(month, -12), h.snapshot_day(aligned(month)), **only)


def test_each_month_is_booked_now_against_last_year_at_the_same_point(history, session_token):
    report = client(history, session_token).get("/reports/pace?format=json").json
    months = {r["month"]: r for r in report["tables"]["months"]["rows"]}
    assert min(months) == 202612 and 202701 in months
    for month, row in months.items():
        assert row["booked"] == h.booked(month, TODAY), month
        assert row["aligned"] == aligned(month).isoformat()
        assert row["last_year"] == last_year(month), month
        assert row["final"] == h.final(h.add(month, -12)), month
        assert row["pace"] == (round(100 * h.booked(month, TODAY) / last_year(month), 1) if last_year(month) else None)
    # Dec-26 is two days in; Dec-25 started Monday Dec 1, 2025, so "the same point" is Dec 3, 2025
    assert months[202612]["aligned"] == "2025-12-03" and months[202612]["snapshot"] == "2025-12-03"


def test_the_chosen_month_by_ae_revenue_type_and_market(history, session_token):
    tables = client(history, session_token).get("/reports/pace?month=2027-01&format=json").json["tables"]
    aes = {r["key"]: r for r in tables["aes"]["rows"]}
    assert set(aes) == {"ALICE NGUYEN", "BRANDON WU", "CARMEN REYES"}
    for ae, row in aes.items():
        spelled = next(a for a in h.AES if a.strip().upper() == ae)
        assert (row["booked"], row["last_year"]) == (h.booked(202701, TODAY, sales_person=spelled),
                                                     last_year(202701, sales_person=spelled))
    markets = {r["key"]: r["booked"] for r in tables["markets"]["rows"]}
    assert markets == {("(none)" if m == "" else m): h.booked(202701, TODAY, market=m)
                       for m in set(h.MARKETS) if h.booked(202701, TODAY, market=m)}
    types = {r["key"]: r["final"] for r in tables["revenue_types"]["rows"]}
    assert types["Internal Ad Sales"] == round(h.final(202601, revenue_type="Internal Ad Sales")
                                               + h.final(202601, revenue_type="Local"), 2)
    assert "Trade" not in types
    assert tables["aes"]["totals"]["booked"] == h.booked(202701, TODAY)


def test_the_page_draws_both_curves_and_says_what_it_compares(history, session_token):
    page = client(history, session_token).get("/reports/pace").text
    assert page.count('<polyline class="curve this"') == 2 and page.count('<polyline class="curve last"') == 2
    share = round(100 * h.booked(202612, TODAY) / h.final(202512), 1)
    assert f"This year: {share}% of last year's final" in page
    assert "Booking curve, Dec-26 against Dec-25" in page
    assert "does not reach back a year" not in page and "<script" not in page


def test_where_history_does_not_reach_back_a_year_the_page_says_so(history, private_copy, session_token):
    database = private_copy(history)
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("DELETE FROM booking_snapshots WHERE snapshot_date < '2026-03-01'")
        conn.execute("DELETE FROM snapshot_days WHERE snapshot_date < '2026-03-01'")
    conn.close()
    c = client(database, session_token)
    page = c.get("/reports/pace").text
    assert "The snapshot history starts on 2026-03-04 and does not reach back a year yet" in page
    assert "<code>ctvdb pace backfill WORKBOOK…</code>" in page
    rows = c.get("/reports/pace?format=json").json["tables"]["months"]["rows"]
    assert rows[0]["month"] == 202612 and rows[0]["last_year"] is None and rows[0]["pace"] is None


def test_with_no_snapshot_at_all_the_page_says_how_to_build_one(history, private_copy, session_token):
    database = private_copy(history)
    conn = sqlite3.connect(database)
    with conn:
        conn.execute("DELETE FROM booking_snapshots")
        conn.execute("DELETE FROM snapshot_days")
    conn.close()
    page = client(database, session_token).get("/reports/pace")
    assert page.status_code == 200
    assert "No booking snapshot has been kept yet" in page.text and "ctvdb pace backfill WORKBOOK…" in page.text


def test_an_ae_sees_only_their_own_figures(history, session_token):
    c = client(history, session_token, "ae", ae="Alice Nguyen")
    first = c.get("/reports/pace")
    assert first.status_code == 302 and first.headers["Location"].endswith("ae=ALICE+NGUYEN")
    report = c.get("/reports/pace?ae=ALICE+NGUYEN&format=json").json
    for row in report["tables"]["months"]["rows"]:
        assert row["booked"] == h.booked(row["month"], TODAY, sales_person="Alice Nguyen")
        assert row["last_year"] == last_year(row["month"], sales_person="Alice Nguyen")
    assert {r["key"] for r in report["tables"]["aes"]["rows"]} == {ALICE}
    page = c.get("/reports/pace?ae=ALICE+NGUYEN").text
    assert "BRANDON WU" not in page and "CARMEN REYES" not in page
    assert c.get("/reports/pace?ae=BRANDON+WU").status_code == 403


def test_a_month_the_page_does_not_show_is_a_sentence(history, session_token):
    c = client(history, session_token)
    r = c.get("/reports/pace?month=2025-06")
    assert r.status_code == 400 and "Pace shows Dec-26 to Nov-27: Jun-25 is not one of them." in r.text
    assert c.get("/reports/pace?month=June").status_code == 400


def test_the_sort_and_download_links_keep_the_chosen_month(history, session_token):
    page = client(history, session_token).get("/reports/pace?month=2027-02").text
    links = set(re.findall(r'href="(/reports/pace\?[^"]+)"', page))
    # the table links carry the month as the applied period, the page's downloads as it was asked
    assert links and all("from=2027-02" in link or "month=2027-02" in link for link in links), links
    assert any("sort=" in link for link in links)
    download = client(history, session_token).get("/reports/pace?from=2027-02&to=2027-02&format=json").json
    assert download["tables"]["aes"]["totals"]["booked"] == h.booked(202702, TODAY)
