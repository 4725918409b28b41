"""Sign-in and roles on the reports app itself (issue 5): every route of its URL map without a
session and as each role, the ae's own-accounts rule, the links and choices each role's pages
offer (none answers 403), CSRF, open redirects, bad cookies, proxy headers, and hostile filter
values that must come back escaped and change no data."""

import hashlib
import json
import html
import re
import sqlite3
import time
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, db, summaries
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app

PASSWORD = "correct horse battery"
ORIGIN = {"Origin": "http://localhost"}
JANE, JOHN = "JANE DOE", "JOHN ROE"
SECRET_CLIENT = "Roe Only Motors"           # a customer only John sells to


def build_database(path):
    """Two AEs, three customers, a year and a bit of Internal Ad Sales, one rejected row."""
    db.init(path)
    conn = db.connect(path)
    conn.execute("INSERT INTO import_batches (id, mode, source_file, status, started_at, finished_at,"
                 " rows_rejected) VALUES (1, 'manual', 'Commercial Log 261120.xlsx', 'COMPLETED',"
                 " '2026-11-20T12:00:00Z', '2026-11-20T12:01:00Z', 1)")
    conn.execute("INSERT INTO rejected_rows (batch_id, sheet, row_number, column_name, value, reason)"
                 " VALUES (1, 'Commercials', 9, 'Month', '#REF!', 'not a month')")
    customers = [(1, "Jade Palace", JANE), (2, "Acme Foods", JANE), (3, SECRET_CLIENT, JOHN)]
    for cid, name, _ in customers:
        conn.execute("INSERT INTO customers (id, name, identity_key) VALUES (?, ?, ?)", (cid, name, name.lower()))
    row = 0
    for cid, name, ae in customers:
        for month in (202510, 202511, 202601, 202602, 202603):
            for spot_type, gross, lang in (("COM", 1000.0 * cid, "M"), ("BNS", 0.0, "V")):
                row += 1
                conn.execute(
                    "INSERT INTO spots (batch_id, sheet, row_number, customer_id, bill_code, air_date,"
                    " language_code, spot_type, gross_rate, station_net, broadcast_month, month_label,"
                    " sales_person, ae, revenue_type, market_code) VALUES (1, 'Commercials', ?, ?, ?, ?,"
                    " ?, ?, ?, ?, ?, ?, ?, ?, 'Internal Ad Sales', 'SEA')",
                    (row, cid, name, f"{month // 100}-{month % 100:02d}-10", lang, spot_type, gross,
                     gross * 0.85, month, f"M-{month}", ae.title(), ae))
                conn.execute("INSERT INTO spot_languages (spot_id, category, language_code, status,"
                             " needs_review, high_value) VALUES (last_insert_rowid(),"
                             " 'language_assignment', ?, 'assigned', ?, 0)", (lang, int(spot_type == "BNS")))
    conn.execute("INSERT INTO budgets (ae, broadcast_month, amount) VALUES (?, 202601, 5000), (?, 202601, 9000)",
                 (JANE, JOHN))
    conn.execute("INSERT INTO agencies (id, name, name_key) VALUES (1, 'Harbor Media', 'harbor media')")   # issue 15
    summaries.refresh_all(conn)
    conn.close()
    conn = db.connect_auth(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "PASSWORD_METHOD", "scrypt:1024:8:1")
        for role in ("admin", "management", "viewer"):
            auth.add_user(conn, f"{role}@example.com", PASSWORD, role)
        auth.add_user(conn, "jane@example.com", PASSWORD, "ae", ae="Jane Doe")
    conn.close()


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    path = tmp_path_factory.mktemp("site") / "ctvdb.db"
    build_database(path)
    return Config(database_path=path, trusted_proxies=("10.0.0.0/8",), sso_header="Tailscale-User-Login")


@pytest.fixture(scope="module")
def app(config):
    cache.REPORTS.clear() if hasattr(cache.REPORTS, "clear") else None
    return create_app(config)


