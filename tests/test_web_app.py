"""The reports app through its WSGI interface: every route, with the figures on each page (and in
its downloads) checked against sums computed here from the rows written to the workbook."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import openpyxl
import pytest
from werkzeug.test import Client

from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app

YEAR = 2026
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)
IAS = "Internal Ad Sales"
REPORT_PAGES = [
    "/reports/", "/reports/monthly/revenue-summary", "/reports/revenue-dashboard-customer",
    "/reports/ae-dashboard", "/reports/market-analysis", "/reports/sector-analysis",
    "/reports/management-performance", "/reports/imports", "/reports/language-review",
]

# DOMAIN.md §3-§4, written out here independently of ctvdb's own code.
REVENUE_ALIASES = {"a&o": IAS, "ao": IAS, "a and o": IAS, "local": IAS}
SPOT_ALIASES = {"SPOT": "COM", "COMMERCIAL": "COM", "BONUS": "BNS", "PROD": "PRD",
                "PROGRAM": "PRG", "SERVICE": "SVC"}
GROUPS = {"M": "Chinese", "C": "Chinese", "M/C": "Chinese", "V": "Vietnamese", "T": "Filipino",
          "K": "Korean", "J": "Japanese", "SA": "South Asian", "P": "South Asian", "HM": "Hmong",
          "E": "English", "EN": "English", "ENG": "English"}
SUFFIXES = (" (Broker Fees - DO NOT INVOICE)", " (Broker Costs - DO NOT INVOICE)", " CREDIT MEMO",
            " PRODUCTION", " PROD")


def spot(raw: dict) -> SimpleNamespace:
    bill = " ".join(str(raw["bill_code"]).split())
    for suffix in SUFFIXES:
        if bill.endswith(suffix):
            bill = bill[: -len(suffix)]
    if re.match(r"WorldLink ", bill, re.I):
        bill = "WorldLink:" + bill[len("WorldLink "):]
    revenue_type = " ".join(str(raw["revenue_type"] or "").split())
    spot_type = str(raw["spot_type"] or "").strip().upper()
    month = raw["broadcast_month"]
    return SimpleNamespace(
        bill_code=":".join(p.strip() for p in bill.split(":")),
        month=month.year * 100 + month.month,
        gross=float(raw["gross_rate"] or 0), net=float(raw["station_net"] or 0),
        ae=str(raw["sales_person"] or "").strip().upper() or "UNKNOWN",
        revenue_type=REVENUE_ALIASES.get(revenue_type.lower(), revenue_type),
        spot_type=SPOT_ALIASES.get(spot_type, spot_type),
        language=str(raw["language_code"] or "").strip().upper(),
        market=str(raw["market_code"] or "").strip().upper())


def in_year(s, year=YEAR) -> bool:
    return s.month // 100 == year


class PageTables(HTMLParser):
    """The tables of a page by their section id: header cells, body rows, footer row, row links."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self.section = None
        self.part = None
        self.row = None
        self.cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "id" in attrs:
            self.section = self.tables.setdefault(attrs["id"], {"head": [], "rows": [], "foot": [], "links": []})
        elif self.section is not None and tag in ("thead", "tbody", "tfoot"):
            self.part = tag
        elif self.section is not None and tag == "tr":
            self.row, self.link = [], None
        elif self.row is not None and tag in ("td", "th"):
            self.cell = ""
        elif self.row is not None and tag == "a" and self.link is None:
            self.link = attrs.get("href")

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join(self.cell.split()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.section is not None:
            if self.part == "thead":
                self.section["head"] = self.row
            elif self.part == "tfoot":
                self.section["foot"] = self.row
            else:
                self.section["rows"].append(self.row)
                self.section["links"].append(self.link)
            self.row = None
        elif tag == "section":
            self.section = None

    def records(self, name: str) -> list[dict]:
        t = self.tables[name]
        return [dict(zip(t["head"], row)) for row in t["rows"]]

    def totals(self, name: str) -> dict:
        t = self.tables[name]
        return dict(zip(t["head"], t["foot"]))


def number(text: str) -> float:
    """A figure as the page shows it: "—" for zero or none, "−" (U+2212) for minus."""
    if text in ("—", ""):
        return 0.0
    return float(text.replace(",", "").replace("%", "").replace("$", "").replace("\u2212", "-"))


def money(value: float) -> str:
    """How a page shows an amount: a dash for zero, a true minus sign."""
    return "—" if round(value, 2) == 0 else f"{value:,.2f}".replace("-", "\u2212")


@pytest.fixture(scope="module")
def sample(imported_sample):
    return imported_sample(rows=3000, months="Jan-25..Dec-26")


@pytest.fixture(scope="module")
def spots(sample, workbook_rows):
    """Every spot the workbook holds that counts as revenue (Trade never does)."""
    return [s for s in map(spot, workbook_rows(sample.workbook)) if s.revenue_type != "Trade"]


def signed_in(app, token: str) -> Client:
    client = Client(app)
    client.set_cookie(SESSION_COOKIE, token)
    return client


@pytest.fixture
def client(sample, session_token):
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    app = create_app(Config(database_path=sample.database), now=lambda: NOW)
    return signed_in(app, session_token(sample.database))


def get_page(client, url: str) -> tuple:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    return html, PageTables(html)


# Routes ------------------------------------------------------------------------------------------

def test_root_redirects_to_reports(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/reports/"


@pytest.mark.parametrize("url", REPORT_PAGES + ["/reports/customer/1"])
def test_every_page_is_html_with_footer_and_security_headers(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert "Data last updated:" in html
    assert "Traceback" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert not re.search(r'(src|href)="(https?:)?//', html), "the page must not load outside assets"


def test_index_lists_every_report_with_a_description(client):
    html, _ = get_page(client, "/reports/")
    for url in REPORT_PAGES[1:]:
        assert f'href="{url}"' in html
    assert html.count("<li>") >= 8


def test_the_menu_groups_every_report_page_once_under_a_short_name(client):
    from ctvdb.web import app as web_app
    grouped = [e for _, entries in web_app.MENU for e, _ in entries]
    assert sorted(grouped) == sorted(e for e, _, _ in web_app.REPORT_PAGES)      # each page, once
    html, _ = get_page(client, "/reports/")
    header = html[html.index("<header"):html.index("</header>")]
    groups = re.findall(r'<span class="menu-label">([^<]+)</span>', header)
    assert groups == [g for g, _ in web_app.MENU]                                  # management sees them all
    # the short name links to the page and carries its full title
    assert re.search(r'<a href="/rates/customers" title="Customers against the card">Against the card</a>', header)
    assert header.count("<a href=") >= len(grouped)


def test_static_assets_are_served(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert client.get("/static/favicon.svg").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


# Figures ---------------------------------------------------------------------------------------

def test_monthly_summary_figures_equal_the_workbook(client, spots):
    counted = [s for s in spots if s.revenue_type == IAS and s.gross > 0 and in_year(s)]
    html, page = get_page(client, f"/reports/monthly/revenue-summary?year={YEAR}")
    months = {r["Month"]: r for r in page.records("months")}
    assert len(months) == 12
    for m in range(1, 13):
        mine = [s for s in counted if s.month == YEAR * 100 + m]
        row = months[datetime(YEAR, m, 1).strftime("%b-%y")]
        assert number(row["Spots"]) == len(mine)
        assert row["Total gross"] == money(sum(s.gross for s in mine))
        assert row["Minimum"] == money(min(s.gross for s in mine))
        assert row["Maximum"] == money(max(s.gross for s in mine))
        assert number(row["Clients"]) == len({s.bill_code for s in mine})
        assert row["Status"] == "OPEN"
    total = page.totals("months")
    assert total["Total gross"] == money(sum(s.gross for s in counted))
    assert number(total["Spots"]) == len(counted)
    assert number(total["Clients"]) == len({s.bill_code for s in counted})
    q4 = [s for s in counted if s.month % 100 >= 10]
    quarter = {r["Quarter"]: r for r in page.records("quarters")}[f"Q4 {YEAR}"]
    assert quarter["Total gross"] == money(sum(s.gross for s in q4)) and quarter["Status"] == "OPEN"
    by_client = defaultdict(float)
    for s in counted:
        by_client[s.bill_code] += s.gross
    top = sorted(by_client.values(), reverse=True)[:20]
    assert [r["Gross"] for r in page.records("top_clients")] == [money(v) for v in top]
    assert all(link.startswith("/reports/customer/") for link in page.tables["top_clients"]["links"])
    assert "<svg" in html and "Internal Ad Sales gross by broadcast month" in html


def test_monthly_summary_range_and_quarter_filters(client, spots):
    _, page = get_page(client, "/reports/monthly/revenue-summary?from=2025-11&to=2026-02")
    assert [r["Month"] for r in page.records("months")] == ["Nov-25", "Dec-25", "Jan-26", "Feb-26"]
    counted = [s for s in spots if s.revenue_type == IAS and s.gross > 0 and 202511 <= s.month <= 202602]
    assert page.totals("months")["Total gross"] == money(sum(s.gross for s in counted))
    _, page = get_page(client, f"/reports/monthly/revenue-summary?year={YEAR}&quarter=2")
    assert [r["Month"] for r in page.records("months")] == ["Apr-26", "May-26", "Jun-26"]


def test_customer_revenue_figures_equal_the_workbook(client, spots):
    html, page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}")
    this_year = [s for s in spots if in_year(s)]
    total = page.totals("customers")
    assert total[f"Total {YEAR}"] == money(sum(s.gross for s in this_year))
    assert total["Mar-26"] == money(sum(s.gross for s in this_year if s.month % 100 == 3))
    rows = page.records("customers")
    by_key = defaultdict(float)
    for s in this_year:
        by_key[(s.bill_code.split(":")[-1], s.ae)] += s.gross
    biggest = max(by_key.items(), key=lambda kv: kv[1])
    assert rows[0]["Customer"] == biggest[0][0] and rows[0]["AE"] == biggest[0][1]
    assert rows[0][f"Total {YEAR}"] == money(biggest[1])
    earlier = {s.bill_code for s in spots if s.month < YEAR * 100 and s.gross > 0}
    for row in rows:
        bill_code = f"{row['Agency']}:{row['Customer']}" if row["Agency"] else row["Customer"]
        assert (row["New"] == "NEW") == (bill_code not in earlier), row
    _, net_page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}&measure=net")
    assert net_page.totals("customers")[f"Total {YEAR}"] == money(sum(s.net for s in this_year))


def test_customer_revenue_filters(client, spots):
    ae = "FRANK TRAN"
    _, page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}&ae=Frank+Tran"
                       "&revenue_type=Internal+Ad+Sales")
    mine = [s for s in spots if in_year(s) and s.ae == ae and s.revenue_type == IAS]
    assert page.totals("customers")[f"Total {YEAR}"] == money(sum(s.gross for s in mine))
    assert {r["AE"] for r in page.records("customers")} == {ae}
    name = mine[0].bill_code.split(":")[-1]
    _, page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}&q={name[:6].lower()}")
    assert page.records("customers") and all(name[:6].lower() in (r["Customer"] + r["Agency"]).lower()
                                              for r in page.records("customers"))
    _, page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}&market=lax")
    lax = [s for s in spots if in_year(s) and s.market == "LAX"]
    assert page.totals("customers")[f"Total {YEAR}"] == money(sum(s.gross for s in lax))
    _, page = get_page(client, f"/reports/monthly/revenue-summary?year={YEAR}&market=LAX&ae=Frank+Tran")
    mine = [s for s in lax if s.revenue_type == IAS and s.gross > 0 and s.ae == "FRANK TRAN"]
    assert page.totals("months")["Total gross"] == money(sum(s.gross for s in mine))
    _, page = get_page(client, f"/reports/revenue-dashboard-customer?year={YEAR}&market=ZZZ")
    assert page.records("customers") == [] if "customers" in page.tables else True


