"""Month pacing (issue 11): management and AE performance for a month, a quarter to date and a
year to date, against a budget file the test writes and the same months a year before; the
reports index's headline figures; sorting by any column. Every expected figure is summed here
from the workbook's rows and the budget lines, never taken from ctvdb."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest

from ctvdb import db
from ctvdb.config import Config
from ctvdb.web import cache, reference
from ctvdb.web.app import create_app
from ctvdb.web.params import Sort
from ctvdb.web.sorting import sort_rows
# The same sample and its spots as the app's tests (their fixtures, not copies of them).
from test_web_app import NOW, PageTables, money, number, sample, signed_in, spot, spots  # noqa: F401

# NOW is 25 Nov 2026 in Pacific time: this month is Nov-26, the quarter to date Oct-26..Nov-26.
THIS_MONTH, QTD, YTD = [202611], [202610, 202611], list(range(202601, 202612))


def budget_amount(ae: str, month: int) -> float:
    return 1000.0 * (len(ae) % 5 + 1) + 7.25 * (month % 100)


@pytest.fixture(scope="module")
def budgeted(sample, spots, tmp_path_factory):
    """A copy of the sample with a budget for every AE and month of 2026, except the first AE's
    November: (database, {(AE, month): budget}, that AE)."""
    import shutil
    folder = tmp_path_factory.mktemp("pacing")
    database = folder / "ctvdb.db"
    for source, target in ((sample.database, database), (db.auth_path(sample.database), db.auth_path(database))):
        shutil.copyfile(source, target)
    aes = sorted({s.ae for s in spots})
    missing = aes[0]
    budgets = {(ae, m): budget_amount(ae, m) for ae in aes for m in range(202601, 202613)
               if (ae, m) != (missing, 202611)}
    lines = ["ae,month,amount"] + [f"{ae.title()},{m // 100}-{m % 100:02d},{amount:.2f}"
                                   for (ae, m), amount in budgets.items()]
    (folder / "budgets.csv").write_text("\n".join(lines) + "\n")
    conn = db.connect(database)
    try:
        assert reference.load_budgets(conn, folder / "budgets.csv") == len(budgets)
    finally:
        conn.close()
    return database, budgets, missing


@pytest.fixture
def client(budgeted, session_token):
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    database = budgeted[0]
    app = create_app(Config(database_path=database), now=lambda: NOW)
    return signed_in(app, session_token(database, role="management"))


def as_json(client, url: str) -> dict:
    response = client.get(url + ("&" if "?" in url else "?") + "format=json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.loads(response.get_data())


def expected(spots, budgets, months, ae=None) -> dict:
    """Booked, last year, budget, booked − budget and % of budget, summed from the rows."""
    mine = [s for s in spots if ae is None or s.ae == ae]
    booked = sum(s.gross for s in mine if s.month in months)
    last = sum(s.gross for s in mine if s.month + 100 in months)
    goals = {(a, m): v for (a, m), v in budgets.items() if m in months and (ae is None or a == ae)}
    budget = sum(goals.values()) if goals else None
    if ae is None:   # the company: every AE's booking against every AE's loaded budget
        compared = booked
    else:            # an AE: the months that have a budget
        compared = sum(s.gross for s in mine if s.month in {m for _, m in goals})
    return {"booked": round(booked, 2), "last_year": round(last, 2), "budget": budget,
            "variance": None if budget is None else round(compared - budget, 2),
            "pacing": round(100 * compared / budget, 1) if budget else None,
            "change": round(booked - last, 2)}


def check(row: dict, want: dict) -> None:
    for key in ("booked", "last_year", "change"):
        assert row[key] == pytest.approx(want[key], abs=0.011), key
    if want["budget"] is None:
        assert row["budget"] is None and row["variance"] is None and row["pacing"] is None
    else:
        assert row["budget"] == pytest.approx(want["budget"], abs=0.011)
        assert row["variance"] == pytest.approx(want["variance"], abs=0.011)
        assert row["pacing"] == pytest.approx(want["pacing"], abs=0.051)


@pytest.mark.parametrize("period, months", [("month", THIS_MONTH), ("qtd", QTD), ("ytd", YTD)])
def test_management_pacing_for_the_company_equals_the_rows_and_the_budget_file(client, spots, budgeted, period, months):
    _, budgets, _ = budgeted
    data = as_json(client, f"/reports/management-performance?period={period}")
    assert data["filters"]["first_month"] == months[0] and data["filters"]["last_month"] == months[-1]
    check(data["tables"]["aes"]["totals"], expected(spots, budgets, months))
    by_month = {r["month"]: r for r in data["tables"]["months"]["rows"]}
    assert sorted(by_month) == months
    for m in months:
        check(by_month[m], expected(spots, budgets, [m]))


@pytest.mark.parametrize("period, months", [("month", THIS_MONTH), ("qtd", QTD), ("ytd", YTD)])
def test_management_pacing_for_one_ae_equals_the_rows_and_the_budget_file(client, spots, budgeted, period, months):
    _, budgets, _ = budgeted
    ae = sorted({s.ae for s in spots})[1]
    data = as_json(client, f"/reports/management-performance?{urlencode({'period': period, 'ae': ae})}")
    (row,) = data["tables"]["aes"]["rows"]
    assert row["ae"] == ae
    check(row, expected(spots, budgets, months, ae))
    for r in data["tables"]["ae_months"]["rows"]:
        check(r, expected(spots, budgets, [r["month"]], ae))


def test_a_quarter_and_a_range_are_periods_too(client, spots, budgeted):
    _, budgets, _ = budgeted
    data = as_json(client, "/reports/management-performance?year=2026&quarter=2")
    check(data["tables"]["aes"]["totals"], expected(spots, budgets, [202604, 202605, 202606]))
    data = as_json(client, "/reports/management-performance?from=2026-02&to=2026-05")
    check(data["tables"]["aes"]["totals"], expected(spots, budgets, [202602, 202603, 202604, 202605]))


def test_a_month_without_a_budget_shows_a_dash_not_zero(client, spots, budgeted):
    _, budgets, missing = budgeted
    html = client.get("/reports/management-performance?period=month").get_data(as_text=True)
    page = PageTables(html)
    row = {r["AE"]: r for r in page.records("aes")}[missing]
    assert row["Budget"] == "—" and row["Booked − budget"] == "—" and row["% of budget"] == "—"
    assert row["Booked"] == money(sum(s.gross for s in spots if s.ae == missing and s.month == 202611))
    # Over the quarter that AE has October's budget: compared with October's booking only.
    data = as_json(client, f"/reports/management-performance?{urlencode({'period': 'qtd', 'ae': missing})}")
    check(data["tables"]["aes"]["rows"][0], expected(spots, budgets, QTD, missing))
    assert data["tables"]["aes"]["rows"][0]["budget"] == pytest.approx(budgets[(missing, 202610)])


def test_pacing_is_shaded_with_its_thresholds_said_and_the_current_month_highlighted(client, spots, budgeted):
    _, budgets, _ = budgeted
    html = client.get("/reports/management-performance?year=2026").get_data(as_text=True)
    assert "behind under 90 % of budget, near from 90 % to 100 %, ahead from 100 %" in html
    months = re.search(r'<section class="table" id="months">.*?</section>', html, re.S).group(0)
    rows = re.findall(r"<tr( class=\"current\")?>(.*?)</tr>", months.split("<tbody>")[1].split("</tbody>")[0], re.S)
    assert len(rows) == 12
    for i, (current, cells) in enumerate(rows, 1):
        month = 202600 + i
        assert bool(current) == (month == 202611)
        want = expected(spots, budgets, [month])
        shade = "pace-behind" if want["pacing"] < 90 else "pace-near" if want["pacing"] < 100 else "pace-ahead"
        assert f'<td class="num {shade}">{want["pacing"]:.1f}%</td>' in cells


def test_ae_performance_takes_the_period_too(client, spots, budgeted):
    _, budgets, _ = budgeted
    ae = sorted({s.ae for s in spots})[2]
    data = as_json(client, f"/reports/ae-dashboard?{urlencode({'period': 'qtd', 'ae': ae})}")
    check(data["tables"]["aes"]["rows"][0], expected(spots, budgets, QTD, ae))
    data = as_json(client, f"/reports/ae-dashboard?{urlencode({'period': 'ytd', 'measure': 'net'})}")
    net = sum(s.net for s in spots if s.month in YTD)
    assert data["tables"]["aes"]["totals"]["booked"] == pytest.approx(net, abs=0.011)
    assert "budget" not in {c["key"] for c in data["tables"]["aes"]["columns"]}   # budgets are gross


def test_the_index_opens_with_this_month_quarter_and_year_to_date(client, spots, budgeted):
    _, budgets, _ = budgeted
    html = client.get("/reports/").get_data(as_text=True)
    cards = re.findall(r'<a class="headline-card" href="([^"]+)">(.*?)</a>', html, re.S)
    assert [href for href, _ in cards] == [f"/reports/management-performance?period={p}"
                                           for p in ("month", "qtd", "ytd")]
    for (_, text), months in zip(cards, (THIS_MONTH, QTD, YTD)):
        want = expected(spots, budgets, months)
        assert f"${want['booked']:,.2f}" in text and f"Budget ${want['budget']:,.2f}" in text
        assert f"Last year ${want['last_year']:,.2f}" in text and f"{want['pacing']:.1f}% of budget" in text


def test_an_ae_s_index_headline_is_their_own(budgeted, spots, session_token):
    database, budgets, _ = budgeted
    ae = sorted({s.ae for s in spots})[1]
    cache.REPORTS.clear()
    app = create_app(Config(database_path=database), now=lambda: NOW)
    client = signed_in(app, session_token(database, role="ae", ae=ae.title()))
    html = client.get("/reports/").get_data(as_text=True)
    want = expected(spots, budgets, YTD, ae)
    assert f"${want['booked']:,.2f}" in html and f"Budget ${want['budget']:,.2f}" in html
    assert f"/reports/management-performance?period=ytd&amp;ae={ae.replace(' ', '+')}" in html


# Sorting -------------------------------------------------------------------------------------------

def test_sort_rows_numbers_months_and_names_as_a_person_expects():
    rows = [{"name": "Zeta", "n": 5.0, "m": 202611}, {"name": "Ánh Dương", "n": None, "m": 202501},
            {"name": "anh", "n": 5.0, "m": 202512}, {"name": "Bình", "n": -2.0, "m": 202602},
            {"name": "bob", "n": 10.0, "m": None}]
    assert [r["name"] for r in sort_rows(rows, "name", "text", False)] == ["anh", "Ánh Dương", "Bình", "bob", "Zeta"]
    assert [r["name"] for r in sort_rows(rows, "name", "text", True)] == ["Zeta", "bob", "Bình", "Ánh Dương", "anh"]
    # Numbers as numbers, ties in the report's own order both ways, an empty cell last both ways.
    assert [r["name"] for r in sort_rows(rows, "n", "money", False)] == ["Bình", "Zeta", "anh", "bob", "Ánh Dương"]
    assert [r["name"] for r in sort_rows(rows, "n", "money", True)] == ["bob", "Zeta", "anh", "Bình", "Ánh Dương"]
    assert [r["m"] for r in sort_rows(rows, "m", "month", False)] == [202501, 202512, 202602, 202611, None]


def test_every_heading_sorts_its_table_on_the_server_both_ways(client, spots, budgeted):
    html = client.get("/reports/management-performance?year=2026").get_data(as_text=True)
    headings = re.findall(r'<a class="sort" href="([^"]+)">([^<]+)</a>', html)
    assert ("/reports/management-performance?year=2026&amp;sort=variance&amp;dir=desc", "Booked − budget") in headings
    for param, desc in (("variance", True), ("variance", False), ("pacing", True), ("ae", False)):
        data = as_json(client, f"/reports/management-performance?year=2026&sort={param}&dir={'desc' if desc else 'asc'}")
        rows = data["tables"]["aes"]["rows"]
        values = [r[param] for r in rows if r[param] is not None]
        assert values == sorted(values, reverse=desc) and len(values) > 3
        assert data["tables"]["aes"]["totals"]["ae"] == "Total"    # the totals stay at the foot
    # Another table of the page: TABLE.COLUMN; months in time order.
    data = as_json(client, "/reports/management-performance?year=2026&sort=months.month&dir=desc")
    assert [r["month"] for r in data["tables"]["months"]["rows"]] == list(range(202612, 202600, -1))
    page = PageTables(client.get("/reports/management-performance?year=2026&sort=booked&dir=asc").get_data(as_text=True))
    booked = [number(r["Booked ▲"]) for r in page.records("aes")]
    assert booked == sorted(booked) and booked[-1] == max(
        sum(s.gross for s in spots if s.ae == ae and s.month // 100 == 2026) for ae in {s.ae for s in spots})


def test_a_sort_by_no_such_column_is_a_sentence(client):
    response = client.get("/reports/management-performance?sort=nothing")
    assert response.status_code == 400 and "This page has no column “nothing” to sort by." in response.get_data(as_text=True)
    assert client.get("/reports/management-performance?sort=ae&dir=up").status_code == 400
    assert Sort("months", "month", True).param() == "months.month"


def test_the_current_broadcast_month_ends_on_the_last_sunday():
    import datetime as dt

    from ctvdb.web.queries import current_month
    assert current_month(dt.date(2026, 11, 25)) == 202611
    assert current_month(dt.date(2026, 11, 29)) == 202611     # Sunday: the last day of broadcast November
    assert current_month(dt.date(2026, 11, 30)) == 202612     # Monday: broadcast December begins
    assert current_month(dt.date(2026, 12, 28)) == 202701     # the week of 3 January 2027


def test_reports_leave_out_irregular_revenue_when_asked_and_say_so(sample, spots, private_copy, session_token):
    from ctvdb import customers
    database = private_copy(sample.database)
    conn = db.connect(database)
    try:
        by_code = {code: cid for cid, code in conn.execute(
            "SELECT id, CASE WHEN agency_chain = '' THEN name ELSE agency_chain || ':' || name END FROM customers")}
        political = sorted({s.bill_code for s in spots})[:3]
        for code in political:
            customers.set_class(conn, "lead@example.com", by_code[code], "irregular")
    finally:
        conn.close()
    cache.REPORTS.clear()
    client = signed_in(create_app(Config(database_path=database), now=lambda: NOW), session_token(database))
    in_2026 = [s for s in spots if s.month // 100 == 2026]
    for cls, keep in (("regular", lambda s: s.bill_code not in political), ("irregular", lambda s: s.bill_code in political),
                      ("", lambda s: True)):
        data = as_json(client, f"/reports/revenue-dashboard-customer?year=2026&revenue_class={cls}")
        assert data["tables"]["customers"]["totals"]["total"] == pytest.approx(
            sum(s.gross for s in in_2026 if keep(s)), abs=0.011)
        data = as_json(client, f"/reports/management-performance?year=2026&revenue_class={cls}")
        assert data["tables"]["aes"]["totals"]["booked"] == pytest.approx(sum(s.gross for s in in_2026 if keep(s)), abs=0.011)
    words = client.get("/reports/revenue-dashboard-customer?year=2026&revenue_class=regular&format=xlsx")
    import io

    import openpyxl
    sheet = openpyxl.load_workbook(io.BytesIO(words.get_data())).worksheets[0]
    facts = {r[0].value: r[1].value for r in sheet.iter_rows(max_row=12) if r[0].value}
    assert facts["Revenue class"] == "Regular only"
    html = client.get("/reports/management-performance?year=2026&revenue_class=irregular").get_data(as_text=True)
    assert "budgets are for every revenue type and class together" in html
    assert client.get("/reports/monthly/revenue-summary?revenue_class=political").status_code == 400


# Forecast (issue 13): booked vs forecast vs budget vs last year, and still to book -------------------

def forecast_amount(ae: str, month: int) -> float:
    return 900.0 * (len(ae) % 4 + 1) + 11.5 * (month % 100)


@pytest.fixture(scope="module")
def forecasted(budgeted, tmp_path_factory):
    """The budgeted copy again, with a forecast for every AE and month of 2026 but the last AE's
    October, and January to September closed: (database, {(AE, month): forecast}, closed months)."""
    import shutil
    from ctvdb import months as month_closes
    database, budgets, _ = budgeted
    folder = tmp_path_factory.mktemp("forecast")
    copy = folder / "ctvdb.db"
    for source, target in ((database, copy), (db.auth_path(database), db.auth_path(copy))):
        shutil.copyfile(source, target)
    aes = sorted({ae for ae, _ in budgets})
    forecasts = {(ae, m): forecast_amount(ae, m) for ae in aes for m in range(202601, 202613)
                 if (ae, m) != (aes[-1], 202610)}
    lines = ["ae,month,amount"] + [f"{ae},{m},{amount:.2f}" for (ae, m), amount in forecasts.items()]
    (folder / "forecasts.csv").write_text("\n".join(lines) + "\n")
    conn = db.connect(copy)
    try:
        assert reference.load_forecasts(conn, folder / "forecasts.csv", "lead@example.com") == len(forecasts)
        month_closes.close_months(conn, list(range(202601, 202610)), "accounting")
    finally:
        conn.close()
    return copy, forecasts, set(range(202601, 202610))


def expected_forecast(spots, forecasts, closed, months, ae=None) -> tuple:
    """(forecast, still to book), summed here: forecast over the months that have one; still to
    book = forecast − booked over the open months with a forecast (the company's: every AE's
    booking against every AE's forecast)."""
    mine = {(a, m): v for (a, m), v in forecasts.items() if m in months and (ae is None or a == ae)}
    if not mine:
        return None, None
    forecasted = {m for _, m in mine}
    open_months = forecasted - closed
    booked = sum(s.gross for s in spots if s.month in open_months and (ae is None or s.ae == ae))
    still = sum(v for (_, m), v in mine.items() if m in open_months) - booked if open_months else None
    return round(sum(mine.values()), 2), None if still is None else round(still, 2)


@pytest.mark.parametrize("query, months", [("year=2026", list(range(202601, 202613))), ("period=qtd", QTD),
                                           ("period=month", THIS_MONTH), ("year=2026&quarter=3", [202607, 202608, 202609])])
def test_pacing_shows_forecast_and_still_to_book_for_the_open_months(forecasted, spots, session_token, query, months):
    database, forecasts, closed = forecasted
    cache.REPORTS.clear()
    client = signed_in(create_app(Config(database_path=database), now=lambda: NOW), session_token(database, role="management"))
    data = as_json(client, f"/reports/management-performance?{query}")
    totals = data["tables"]["aes"]["totals"]
    forecast, still = expected_forecast(spots, forecasts, closed, months)
    assert totals["forecast"] == pytest.approx(forecast, abs=0.011)
    if still is None:     # the third quarter is closed: nothing is still to book
        assert totals["still_to_book"] is None
    else:
        assert totals["still_to_book"] == pytest.approx(still, abs=0.011)
    for row in data["tables"]["aes"]["rows"]:
        want = expected_forecast(spots, forecasts, closed, months, row["ae"])
        assert (row["forecast"], row["still_to_book"]) == pytest.approx(want, abs=0.011), row["ae"]
    for row in data["tables"]["ae_months"]["rows"]:   # the last AE's October has no forecast: "—"
        want = expected_forecast(spots, forecasts, closed, [row["month"]], row["ae"])
        assert (row["forecast"], row["still_to_book"]) == pytest.approx(want, abs=0.011), (row["ae"], row["month"])
    # The AE performance page and the index's cards say the same.
    ae = sorted({a for a, _ in forecasts})[-1]
    row = as_json(client, f"/reports/ae-dashboard?{query}&{urlencode({'ae': ae})}")["tables"]["aes"]["rows"][0]
    assert (row["forecast"], row["still_to_book"]) == pytest.approx(
        expected_forecast(spots, forecasts, closed, months, ae), abs=0.011)
    html = client.get("/reports/").get_data(as_text=True)
    forecast, still = expected_forecast(spots, forecasts, closed, YTD)
    assert f"Forecast ${forecast:,.2f} · still to book {'−' if still < 0 else ''}${abs(still):,.2f}" in html