def signed_in(app, config, email, addr="192.0.2.10") -> Client:
    """A client holding a fresh session of `email` (made directly: no password check)."""
    conn = db.connect_auth(config.database_path)
    try:
        token = auth.start_session(conn, auth.get_user(conn, email), timedelta(hours=1), addr)
    finally:
        conn.close()
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, token)
    return c


def data_checksum(config) -> str:
    """Every table of both databases but the sign-in bookkeeping, which requests may change."""
    digest = hashlib.sha256()
    for connect in (db.connect, db.connect_auth):
        conn = connect(config.database_path)
        try:
            for line in conn.iterdump():
                if not re.match(r'INSERT INTO "(sessions|signin_attempts)"', line):
                    digest.update(re.sub(r"'\d{4}-\d\d-\d\dT[\d:]+Z'", "", line).encode()
                                  if line.startswith('INSERT INTO "users"') else line.encode())
        finally:
            conn.close()
    return digest.hexdigest()


# Every route ---------------------------------------------------------------------------------

URLS = {
    "root": "/",
    "health": "/health",
    "static": "/static/style.css",
    "signin": "/signin",
    "signout": "/signout",
    "admin_users": "/admin/users",
    "index": "/reports/",
    "monthly_summary": "/reports/monthly/revenue-summary",
    "customer_revenue": "/reports/revenue-dashboard-customer",
    "ae_dashboard": "/reports/ae-dashboard",
    "market_analysis": "/reports/market-analysis",
    "sector_analysis": "/reports/sector-analysis",
    "customer_detail": "/reports/customer/1",
    "management_performance": "/reports/management-performance",
    "imports": "/reports/imports",
    "language_review": "/reports/language-review",
    "customer_list": "/customers/",
    "customer_merge": "/customers/merge",
    "customer_review": "/customers/review",
    "customer_review_decide": "/customers/review",
    "customer_changes": "/customers/changes",
    "customer_undo": "/customers/changes/1/undo",
    "customer_stale": "/customers/stale",
    "customer_stale_deactivate": "/customers/stale",
    "customer_sectors": "/customers/sectors",
    "customer_sectors_edit": "/customers/sectors",
    "customer_sectors_assign": "/customers/sectors/assign",
    "customer_agencies": "/customers/agencies",
    "customer_agencies_edit": "/customers/agencies",
    "customer_edit": "/customers/1",
    "customer_edit_save": "/customers/1",
    "new_business": "/reports/new-business",   # issue 13, new and changed business
    "signals": "/reports/signals",
    "me": "/me",
    "manager": "/manager",
    "signals_decide": "/reports/signals",
    "booking_pace": "/reports/pace",
    # Planning (issue 13)
    "planning_grid": "/planning/",
    "planning_history": "/planning/history",
    "planning_budgets": "/planning/budgets",
    "planning_forecasts": "/planning/forecasts",
    "rates": "/rates/",   # issue 14, rate analysis
    "rates_customers": "/rates/customers",   # issue 14
    "rates_lengths": "/rates/lengths",   # issue 14
    "rates_trends": "/rates/trends",   # issue 14, rate trends
    # Issue 16, the API: a bearer token and never a cookie (tests/test_api.py has the token cases)
    "api_guide": "/api/",
    "api_meta": "/api/v1/meta",
    "api_report": "/api/v1/reports/monthly_summary",
    "api_revenue_sheet": "/api/v1/revenue/sheet",
    "api_planning": "/api/v1/planning",
    "api_openapi": "/api/v1/openapi.json",
    "admin_tokens": "/admin/tokens",
    # Accounts (issue 15)
    "account_list": "/accounts/",
    "account_filters": "/accounts/filters",
    "account_assign": "/accounts/assign",
    "account_follow_ups": "/accounts/follow-ups",
    "account_customer": "/accounts/customer/1",
    "account_customer_edit": "/accounts/customer/1",
    "account_agency": "/accounts/agency/1",
    "account_agency_edit": "/accounts/agency/1",
    "account_import": "/accounts/import",
    "account_import_plan": "/accounts/import",
    "account_import_confirm": "/accounts/import/confirm",
    "account_duplicates": "/accounts/duplicates",
    "account_merge": "/accounts/duplicates",
}
# No session opens these, and a session's cookie counts for nothing there: 401, the description 200.
API = set(auth_web.API_ENDPOINTS)
POSTS = {"signout", "customer_merge", "customer_review_decide", "customer_undo",
         "customer_stale_deactivate", "customer_sectors_edit", "customer_sectors_assign", "customer_edit_save",
         "signals_decide",
         "customer_agencies_edit"}    # forms, never links