SEARCH_ROWS = [  # (bill code, AE, gross): one AE per customer, so one report row per customer
    ("Phở Hòa", "Alice Nguyen", 1200.0), ("Phở Hòa", "Alice Nguyen", 340.5),
    ("Nguyễn Law Office:Lee Dental", "Brandon Wu", 800.0),
    ("Nguyễn Law Office:Tran Pharmacy", "Alice Nguyen", 410.0),
    ("Hòa Bình Market", "Brandon Wu", 650.0), ("Ngô Bakery", "Brandon Wu", 275.0),
    ("Admerasia:McDonald's", "Carol Lee", 990.0),
]


@pytest.fixture(scope="module")
def search_client(tmp_path_factory, session_token):
    """A database of a few customers with accented names and agencies, imported for real."""
    from ctvdb.importer import import_workbook
    from xlsx_rows import Row, write

    folder = tmp_path_factory.mktemp("search")
    rows = [Row(bill_code=code, sales_person=ae, gross=gross, line=i + 1)
            for i, (code, ae, gross) in enumerate(SEARCH_ROWS)]
    write(folder / "log.xlsx", {"Commercials": rows})
    import_workbook(folder / "ctvdb.db", folder / "log.xlsx", mode="manual", auto_setup=True)
    app = create_app(Config(database_path=folder / "ctvdb.db"), now=lambda: NOW)
    return signed_in(app, session_token(folder / "ctvdb.db"))


