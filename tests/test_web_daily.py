"""The daily pages (issue 13): /me, an AE's own day, and /manager, the AEs' scoreboard, through
the app with real sessions. Two workbooks, imported on consecutive days, and the budgets and
forecasts this module enters; every expected figure is summed here from those rows and records."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, db, importer, planning
from ctvdb.config import Config
from ctvdb.web.app import create_app
from xlsx_rows import Row, write

DAY1, DAY2 = dt.date(2026, 11, 19), dt.date(2026, 11, 20)   # both in broadcast month Nov-26
ALICE, BRANDON = "ALICE NGUYEN", "BRANDON WU"
SECRET = "Brandon Secret Client"


def month(m: int) -> dt.date:
    return dt.date(m // 100, m % 100, 1)


# (bill code, AE, broadcast month, gross) as booked on day 1; day 2 adds and cuts some.
DAY1_ROWS = [
    ("Pho Hoa", "Alice Nguyen", 202511, 1000.0), ("Pho Hoa", "Alice Nguyen", 202610, 400.0),
    ("Pho Hoa", "Alice Nguyen", 202611, 250.0), ("Pho Hoa", "Alice Nguyen", 202612, 300.0),
    ("Wells Fargo", "Alice Nguyen", 202601, 5000.0), ("Wells Fargo", "Alice Nguyen", 202611, 750.0),
    ("Wells Fargo", "Alice Nguyen", 202701, 900.0),
    (SECRET, "Brandon Wu", 202511, 2000.0), (SECRET, "Brandon Wu", 202611, 1200.0),
    (SECRET, "Brandon Wu", 202612, 800.0),
]
DAY2_ROWS = [r for r in DAY1_ROWS if not (r[0] == SECRET and r[2] == 202612)] + [
    ("Pho Hoa", "Alice Nguyen", 202612, 125.0), ("Tempur Sealy", "Alice Nguyen", 202611, 60.0)]
BUDGETS = {(ALICE, 202611): 1000.0, (ALICE, 202610): 500.0, (ALICE, 202612): 600.0, (BRANDON, 202611): 1500.0}
FORECASTS = {(ALICE, 202611): 1100.0, (ALICE, 202612): 450.0, (BRANDON, 202611): 1300.0}
# Nov-25 as booked on the day a year before DAY2 at the same point of its month (broadcast Nov-25
# starts Mon 27 Oct 2025, 25 days before 21 Nov; Nov-26 starts Mon 26 Oct 2026, 25 days before DAY2).
LAST_YEAR_DAY, LAST_YEAR_BOOKED = "2025-11-21", {ALICE: 800.0, BRANDON: 1600.0}


def rows(booked) -> list[Row]:
    out = []
    for i, (code, ae, m, gross) in enumerate(booked):
        out.append(Row(bill_code=code, month=month(m), air_date=month(m) + timedelta(days=3 + i % 5), gross=gross,
                       net=gross * 0.85, line=i + 1, sales_person=ae))
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("daily")
    path = tmp / "ctvdb.db"
    db.init(path)
    for day, booked in ((DAY1, DAY1_ROWS), (DAY2, DAY2_ROWS)):
        write(tmp / f"{day}.xlsx", {"Commercials": rows(booked)})
        importer.import_workbook(path, tmp / f"{day}.xlsx", mode="manual", auto_setup=True, today=day)
    conn = db.connect(path)
    with conn:
        conn.execute("INSERT INTO snapshot_days VALUES (?, '2025-11-21T12:00:00Z', NULL, 'test')", (LAST_YEAR_DAY,))
        conn.executemany("INSERT INTO booking_snapshots (snapshot_date, broadcast_month, ae, revenue_type, market_code,"
                         " spots, gross, net) VALUES (?, 202511, ?, 'Internal Ad Sales', 'SFO', 1, ?, ?)",
                         [(LAST_YEAR_DAY, ae, g, g * 0.85) for ae, g in LAST_YEAR_BOOKED.items()])
    for kind, cells in (("budget", BUDGETS), ("forecast", FORECASTS)):
        planning.save(conn, "boss@example.com", kind, [planning.Edit(ae, m, amount) for (ae, m), amount in cells.items()],
                      "web")
    conn.close()
    conn = db.connect_auth(path)
    tokens = {}
    for email, role, ae in (("boss@example.com", "management", None), ("viewer@example.com", "viewer", None),
                            ("alice@example.com", "ae", "Alice Nguyen")):
        user = auth.add_user(conn, email, "not used in tests 1", role, ae=ae)
        tokens[email] = auth.start_session(conn, user, timedelta(hours=1))
    conn.close()
    now = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.timezone.utc)
    return create_app(Config(database_path=path), now=lambda: now), tokens


def client(site, email) -> Client:
    app, tokens = site
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, tokens[email])
    return c


def booked(ae: str | None, months, day_rows=DAY2_ROWS) -> float:
    return round(sum(g for _, a, m, g in day_rows if m in months and (ae is None or a.upper() == ae)), 2)


def plan(cells, ae: str | None, months) -> float | None:
    found = [v for (a, m), v in cells.items() if m in months and (ae is None or a == ae)]
    return round(sum(found), 2) if found else None


Q4 = (202610, 202611, 202612)
YEAR = tuple(202600 + m for m in range(1, 13))


def test_an_ae_s_day_has_their_month_quarter_and_year_against_forecast_and_budget(site):
    page = client(site, "alice@example.com").get("/me?ae=ALICE+NGUYEN&format=json").json
    periods = page["tables"]["periods"]["rows"]
    assert [p["period"] for p in periods] == ["This month", "Q4 2026", "Year 2026"]
    for row, months in zip(periods, ((202611,), Q4, YEAR)):
        assert row["booked"] == booked(ALICE, months)
        assert row["last_year"] == booked(ALICE, tuple(m - 100 for m in months))
        assert row["budget"] == plan(BUDGETS, ALICE, months)
        assert row["forecast"] == plan(FORECASTS, ALICE, months)
    # still to book = forecast − booked over the open months with a forecast (all are open here)
    assert periods[0]["still_to_book"] == round(1100.0 - booked(ALICE, (202611,)), 2)
    assert periods[1]["still_to_book"] == round(1100.0 + 450.0 - booked(ALICE, (202611, 202612)), 2)


def test_an_ae_s_accounts_have_their_last_twelve_months_this_month_and_what_is_booked_ahead(site):
    page = client(site, "alice@example.com").get("/me?ae=ALICE+NGUYEN&format=json").json
    accounts = {r["customer"]: r for r in page["tables"]["accounts"]["rows"]}
    assert set(accounts) == {"Pho Hoa", "Wells Fargo", "Tempur Sealy"}
    trailing = tuple(range(202511, 202513)) + tuple(range(202601, 202611))   # Nov-25..Oct-26
    for name, row in accounts.items():
        mine = [r for r in DAY2_ROWS if r[0] == name]
        assert row["trailing"] == round(sum(g for _, _, m, g in mine if m in trailing), 2)
        assert row["this_month"] == round(sum(g for _, _, m, g in mine if m == 202611), 2)
        assert row["ahead"] == round(sum(g for _, _, m, g in mine if m > 202611), 2)
    assert [r["customer"] for r in page["tables"]["accounts"]["rows"]][0] == "Wells Fargo"   # largest first


def test_an_ae_sees_only_their_own_day(site):
    c = client(site, "alice@example.com")
    assert c.get("/me").status_code == 302 and c.get("/me").headers["Location"].endswith("ae=ALICE+NGUYEN")
    assert c.get("/me?ae=BRANDON+WU").status_code == 403
    for fmt in ("", "&format=csv", "&format=json"):
        text = c.get(f"/me?ae=ALICE+NGUYEN{fmt}").text
        assert SECRET not in text and BRANDON not in text.upper()
    page = c.get("/me?ae=ALICE+NGUYEN").text
    assert 'href="/planning/?year=2026"' in page   # where they enter this month's forecast
    # contracts added in the last 15 days: both import days are, so every customer of hers booked
    added = c.get("/me?ae=ALICE+NGUYEN&format=json").json["tables"]["added"]["rows"]
    assert {r["customer"] for r in added} == {"Pho Hoa", "Wells Fargo", "Tempur Sealy"}


def test_an_ae_lands_on_their_day_after_signing_in(site, cheap_scrypt):
    app, _ = site
    conn = db.connect_auth(app.config.database_path)
    auth.add_user(conn, "ana.ae@example.com", "ana's password 1", "ae", ae="Alice Nguyen")
    conn.close()
    c = Client(app)
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/signin").text).group(1)
    r = c.post("/signin", data={"email": "ana.ae@example.com", "password": "ana's password 1", "csrf_token": token,
                                "next": "/reports/"}, headers={"Origin": "http://localhost"})
    assert r.status_code == 303 and r.headers["Location"] == "/me"


def test_a_manager_chooses_whose_day_to_see(site):
    c = client(site, "boss@example.com")
    page = c.get("/me").text
    assert 'href="/me?ae=ALICE+NGUYEN"' in page and 'href="/me?ae=BRANDON+WU"' in page
    brandon = c.get("/me?ae=BRANDON+WU&format=json").json["tables"]["periods"]["rows"][0]
    assert brandon["booked"] == booked(BRANDON, (202611,)) and brandon["budget"] == 1500.0


@pytest.mark.parametrize("email", ["viewer@example.com", "alice@example.com"])
def test_the_manager_s_scoreboard_is_refused_to_viewers_and_aes(site, email):
    r = client(site, email).get("/manager")
    assert r.status_code == 403 and auth_web.NOT_MANAGER in html.unescape(r.text)
    assert "/manager" not in client(site, email).get("/reports/", follow_redirects=True).text


def test_the_scoreboard_has_every_ae_and_the_company_for_the_month_quarter_and_year(site):
    page = client(site, "boss@example.com").get("/manager?format=json").json["tables"]
    for name, months in (("score_month", (202611,)), ("score_quarter", Q4), ("score_year", YEAR)):
        table = page[name]
        by_ae = {r["ae"]: r for r in table["rows"]}
        assert set(by_ae) == {ALICE, BRANDON}
        for ae, row in by_ae.items():
            assert row["booked"] == booked(ae, months) and row["budget"] == plan(BUDGETS, ae, months)
            assert row["forecast"] == plan(FORECASTS, ae, months)
        assert table["totals"]["booked"] == booked(None, months)
        assert table["totals"]["budget"] == plan(BUDGETS, None, months)


def test_the_largest_changes_since_the_day_before_are_each_customer_s_open_months(site):
    changes = client(site, "boss@example.com").get("/manager?format=json").json["tables"]["changes"]["rows"]

    def open_gross(day_rows):
        sums = defaultdict(float)
        for code, _, m, g in day_rows:
            if m >= 202611:
                sums[code] += g
        return sums
    before, after = open_gross(DAY1_ROWS), open_gross(DAY2_ROWS)
    expected = {code: round(after.get(code, 0) - before.get(code, 0), 2) for code in set(before) | set(after)}
    expected = {code: change for code, change in expected.items() if change}
    assert {r["customer"]: r["change"] for r in changes} == expected
    assert [r["customer"] for r in changes] == sorted(expected, key=lambda c: -abs(expected[c]))
    assert changes[0]["customer"] == SECRET and changes[0]["change"] == -800.0


def test_the_month_s_scoreboard_has_each_ae_s_booking_pace_against_last_year_at_the_same_point(site):
    table = client(site, "boss@example.com").get("/manager?format=json").json["tables"]["score_month"]
    for row in table["rows"]:
        assert row["booking_pace"] == round(100 * booked(row["ae"], (202611,)) / LAST_YEAR_BOOKED[row["ae"]], 1)
    assert table["totals"]["booking_pace"] == round(100 * booked(None, (202611,)) / sum(LAST_YEAR_BOOKED.values()), 1)