POSTS |= {"planning_budgets", "planning_forecasts"}
POSTS |= {"account_filters", "account_assign", "account_customer_edit", "account_agency_edit", "account_import_plan",
          "account_import_confirm", "account_merge"}   # issue 15
WORKBENCH = {"customer_list", "customer_review", "customer_changes", "customer_stale", "customer_sectors",
             "customer_edit", "customer_agencies",
             "manager",   # the manager's scoreboard: managers and administrators, like the workbench
             "account_import", "account_duplicates"}   # issue 15: importing and merging accounts, the same
REPORTS = sorted(set(URLS) - {"root", "health", "static", "signin", "signout", "admin_users", "index"}
                 - POSTS - WORKBENCH - API - {"api_guide", "admin_tokens"})


def check_api(r, endpoint) -> None:
    """What /api/v1/ answers whoever the cookie belongs to: the description, or 401 with its challenge."""
    if endpoint in auth_web.API_PUBLIC:
        assert r.status_code == 200 and r.json["openapi"] == "3.1.0"
    else:
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        assert SECRET_CLIENT not in r.text and "error" in r.json


def request(c, endpoint, query=""):
    url = URLS[endpoint] + (f"?{query}" if query else "")
    return c.post(url, headers=ORIGIN) if endpoint in POSTS else c.get(url)


def test_the_route_table_covers_every_rule_of_the_url_map(app):
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(URLS)


@pytest.mark.parametrize("endpoint", sorted(URLS))
def test_without_a_session(app, endpoint):
    r = request(Client(app), endpoint)
    if endpoint in API:
        return check_api(r, endpoint)
    if endpoint in ("root", "health", "static", "signin"):
        assert r.status_code in (200, 302) and "/signin" not in r.headers.get("Location", "")
        return
    assert r.status_code == 302
    location = urlsplit(r.headers["Location"])
    assert location.path == "/signin" and parse_qs(location.query)["next"][0].startswith("/")
    if endpoint in REPORTS:
        for fmt in ("json", "csv", "xlsx"):
            r = request(Client(app), endpoint, f"format={fmt}")
            assert r.status_code == 401 and SECRET_CLIENT not in r.text


def test_the_health_check_and_root_need_no_session_and_show_no_figures(app):
    c = Client(app)
    assert c.get("/").headers["Location"] == "/reports/"
    health = c.get("/health").json
    assert health["status"] == "ok" and "gross" not in json.dumps(health).lower()


@pytest.mark.parametrize("email", ["viewer@example.com", "management@example.com", "admin@example.com"])
@pytest.mark.parametrize("endpoint", sorted(URLS))
def test_viewers_management_and_admins_read_every_report(app, config, email, endpoint):
    c = signed_in(app, config, email)
    r = request(c, endpoint)
    if endpoint in API:
        check_api(r, endpoint)
    elif endpoint in ("admin_users", "admin_tokens"):
        assert r.status_code == (200 if email.startswith("admin") else 403)
    elif endpoint in WORKBENCH:
        assert r.status_code == (403 if email.startswith("viewer") else 200)
    elif endpoint in POSTS:
        assert r.status_code == 403  # no CSRF token: refused, still signed in
        assert c.get("/reports/").status_code == 200
    elif endpoint == "root":
        assert r.status_code == 302
    else:
        assert r.status_code == 200, r.text[:300]
    if endpoint in REPORTS:
        assert request(c, endpoint, "format=json").status_code == 200


@pytest.mark.parametrize("email, status", [("viewer@example.com", 403), ("management@example.com", 403),
                                           ("admin@example.com", 200)])