@pytest.mark.parametrize("q, wanted", [
    ("pho", {"Phở Hòa"}),
    ("PHO HOA", {"Phở Hòa"}),
    ("phở hòa", {"Phở Hòa"}),
    ("phohoa", {"Phở Hòa"}),                                   # spaces do not matter either
    ("hoa", {"Phở Hòa", "Hòa Bình Market"}),
    ("nguyen", {"Nguyễn Law Office:Lee Dental", "Nguyễn Law Office:Tran Pharmacy"}),
    ("NGUYEN LAW", {"Nguyễn Law Office:Lee Dental", "Nguyễn Law Office:Tran Pharmacy"}),
    ("mcdonalds", {"Admerasia:McDonald's"}),
    ("McDonald’s", {"Admerasia:McDonald's"}),
    ("zzz", set()),
    ("-", set()),                                              # folds to nothing: finds nothing
])
def test_customer_search_is_case_accent_and_punctuation_blind(search_client, q, wanted):
    cache.REPORTS.clear()
    _, page = get_page(search_client, f"/reports/revenue-dashboard-customer?year=2026&q={quote(q)}")
    found = page.records("customers") if "customers" in page.tables else []
    assert sorted((r["Agency"], r["Customer"]) for r in found) == sorted(
        tuple(code.split(":")) if ":" in code else ("", code) for code in wanted)
    if wanted:
        assert page.totals("customers")["Total 2026"] == money(sum(g for code, _, g in SEARCH_ROWS if code in wanted))