def test_only_an_admin_sees_rejected_rows(app, config, email, status):
    r = signed_in(app, config, email).get("/reports/imports?batch=1")
    assert r.status_code == status
    assert ("#REF!" in r.text) == (status == 200)


AE_RULES = {endpoint: ("own" if endpoint in auth_web.AE_FILTERED_ENDPOINTS | auth_web.AE_CUSTOMER_ENDPOINTS else
                       "open" if endpoint in auth_web.AE_OPEN_ENDPOINTS | auth_web.PUBLIC_ENDPOINTS else
                       "accounts" if endpoint in auth_web.ACCOUNT_ENDPOINTS else
                       "refused") for endpoint in URLS}
# Issue 15: the address book's pages an ae opens whatever the AE asked for (the team shares the
# book); their figures are blank but for the ae's own accounts (tests/test_web_accounts.py).


@pytest.mark.parametrize("endpoint", sorted(URLS))
def test_an_ae_sees_their_own_accounts_and_nothing_else(app, config, endpoint):
    c = signed_in(app, config, "jane@example.com")
    rule = AE_RULES[endpoint]
    if endpoint in API:
        return check_api(request(c, endpoint), endpoint)
    if rule == "refused":
        r = request(c, endpoint)
        assert r.status_code == 403 and "403" in r.text and SECRET_CLIENT not in r.text
        return
    if rule == "open":
        assert request(c, endpoint).status_code in (200, 302, 403 if endpoint == "signout" else 200)
        return
    if rule == "accounts":
        if endpoint in POSTS:   # no CSRF token: refused before the view asks who owns the account
            assert request(c, endpoint).status_code == 403
            return
        for query in ("", "ae=JOHN%20ROE", "format=json"):
            r = request(c, endpoint, query)
            assert r.status_code == 200 and "/reports/customer/3" not in r.text, (endpoint, query)
        return
    other = request(c, endpoint, "ae=JOHN%20ROE")
    assert other.status_code == 403 and "only your own accounts" in other.text
    assert request(c, endpoint, "ae=JANE+DOE&ae=JOHN+ROE").status_code == 403
    assert request(c, endpoint, "ae=").status_code == 403
    missing = request(c, endpoint, "year=2026")
    assert missing.status_code == 302
    assert parse_qs(urlsplit(missing.headers["Location"]).query) == {"year": ["2026"], "ae": [JANE]}
    for query in ("ae=jane+doe&year=2026", "ae=JANE+DOE&year=2025&format=json",
                  "ae=JANE+DOE&year=2026&format=csv"):
        own = request(c, endpoint, query)
        assert own.status_code == 200
        # every figure on an ae's page is theirs, and the AE filter offers only them: John's
        # customer and name never appear
        assert SECRET_CLIENT not in own.text and JOHN not in own.text.upper(), query


def test_the_ae_page_shows_the_ae_s_figures(app, config):
    c = signed_in(app, config, "jane@example.com")
    report = c.get("/reports/revenue-dashboard-customer?ae=JANE+DOE&year=2026&format=json").json
    text = json.dumps(report)
    assert "Jade Palace" in text and "Acme Foods" in text and SECRET_CLIENT not in text


# What each role is offered: no page links to what answers 403 ------------------------------------

EVERYONE = ["jane@example.com", "viewer@example.com", "management@example.com", "admin@example.com"]