def test_ae_dashboard_figures_equal_the_workbook(client, spots):
    _, page = get_page(client, f"/reports/ae-dashboard?year={YEAR}")
    rows = {r["AE"]: r for r in page.records("aes")}
    for ae in {s.ae for s in spots}:
        this = sum(s.gross for s in spots if s.ae == ae and in_year(s))
        last = sum(s.gross for s in spots if s.ae == ae and in_year(s, YEAR - 1))
        assert rows[ae]["Booked"] == money(this)
        assert rows[ae]["Same months last year"] == money(last)
        assert number(rows[ae]["Customers"]) == len(
            {s.bill_code for s in spots if s.ae == ae and in_year(s)})
    _, page = get_page(client, f"/reports/ae-dashboard?year={YEAR}&period=q1")
    q1 = {r["AE"]: r for r in page.records("aes")}["FRANK TRAN"]
    assert q1["Booked"] == money(sum(s.gross for s in spots if s.ae == "FRANK TRAN" and in_year(s)
                                     and s.month % 100 <= 3))


def test_market_analysis_figures_equal_the_workbook(client, spots):
    html, page = get_page(client, f"/reports/market-analysis?year={YEAR}")
    counted = [s for s in spots if in_year(s) and s.revenue_type == IAS and s.spot_type in ("COM", "BNS")
               and s.language]
    rows = {r["Language group"]: r for r in page.records("language_groups")}
    for group in {GROUPS.get(s.language, "Other") for s in counted}:
        mine = [s for s in counted if GROUPS.get(s.language, "Other") == group]
        assert rows[group]["Gross"] == money(sum(s.gross for s in mine))
        assert number(rows[group]["Paid spots"]) == sum(1 for s in mine if s.spot_type == "COM")
        assert number(rows[group]["Bonus spots"]) == sum(1 for s in mine if s.spot_type == "BNS")
    matrix = {r["Language group"]: r for r in page.records("language_market")}
    chinese_lax = sum(s.gross for s in counted if GROUPS.get(s.language) == "Chinese" and s.market == "LAX")
    assert matrix["Chinese"]["Los Angeles (LAX)"] == money(chinese_lax)
    assert page.totals("language_groups")["Gross"] == money(sum(s.gross for s in counted))
    assert "Share of gross by language group" in html


def test_sector_analysis_shows_unassigned_customers(client, spots):
    _, page = get_page(client, f"/reports/sector-analysis?year={YEAR}")
    rows = page.records("sectors")
    assert [r["Sector"] for r in rows] == ["Unassigned"]
    assert rows[0]["Gross"] == money(sum(s.gross for s in spots if in_year(s)))
    assert page.records("top_customers")[0]["#"] == "1"


def test_customer_detail_figures_equal_the_workbook(client, spots):
    _, summary = get_page(client, f"/reports/monthly/revenue-summary?year={YEAR}")
    link = summary.tables["top_clients"]["links"][0]
    name = summary.records("top_clients")[0]["Customer"]
    agency = summary.records("top_clients")[0]["Agency"]
    bill_code = f"{agency}:{name}" if agency else name
    mine = [s for s in spots if s.bill_code == bill_code]
    assert link.endswith(f"?year={YEAR}")   # the detail opens on the year the summary showed
    html, page = get_page(client, link)
    assert f"<h1>{name}</h1>" in html.replace("&#39;", "'")
    years = {r["Year"]: r for r in page.records("years")}
    assert years[str(YEAR)]["Gross"] == money(sum(s.gross for s in mine if in_year(s)))
    assert years[str(YEAR - 1)]["Net"] == money(sum(s.net for s in mine if in_year(s, YEAR - 1)))
    assert f"${money(sum(s.gross for s in mine))}" in html  # all-time gross card
    assert len(page.records("trend")) == 24
    assert sum(number(r["Gross"]) for r in page.records("aes")) == pytest.approx(
        sum(s.gross for s in mine if in_year(s)))
    assert [r["Bill code"] for r in page.records("bill_codes")] == [bill_code]
    assert len(page.records("recent_spots")) == min(25, len(mine))