class Offered(HTMLParser):
    """What a page offers to open: every href, and every choice of its filter forms' selects."""

    def __init__(self, html: str):
        super().__init__()
        self.links, self.choices, self.select = [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"].split("#")[0])
        elif tag == "select":
            self.select, self.choices = attrs["name"], self.choices + [(attrs["name"], [])]
        elif tag == "option" and self.select:
            self.choices[-1][1].append(attrs.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None


def crawl(c, start="/reports/") -> dict[str, int]:
    """Every URL reachable from `start` by a link or a filter choice, with the status it answers
    (after the ae's redirect to their own figures). Every URL found is opened; the links of only
    one page per shape (path and argument names) are followed, since a page's sort, download and
    month links multiply with its filters without offering anything new."""
    seen, queue, expanded = {}, [start], set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        r = c.get(url, follow_redirects=True)
        seen[url] = r.status_code
        parts = urlsplit(url)
        shape = (parts.path, frozenset(parse_qs(parts.query)))
        if r.status_code == 200 and r.mimetype == "text/html" and shape not in expanded:
            expanded.add(shape)
            page = Offered(r.text)
            queue += page.links
            queue += [f"{r.request.path}?{urlencode({name: value})}"
                      for name, values in page.choices for value in values]
    return seen


@pytest.mark.parametrize("email", ["jane@example.com", "viewer@example.com", "admin@example.com"])
def test_no_page_offers_a_link_or_choice_that_answers_403(app, config, email):
    reached = crawl(signed_in(app, config, email))
    refused = sorted(url for url, status in reached.items() if status == 403)
    assert refused == [] and set(reached.values()) == {200}, sorted(u for u, s in reached.items() if s != 200)[:5]
    paths = {urlsplit(url).path for url in reached}
    assert {URLS[e] for e in REPORTS if e != "customer_detail"} & paths  # the crawl went somewhere
    if email.startswith("jane"):
        # Jane's own customers (1 and 2) are linked; John's (3) never is
        assert paths == {URLS[e] for e in auth_web.AE_FILTERED_ENDPOINTS} | {
            "/reports/", "/static/style.css", "/static/favicon.svg", "/reports/customer/1", "/reports/customer/2"} | {
            "/accounts/", "/accounts/follow-ups", "/accounts/agency/1", "/accounts/customer/1", "/accounts/customer/2",
            "/accounts/customer/3"}
        assert not [url for url in reached if "JOHN" in url.upper()]
    else:
        assert "/reports/customer/3" in paths and "/reports/imports" in paths
        assert ("/reports/imports?batch=1" in reached) == email.startswith("admin")


def menu(html: str) -> list[str]:
    return Offered(html[html.index("<header"):html.index("</header>")]).links


def test_an_ae_s_menu_and_index_offer_only_their_reports(app, config):
    page = signed_in(app, config, "jane@example.com").get("/reports/").text
    filtered = sorted(URLS[e] for e in auth_web.AE_FILTERED_ENDPOINTS | {"account_list", "account_follow_ups"})
    assert sorted(menu(page)) == sorted(["/reports/"] + filtered)
    index = page[page.index('<ul class="index">'):]
    assert sorted(re.findall(r'<a href="([^"]+)"', index)) == filtered
    assert "Import history" not in page and "Language review" not in page and "/admin/users" not in page


@pytest.mark.parametrize("email, users_link", [("viewer@example.com", False), ("management@example.com", False),
                                               ("admin@example.com", True)])
def test_only_an_admin_s_menu_has_the_users_page(app, config, email, users_link):
    c = signed_in(app, config, email)
    page = c.get("/reports/").text
    assert ("/admin/users" in menu(page)) == users_link
    assert {"/reports/imports", "/reports/language-review"} <= set(menu(page))
    if users_link:
        assert c.get("/admin/users").status_code == 200


@pytest.mark.parametrize("endpoint", ["monthly_summary", "customer_revenue", "sector_analysis"])
def test_a_viewer_s_customer_names_link_to_customer_pages_that_open(app, config, endpoint):
    c = signed_in(app, config, "viewer@example.com")
    page = c.get(URLS[endpoint], query_string={"year": 2026}).text
    links = dict((name, html.unescape(href)) for href, name in re.findall(
        r'<a href="(/reports/customer/\d+(?:\?[^"]*)?)">([^<]+)</a>', page))
    assert set(links) == {"Jade Palace", "Acme Foods", SECRET_CLIENT}
    for name, href in links.items():
        customer = c.get(href)
        assert customer.status_code == 200 and f"<h1>{name}</h1>" in customer.text


@pytest.mark.parametrize("endpoint", ["monthly_summary", "customer_revenue", "sector_analysis"])
def test_an_ae_s_customer_names_open_their_own_view_of_the_customer(app, config, endpoint):
    query = {"year": 2026, "ae": JANE}
    c = signed_in(app, config, "jane@example.com")
    links = [href for href in Offered(c.get(URLS[endpoint], query_string=query).text).links
             if href.startswith("/reports/customer/")]
    assert {urlsplit(href).path for href in links} == {"/reports/customer/1", "/reports/customer/2"}
    for href in links:
        customer = c.get(href, follow_redirects=True)
        assert customer.status_code == 200 and JOHN not in customer.text.upper()


def test_an_ae_opens_only_a_customer_they_have_booked(app, config):
    c = signed_in(app, config, "jane@example.com")
    r = c.get("/reports/customer/3?year=2026&ae=JANE+DOE")
    assert r.status_code == 403 and "only the customers you have booked" in r.text
    assert SECRET_CLIENT not in r.text
    assert c.get("/reports/customer/3?year=2026&ae=JANE+DOE&format=json").status_code == 403
    assert c.get("/reports/customer/3?year=2026&ae=JOHN+ROE").status_code == 403
    assert c.get("/reports/customer/3", follow_redirects=True).status_code == 403


@pytest.mark.parametrize("email", ["viewer@example.com", "management@example.com"])
def test_only_an_admin_is_offered_the_rejected_rows(app, config, email):
    page = signed_in(app, config, email).get("/reports/imports").text
    assert "batch=" not in page
    assert '<td class="num">1</td>' in page  # the count of rejected rows is still shown
    admin = signed_in(app, config, "admin@example.com")
    page = admin.get("/reports/imports").text
    assert 'href="/reports/imports?batch=1#rejected_rows"' in page
    assert "#REF!" in admin.get("/reports/imports?batch=1").text


def ae_choices(html: str) -> list[str]:
    select = re.search(r'<select name="ae">(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', select)


@pytest.mark.parametrize("endpoint", ["monthly_summary", "customer_revenue", "market_analysis",
                                      "sector_analysis", "management_performance"])
def test_the_ae_filter_offers_an_ae_only_their_own(app, config, endpoint):
    page = signed_in(app, config, "jane@example.com").get(URLS[endpoint], query_string={"ae": JANE}).text
    assert ae_choices(page) == [JANE]
    assert f'<option value="{JANE}" selected>' in page
    viewer = signed_in(app, config, "viewer@example.com").get(URLS[endpoint]).text
    assert ae_choices(viewer) == ["", JANE, JOHN]


@pytest.mark.parametrize("email", EVERYONE)
def test_may_open_says_what_the_app_answers(app, config, email):
    """The rule the pages ask is the rule the app enforces: may_open is False exactly on a 403."""
    c = signed_in(app, config, email)
    conn = db.connect_auth(config.database_path)
    principal = auth_web.Principal(auth.get_user(conn, email), "", "session")
    conn.close()
    for endpoint in sorted(set(URLS) - POSTS - API):  # a POST is a form, not a link; the API no page's
        for args in ({}, {"ae": JANE}, {"ae": JOHN}, {"ae": ""}, {"batch": "1"}):
            status = request(c, endpoint, urlencode(args)).status_code
            assert auth_web.may_open(principal, endpoint, **args) == (status != 403), (endpoint, args, status)


# Signing in and out on the real app ------------------------------------------------------------


def sign_in(c, email, password=PASSWORD, next_path="/reports/", headers=ORIGIN):
    page = c.get("/signin")
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    return c.post("/signin", data={"email": email, "password": password, "csrf_token": token,
                                   "next": next_path}, headers=headers)


def test_the_sign_in_page_is_in_the_site_layout_with_its_headers(app):
    r = Client(app).get("/signin")
    assert r.status_code == 200 and "Data last updated" in r.text and "<h1>Sign in</h1>" in r.text
    assert r.headers["X-Frame-Options"] == "DENY" and "form-action 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["Cache-Control"] == "no-store"


def test_sign_in_then_sign_out_on_the_real_app(app, cheap_scrypt):
    c = Client(app)
    r = sign_in(c, "viewer@example.com", next_path="/reports/market-analysis?year=2026")
    assert r.status_code == 303 and r.headers["Location"] == "/reports/market-analysis?year=2026"
    page = c.get("/reports/")
    assert page.status_code == 200 and "viewer@example.com" in page.text and "Sign out" in page.text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    assert c.post("/signout", data={"csrf_token": "f" * 64}, headers=ORIGIN).status_code == 403
    assert c.post("/signout", data={"csrf_token": token}, headers={"Origin": "http://evil"}).status_code == 403
    assert c.post("/signout", data={"csrf_token": token}, headers=ORIGIN).status_code == 303
    assert c.get("/reports/").status_code == 302


@pytest.mark.parametrize("headers, token", [(ORIGIN, None), (ORIGIN, "0" * 64), ({}, "ok"),
                                            ({"Origin": "https://evil.example"}, "ok")])
def test_sign_in_without_csrf_or_from_another_origin_is_403(app, cheap_scrypt, headers, token):
    c = Client(app)
    real = re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get("/signin").text).group(1)
    data = {"email": "viewer@example.com", "password": PASSWORD}
    if token:
        data["csrf_token"] = real if token == "ok" else token
    r = c.post("/signin", data=data, headers=headers)
    assert r.status_code == 403 and "Data last updated" in r.text  # the site's error page
    assert auth_web.SESSION_COOKIE not in r.headers.get("Set-Cookie", "")


def test_a_users_page_change_without_csrf_is_403_and_changes_nothing(app, config):
    c = signed_in(app, config, "admin@example.com")
    r = c.post("/admin/users", data={"action": "add", "email": "x@example.com", "role": "admin"}, headers=ORIGIN)
    assert r.status_code == 403
    conn = db.connect_auth(config.database_path)
    assert auth.get_user(conn, "x@example.com") is None
    conn.close()


@pytest.mark.parametrize("next_path", ["//evil.example/", "https://evil.example/", "/\\evil.example",
                                       "/\t/evil.example", "javascript:alert(1)"])
def test_an_open_redirect_through_next_lands_on_the_reports(app, cheap_scrypt, next_path):
    r = sign_in(Client(app), "viewer@example.com", next_path=next_path)
    assert r.status_code == 303 and r.headers["Location"] == "/reports/"


@pytest.mark.parametrize("cookie", ["A" * 43, "forged", auth.token_digest("x")])
def test_forged_cookies_are_no_session(app, cookie):
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, cookie)
    assert c.get("/reports/monthly/revenue-summary").status_code == 302
    assert c.get("/reports/monthly/revenue-summary?format=csv").status_code == 401