def test_management_performance_without_budgets(client, spots):
    html, page = get_page(client, f"/reports/management-performance?year={YEAR}")
    assert "No budget is loaded" in html
    rows = {r["AE"]: r for r in page.records("aes")}
    for ae in {s.ae for s in spots}:
        assert rows[ae]["Booked"] == money(sum(s.gross for s in spots if s.ae == ae and in_year(s)))
        assert rows[ae]["Budget"] == "—" and rows[ae]["% of budget"] == "—"


def test_imports_page_lists_the_batch(client, sample, spots, workbook_rows):
    _, page = get_page(client, "/reports/imports")
    batch = page.records("batches")[0]
    assert batch["Status"] == "COMPLETED" and batch["Mode"] == "manual"
    assert number(batch["Imported"]) == len(spots)
    assert number(batch["Trade"]) == len(workbook_rows(sample.workbook)) - len(spots)
    assert "Jan-25" in batch["Months replaced"] and "Dec-26" in batch["Months replaced"]
    assert re.search(r"(AM|PM) P[SD]T", batch["Finished"])


def test_language_review_queue_is_high_value_first(client, sample):
    import sqlite3
    conn = sqlite3.connect(sample.database)
    expected = conn.execute("SELECT count(*) FROM spot_languages WHERE needs_review = 1").fetchone()[0]
    conn.close()
    html, page = get_page(client, "/reports/language-review")
    assert f">{expected:,}<" in html
    grosses = [number(r["Gross"]) for r in page.records("spots")]
    flags = [r["High value"] for r in page.records("spots")]
    assert flags == sorted(flags, key=lambda f: f != "HIGH")
    assert all(g >= 1000 for g, f in zip(grosses, flags) if f == "HIGH")


# Bad requests -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, status, sentence", [
    ("/reports/ae-dashboard?year=abc", 400, "The year “abc” is not a number from 2000 to 2099."),
    ("/reports/monthly/revenue-summary?format=pdf", 400, "The format “pdf” is not one of"),
    ("/reports/monthly/revenue-summary?from=2026-13", 400, "The from month “2026-13” is outside"),
    ("/reports/monthly/revenue-summary?to=Smarch-26", 400, "is not a month like 2026-11 or Nov-26"),
    ("/reports/revenue-dashboard-customer?measure=both", 400, "neither gross nor net"),
    ("/reports/customer/999999", 404, "There is no such customer"),
    ("/reports/customer/abc", 404, "There is no page at this address."),
    ("/reports/nothing-here", 404, "There is no page at this address."),
])
def test_bad_parameters_give_a_page_in_the_layout(client, url, status, sentence):
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert response.content_type == "text/html; charset=utf-8"
    assert re.search(r'<p class="sentence">[^<]*' + re.escape(sentence), html)
    assert "CTV booked business" in html and "Data last updated:" in html
    assert "Traceback" not in html
    assert response.headers["Content-Security-Policy"]


# Downloads hold the page's figures ---------------------------------------------------------------

@pytest.mark.parametrize("url, table", [
    (f"/reports/monthly/revenue-summary?year={YEAR}", "months"),
    (f"/reports/revenue-dashboard-customer?year={YEAR}&measure=net", "customers"),
    (f"/reports/market-analysis?year={YEAR}", "language_groups"),
    (f"/reports/ae-dashboard?year={YEAR}", "aes"),
    (f"/reports/sector-analysis?year={YEAR}", "sectors"),
    (f"/reports/management-performance?year={YEAR}", "quarters"),
    (f"/reports/customer/1?year={YEAR}", "trend"),
    ("/reports/imports?status=completed", "batches"),
    ("/reports/language-review?limit=50", "spots"),
])
def test_downloads_hold_the_same_figures_as_the_page(client, url, table):
    _, page = get_page(client, url)
    head = page.tables[table]["head"]
    body = page.tables[table]["rows"]
    shown = body + ([page.tables[table]["foot"]] if page.tables[table]["foot"] else [])
    numeric = [i for i, h in enumerate(head) if all(re.fullmatch(r"-?[\d,]+(\.\d+)?%?|—", r[i]) for r in body)]
    assert body and numeric

    def figures(rows: list[list]) -> list[list[float]]:
        return [[round(number(str(r[i])) if isinstance(r[i], str) else float(r[i] or 0), 2) for i in numeric]
                for r in rows]

    response = client.get(url + f"&format=csv&table={table}")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    records = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    labels = records[0]
    keep = [labels.index(h) for h in head]
    csv_rows = [[r[i] for i in keep] for r in records[1:]]
    assert figures(csv_rows) == figures(shown)

    response = client.get(url + "&format=xlsx")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
    json_response = client.get(url + "&format=json")
    data = json.loads(json_response.data)["tables"][table]
    # A sheet is named by its table's title (less what Excel refuses), its header under a block
    # that states the report and its filters.
    sheet = book[" ".join(re.sub(r"[\[\]:*?/\\]", " ", data["title"]).split())[:31].rstrip()]
    values = [r + (None,) * (len(head) + 4 - len(r)) for r in sheet.iter_rows(values_only=True)]
    start = next(i for i, r in enumerate(values) if set(head) <= set(r))
    keep = [list(values[start]).index(h) for h in head]
    # XLSX holds a percentage as a fraction (12.5 % is 0.125) shown with a % format.
    kinds = {c["label"]: c["kind"] for c in data["columns"]}
    scale = [100 if kinds[h] in ("pct", "change_pct") else 1 for h in head]
    sheet_rows = [[r[i] * k if isinstance(r[i], (int, float)) else r[i] for i, k in zip(keep, scale)]
                  for r in values[start + 1:]]
    assert figures(sheet_rows) == figures(shown)

    assert json_response.mimetype == "application/json"
    keys = {c["label"]: c["key"] for c in data["columns"]}
    json_rows = [[row.get(keys[h]) for h in head] for row in data["rows"] + ([data["totals"]] if data["totals"] else [])]
    assert figures(json_rows) == figures(shown)


def test_startup_refuses_a_template_that_does_not_load(sample, tmp_path, monkeypatch):
    import shutil

    import jinja2

    from ctvdb.web.app import StartupError

    broken = tmp_path / "templates"
    shutil.copytree(Path(create_app.__code__.co_filename).parent / "templates", broken)
    (broken / "ae_dashboard.html").write_text("{% for x in %}")
    monkeypatch.setattr(jinja2, "PackageLoader", lambda *a: jinja2.FileSystemLoader(broken))
    with pytest.raises(StartupError, match=r"^template ae_dashboard.html does not load: "):
        create_app(Config(database_path=sample.database))


def test_startup_refuses_a_missing_or_old_database(tmp_path, sample, private_copy):
    from ctvdb.web.app import StartupError

    with pytest.raises(StartupError, match="does not exist"):
        create_app(Config(database_path=tmp_path / "none.db"))
    import sqlite3
    old = private_copy(sample.database)
    conn = sqlite3.connect(old)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    with pytest.raises(StartupError, match="is at schema version 2, this ctvdb needs .*: run `ctvdb migrate`"):
        create_app(Config(database_path=old))


# Freshness footer, health, cache ---------------------------------------------------------------

def finished_at(sample) -> datetime:
    import sqlite3
    conn = sqlite3.connect(sample.database)
    text = conn.execute("SELECT max(finished_at) FROM import_batches WHERE status = 'COMPLETED'").fetchone()[0]
    conn.close()
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_footer_fresh_and_stale_in_pacific_time(sample, monkeypatch, session_token):
    done = finished_at(sample)
    clock = SimpleNamespace(now=done + timedelta(hours=2), mono=1000.0)
    monkeypatch.setattr(cache.FOOTER, "clock", lambda: clock.mono)
    cache.FOOTER.clear()
    client = signed_in(create_app(Config(database_path=sample.database), now=lambda: clock.now),
                       session_token(sample.database))
    html = client.get("/reports/").get_data(as_text=True)
    assert re.search(r"Data last updated: \w{3} \d+ \w{3} \d{4}, \d+:\d\d [AP]M P[SD]T", html)
    assert "(stale)" not in html and "&#9888;" not in html
    clock.now = done + timedelta(hours=25)
    html = client.get("/reports/").get_data(as_text=True)
    assert "(stale)" in html and "&#9888;" in html


def test_footer_is_cached_for_five_minutes(sample, private_copy, monkeypatch, session_token):
    import sqlite3
    path = private_copy(sample.database)
    clock = SimpleNamespace(mono=5000.0)
    monkeypatch.setattr(cache.FOOTER, "clock", lambda: clock.mono)
    cache.FOOTER.clear()
    client = signed_in(create_app(Config(database_path=path), now=lambda: NOW), session_token(path))
    before = re.search(r"Data last updated: ([^<(]*)", client.get("/reports/").get_data(as_text=True))[1]
    conn = sqlite3.connect(path)
    conn.execute("UPDATE import_batches SET finished_at = '2026-07-04T19:00:00Z'")
    conn.commit()
    conn.close()
    clock.mono += 299
    assert before in client.get("/reports/").get_data(as_text=True)
    clock.mono += 2
    assert "Sat 4 Jul 2026, 12:00 PM PDT" in client.get("/reports/").get_data(as_text=True)