def test_expired_and_revoked_cookies_are_no_session(app, config):
    expired, revoked = signed_in(app, config, "viewer@example.com"), signed_in(app, config, "viewer@example.com")
    conn = db.connect_auth(config.database_path)
    try:
        conn.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z' WHERE token_hash = ?",
                     (auth.token_digest(expired.get_cookie(auth_web.SESSION_COOKIE).value),))
        auth.end_session(conn, revoked.get_cookie(auth_web.SESSION_COOKIE).value)
    finally:
        conn.close()
    assert expired.get("/reports/").status_code == 302
    assert revoked.get("/reports/").status_code == 302


def test_the_sso_header_counts_only_from_a_trusted_proxy(app):
    header = {"Tailscale-User-Login": "admin@example.com"}
    untrusted = Client(app).get("/reports/imports", headers=header, environ_base={"REMOTE_ADDR": "192.0.2.5"})
    assert untrusted.status_code == 302
    spoofed = Client(app).get("/reports/imports", headers={**header, "X-Forwarded-For": "10.0.0.1"},
                              environ_base={"REMOTE_ADDR": "192.0.2.5"})
    assert spoofed.status_code == 302
    trusted = Client(app).get("/reports/imports", headers=header, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert trusted.status_code == 200 and "admin@example.com" in trusted.text


# Hostile filter values ---------------------------------------------------------------------------

FILTERS = ["year", "quarter", "from", "to", "measure", "ae", "revenue_type", "market", "sector", "q",
           "status", "batch", "limit", "table", "format"]
HOSTILE = ["<script>alert(1)</script>", "' OR '1'='1' --", "1; DROP TABLE spots; --",
           "\"); DELETE FROM customers; --", "%' UNION SELECT password_hash FROM users --"]


def test_hostile_filter_values_come_back_escaped_and_change_no_data(app, config):
    before = data_checksum(config)
    c = signed_in(app, config, "admin@example.com")
    seen = set()
    for endpoint in REPORTS:
        for name in FILTERS:
            for value in HOSTILE:
                r = c.get(URLS[endpoint], query_string={name: value})
                assert r.status_code in (200, 400, 404), (endpoint, name, value, r.status_code)
                seen.add(r.status_code)
                if r.mimetype == "text/html":
                    assert "<script>alert(1)</script>" not in r.text, (endpoint, name)
                    assert "scrypt:" not in r.text
    assert seen >= {200, 400}
    assert data_checksum(config) == before
    conn = db.connect(config.database_path)
    assert conn.execute("SELECT count(*) FROM spots").fetchone()[0] == 30
    conn.close()


def test_a_hostile_search_is_echoed_escaped_on_the_page(app, config):
    c = signed_in(app, config, "viewer@example.com")
    r = c.get("/reports/revenue-dashboard-customer", query_string={"q": "<script>alert(1)</script>"})
    assert r.status_code == 200 and "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


def test_an_error_page_escapes_the_value_once(app, config):
    r = signed_in(app, config, "viewer@example.com").get("/reports/ae-dashboard?year=<b>x</b>")
    assert r.status_code == 400 and '<section class="error">' in r.text and "&lt;b&gt;x&lt;/b&gt;" in r.text


# Signing in while an import writes (issue 10) ----------------------------------------------------

@pytest.fixture
def import_writing(config):
    """What an import holds for the seconds of its write phase: the import lock and the main
    database's write transaction."""
    from ctvdb import importer

    with importer.import_lock(config.database_path):
        writer = sqlite3.connect(config.database_path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM budgets")   # uncommitted: readers still see the budgets
        try:
            yield
        finally:
            writer.execute("ROLLBACK")
            writer.close()


def test_signing_in_and_reading_do_not_wait_on_an_import_s_write(app, cheap_scrypt, import_writing):
    """Two sign-ins during a 200,000-row import's write phase once got 503 after 5.4 s."""
    started = time.monotonic()
    for email in ("viewer@example.com", "management@example.com"):
        c = Client(app)
        assert sign_in(c, email).status_code == 303
        page = c.get("/reports/management-performance?year=2026&format=json")
        assert page.status_code == 200
        assert {row["ae"]: row["budget"] for row in page.json["tables"]["aes"]["rows"] if row["budget"]} == \
            {JANE: 5000.0, JOHN: 9000.0}
    assert time.monotonic() - started < 3   # not the 5 s busy timeout of the main database


def test_a_change_during_an_import_waits_or_is_refused_with_a_sentence(config, import_writing, monkeypatch,
                                                                     tmp_path, capsys):
    from ctvdb import cli

    monkeypatch.setattr(db, "EDIT_WAIT_SECONDS", 0.3)
    (tmp_path / "budgets.csv").write_text("ae,month,amount\nJane Doe,2026-02,7000\n")
    assert cli.main(["--db", str(config.database_path), "budgets", "load", str(tmp_path / "budgets.csv")]) == 1
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "ctvdb: error: An import is writing to the database just now; nothing was saved. Try again in a minute.")
    conn = sqlite3.connect(config.database_path)
    assert conn.execute("SELECT count(*) FROM budgets WHERE broadcast_month = 202602").fetchone()[0] == 0
    conn.close()


def test_a_refused_change_is_a_409_page_with_its_sentence(app):
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    request = Request(EnvironBuilder(path="/reports/").get_environ())
    request.db = request.auth_db = request.principal = None
    page = app.error_page(request, db.ImportRunning("An import is writing to the database just now; nothing was "
                                                    "saved. Try again in a minute."))
    assert page.status_code == 409
    assert "nothing was saved" in page.get_data(as_text=True)