def test_health_reports_the_database_and_last_import(client, sample, private_copy, session_token):
    response = client.get("/health")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["last_import"]["id"] == sample.result.batch_id and body["stale"] is False
    path = private_copy(sample.database)
    gone = signed_in(create_app(Config(database_path=path), now=lambda: NOW), session_token(path))
    path.unlink()
    response = gone.get("/health")
    assert response.status_code == 503 and response.json["database"] == "unreachable"
    page = gone.get("/reports/ae-dashboard")
    assert page.status_code == 503 and "cannot be read" in page.get_data(as_text=True)


def test_a_new_import_shows_at_once(sample, private_copy, tmp_path, workbook_rows, session_token):
    from ctvdb.importer import import_workbook
    from ctvdb.sample import write_sample

    path = private_copy(sample.database)
    client = signed_in(create_app(Config(database_path=path), now=lambda: NOW), session_token(path))
    url = f"/reports/monthly/revenue-summary?year={YEAR}"
    before = PageTables(client.get(url).get_data(as_text=True)).totals("months")["Total gross"]
    assert PageTables(client.get(url).get_data(as_text=True)).totals("months")["Total gross"] == before
    workbook = tmp_path / "Commercial Log 261125.xlsx"
    write_sample(workbook, rows=400, months=["Dec-26"], seed=7)
    import_workbook(path, workbook, mode="manual")
    after = PageTables(client.get(url).get_data(as_text=True)).totals("months")["Total gross"]
    assert after != before
    dec = PageTables(client.get(url).get_data(as_text=True)).records("months")[-1]
    expected = [s for s in (spot(r) for r in workbook_rows(workbook)) if s.revenue_type == IAS and s.gross > 0]
    assert dec["Total gross"] == money(sum(s.gross for s in expected))



# Hostile requests (issue 10) ----------------------------------------------------------------------

def test_a_customer_id_past_sqlite_s_integers_is_no_page_not_an_error(client, sample):
    import sqlite3
    biggest = sqlite3.connect(sample.database).execute("SELECT max(id) FROM customers").fetchone()[0]
    assert client.get(f"/reports/customer/{biggest}?year={YEAR}").status_code == 200
    for customer_id in (2**63 - 1, 2**63, 10**30, 0):
        response = client.get(f"/reports/customer/{customer_id}")
        assert response.status_code == 404, customer_id


def test_a_control_character_in_a_filter_is_refused_not_a_search_for_everything(client):
    everyone = client.get(f"/reports/revenue-dashboard-customer?year={YEAR}&format=json").json
    nobody = client.get(f"/reports/revenue-dashboard-customer?year={YEAR}&q=zzzz-no-such&format=json").json
    assert len(nobody["tables"]["customers"]["rows"]) == 0 < len(everyone["tables"]["customers"]["rows"])
    for value in ("%00", "zz%00", "%1b[2J"):
        response = client.get(f"/reports/revenue-dashboard-customer?year={YEAR}&q={value}")
        assert response.status_code == 400
        assert "The q filter holds a control character" in response.get_data(as_text=True)


def test_health_tells_strangers_status_and_staleness_but_no_paths(sample, client):
    stranger = Client(create_app(Config(database_path=sample.database), now=lambda: NOW)).get("/health")
    body = stranger.json
    assert body["status"] == "ok" and body["last_import"]["id"] == sample.result.batch_id
    assert "stale" in body and body["last_import"]["finished_at"]
    assert str(sample.database.parent) not in stranger.get_data(as_text=True)
    assert "source_file" not in body["last_import"]
    assert client.get("/health").json["last_import"]["source_file"] == str(sample.workbook)


def test_health_of_a_missing_database_names_no_path(sample, private_copy, session_token, tmp_path):
    path = private_copy(sample.database)
    app = create_app(Config(database_path=path), now=lambda: NOW)
    path.unlink()
    response = Client(app).get("/health")
    assert response.status_code == 503 and response.json["database"] == "unreachable"
    assert str(tmp_path) not in response.get_data(as_text=True)


def test_a_redirect_never_carries_the_host_header_a_client_sent(client):
    for path, location in (("/reports", "/reports/"), ("/reports?year=2026", "/reports/?year=2026")):
        response = client.get(path, headers={"Host": "evil.example"})
        assert response.status_code in (301, 308) and response.headers["Location"] == location


# Defects found trying the reports as a new user (issue 11) ------------------------------------------

def test_new_customers_are_flagged_only_where_the_data_reaches_back_before_the_year(tmp_path, session_token):
    import datetime as dt

    from ctvdb.importer import import_workbook
    from xlsx_rows import Row, write

    def row(code, year, gross, line):
        return Row(bill_code=code, air_date=dt.date(year, 3, 3), month=dt.date(year, 3, 1), gross=gross, line=line)

    rows = [row("Old Client", 2025, 500, 1), row("Old Client", 2026, 700, 2), row("Brand New", 2026, 900, 3),
            row("Gone Client", 2025, 300, 4), row("Bonus First", 2025, 0, 5), row("Bonus First", 2026, 400, 6)]
    write(tmp_path / "log.xlsx", {"Commercials": rows})
    import_workbook(tmp_path / "ctvdb.db", tmp_path / "log.xlsx", mode="manual", auto_setup=True)
    cache.REPORTS.clear()
    client = signed_in(create_app(Config(database_path=tmp_path / "ctvdb.db"), now=lambda: NOW),
                       session_token(tmp_path / "ctvdb.db"))
    # The data begins in 2025: in 2025 nobody can be called new.
    html, page = get_page(client, "/reports/revenue-dashboard-customer?year=2025")
    assert {r["Customer"]: r["New"] for r in page.records("customers")} == {
        "Old Client": "", "Gone Client": "", "Bonus First": ""}
    assert "The data begins in 2025, so no customer can be called new this year." in html
    # In 2026: new = no revenue in 2025 (a bonus spot carries none).
    html, page = get_page(client, "/reports/revenue-dashboard-customer?year=2026")
    assert {r["Customer"]: r["New"] for r in page.records("customers")} == {
        "Old Client": "", "Brand New": "NEW", "Bonus First": "NEW"}
    assert "New this year</dt><dd>2</dd>" in html


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}">(.*?)</select>', html, re.S).group(1)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


def test_the_filter_form_shows_what_the_figures_are(client):
    html = client.get("/reports/revenue-dashboard-customer?year=2030").get_data(as_text=True)
    assert selected(html, "year") == "2030"
    html = client.get("/reports/monthly/revenue-summary?from=2025-11&to=2026-02").get_data(as_text=True)
    assert selected(html, "year") == "" and ">From/to range</option>" in html
    assert 'name="from" value="2025-11"' in html and 'name="to" value="2026-02"' in html
    html = client.get("/reports/management-performance?year=2025&quarter=3").get_data(as_text=True)
    assert selected(html, "year") == "2025" and selected(html, "period") == "q3"


def test_the_403_and_404_pages_keep_the_menu_and_who_is_signed_in(sample, session_token):
    cache.REPORTS.clear()
    app = create_app(Config(database_path=sample.database), now=lambda: NOW)
    ae = signed_in(app, session_token(sample.database, role="ae", ae="Frank Tran"))
    for url, status in (("/reports/imports", 403), ("/reports/no-such-page", 404)):
        response = ae.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == status
        assert '<span class="user">ae-frank.tran@example.com</span>' in html
        assert 'href="/reports/ae-dashboard"' in html and ">Sign out</button>" in html
    assert "There is no page at this address." in html and "requested URL was not found" not in html


@pytest.mark.parametrize("url", REPORT_PAGES[1:] + [f"/reports/customer/1?year={YEAR}", "/reports/imports?batch=1"])
def test_every_table_of_every_page_sorts_by_its_headings_and_downloads(client, url):
    import html as html_module
    html, page = get_page(client, url)
    sections = re.findall(r'<section class="table" id="([^"]+)">(.*?)</section>', html, re.S)
    assert sections
    for name, section in sections:
        if "<table" not in section:
            continue
        head = section[section.index("<thead>"):section.index("</thead>")]
        assert head.count("<th ") == head.count('<a class="sort" href="'), name
        (href,) = re.findall(r'<p class="table-downloads"><a href="([^"]+)">CSV</a>', section)
        response = client.get(html_module.unescape(href))
        assert response.status_code == 200 and response.get_data()[:3] == b"\xef\xbb\xbf", (name, href)
        records = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
        shown = page.tables[name]
        body_rows = len(shown["rows"]) - section.count('<tr class="detail">')
        assert len(records) == 1 + body_rows + (1 if shown.get("foot") else 0), name


@pytest.mark.parametrize("url", REPORT_PAGES + [f"/reports/customer/1?year={YEAR}", "/reports/market-analysis?market=ZZZ",
                                 f"/reports/revenue-dashboard-customer?year={YEAR}&market=SEA"])
def test_no_figure_reads_0_00_or_a_dollar_and_a_dash(client, url):
    html, page = get_page(client, url)
    assert "$—" not in html and "$-" not in html
    cells = [cell for t in page.tables.values() for row in t["rows"] + [t.get("foot") or []] for cell in row]
    assert "0.00" not in cells and "-0.00" not in cells and "\u22120.00" not in cells
