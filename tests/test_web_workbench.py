"""The customer workbench's pages through the WSGI app (issue 12): the resolution queue and its
suggestions, "same as" and "a new customer" through the forms with a real session and CSRF token,
the change log and its undo, the customer list, stale forms, roles and methods. Expected figures
are sums of the workbook rows this module writes, grouped by the customer a person means."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from datetime import timedelta

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, codes, db, importer
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app
from xlsx_rows import Row, write

OCT, NOV = dt.date(2026, 10, 1), dt.date(2026, 11, 1)
TODAY = dt.date(2026, 11, 20)
ORIGIN = {"Origin": "http://localhost"}
# Bill code -> (the advertiser a person means, gross of each of its rows). Gross decides the
# queue's order: Wells Fargo Bank PROD, then McDonalds, then the rest.
CODES = {
    "Wells Fargo": ("wells", 500.0),
    "Wells  Fargo Bank PROD": ("wells", 900.0),
    "Admerasia:McDonald's": ("mcd", 300.0),
    "McDonalds": ("mcd", 700.0),
    "Phở Hòa": ("pho", 200.0),
    "PHO HOA": ("pho", 100.0),
    "Tempur Sealy": ("tempur", 50.0),
}


def rows() -> list[Row]:
    out = []
    for i, code in enumerate(sorted(CODES) * 2):
        month = OCT if i % 2 else NOV
        out.append(Row(bill_code=code, month=month, air_date=month + dt.timedelta(days=i % 20),
                       gross=CODES[code][1], net=CODES[code][1] * 0.85, line=i + 1,
                       sales_person=("Alice Nguyen", "Brandon Wu")[i % 2]))
    return out


def gross_by(group) -> dict[str, float]:
    """Gross of the workbook rows per group(bill code), summed here from the rows."""
    sums = defaultdict(float)
    for row in rows():
        sums[group(row.bill_code)] += row.gross
    return {k: round(v, 2) for k, v in sums.items()}


@pytest.fixture
def site(tmp_path, cheap_scrypt):
    path = tmp_path / "ctvdb.db"
    db.init(path)
    write(tmp_path / "log.xlsx", {"Commercials": rows()})
    importer.import_workbook(path, tmp_path / "log.xlsx", mode="manual", auto_setup=True, today=TODAY)
    conn = db.connect_auth(path)
    for role in ("admin", "management", "viewer"):
        auth.add_user(conn, f"{role}@example.com", "not used in tests 1", role)
    auth.add_user(conn, "jane@example.com", "not used in tests 1", "ae", ae="Alice Nguyen")
    conn.close()
    config = Config(database_path=path)
    now = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.timezone.utc)
    return create_app(config, now=lambda: now), config


def client(site, email="management@example.com") -> Client:
    app, config = site
    conn = db.connect_auth(config.database_path)
    token = auth.start_session(conn, auth.get_user(conn, email), timedelta(hours=1))
    conn.close()
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, token)
    return c


def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def cid(site, bill_code: str) -> int:
    conn = db.connect(site[1].database_path)
    try:
        return conn.execute("SELECT customer_id FROM bill_codes WHERE code_key = ?", (codes.normalise_bill_code(bill_code).lower(),)).fetchone()[0]
    finally:
        conn.close()


def version(site, customer_id: int) -> int:
    conn = db.connect(site[1].database_path)
    try:
        return conn.execute("SELECT version FROM customers WHERE id = ?", (customer_id,)).fetchone()[0]
    finally:
        conn.close()


def revenue(c) -> dict[int, float]:
    """Customer revenue report's total per customer id, from its JSON download."""
    cache.REPORTS.clear() if hasattr(cache.REPORTS, "clear") else None
    report = c.get("/reports/revenue-dashboard-customer?year=2026&format=json").json
    table = next(iter(report["tables"].values()))
    totals = defaultdict(float)
    for row in table["rows"]:
        totals[row["customer_id"]] += row["total"]
    return {k: round(v, 2) for k, v in totals.items() if v}


def digest(site) -> str:
    conn = db.connect(site[1].database_path)
    try:
        h = hashlib.sha256()
        for line in conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()
    finally:
        conn.close()


def decide(c, site, bill_code: str, into: str | None, action: str = "same", stale: bool = False):
    page = c.get("/customers/review").text
    customer = cid(site, bill_code)
    data = {"csrf_token": csrf(page), "customer_id": customer, "version": version(site, customer) - stale,
            "action": action}
    if into is not None:
        data["into"] = cid(site, into)
    return c.post("/customers/review", data=data, headers=ORIGIN)


def queue(page: str) -> list[tuple[str, list[str]]]:
    """(customer, its suggestions in order) as the queue page lists them."""
    out = []
    for section in page.split('<section class="review"')[1:]:
        name = re.search(r"<h2><a [^>]+>([^<]+)</a></h2>", section).group(1)
        out.append((name, re.findall(r">Same as ([^<]+)</button>", section)))
    return out


def test_the_queue_lists_the_imported_customers_by_gross_with_the_expected_suggestion_first(site):
    import html
    page = client(site).get("/customers/review")
    assert page.status_code == 200
    listed = [(html.unescape(n), [html.unescape(s) for s in sug]) for n, sug in queue(page.text)]
    # highest gross first (summed from the rows), each under its name as the import normalised
    # it (DOMAIN §4: the PROD suffix dropped, spaces collapsed)
    shown = {"Wells  Fargo Bank PROD": "Wells Fargo Bank"}
    gross = gross_by(lambda b: b)
    assert [name for name, _ in listed] == [shown.get(code, code) for code in sorted(CODES, key=lambda c: -gross[c])]
    suggestions = dict(listed)
    assert suggestions["McDonalds"][0] == "Admerasia:McDonald's"
    assert suggestions["PHO HOA"][0] == "Phở Hòa"
    assert suggestions["Wells Fargo Bank"][0] == "Wells Fargo"
    assert all(len(s) <= 3 for s in suggestions.values())
    assert f"{gross_by(lambda b: b)['McDonalds']:,.2f}" in page.text


def test_same_as_makes_the_figures_those_of_the_intended_customers_and_undo_restores_them(site):
    c = client(site)
    before = revenue(c)
    assert before == {cid(site, code): g for code, g in gross_by(lambda b: b).items()}
    for code, into in (("McDonalds", "Admerasia:McDonald's"), ("PHO HOA", "Phở Hòa"),
                       ("Wells  Fargo Bank PROD", "Wells Fargo")):
        r = decide(c, site, code, into)
        assert r.status_code == 303 and r.headers["Location"].startswith("/customers/review?change=")
        assert "was merged into" in c.get(r.headers["Location"]).text
    survivor = {"wells": "Wells Fargo", "mcd": "Admerasia:McDonald's", "pho": "Phở Hòa", "tempur": "Tempur Sealy"}
    intended = gross_by(lambda b: survivor[CODES[b][0]])
    assert revenue(c) == {cid(site, code): g for code, g in intended.items()}
    assert [name for name, _ in queue(c.get("/customers/review").text)] == [
        "Wells Fargo", "Admerasia:McDonald&#39;s", "Phở Hòa", "Tempur Sealy"]

    log = c.get("/customers/changes")
    assert log.status_code == 200 and log.text.count(">Undo</button>") == 3
    assert "management@example.com" in log.text and "→" in log.text
    undo_urls = re.findall(r'action="(/customers/changes/\d+/undo)"', log.text)
    for url in undo_urls:   # newest first: each undo takes back the latest decision left
        r = c.post(url, data={"csrf_token": csrf(log.text)}, headers=ORIGIN)
        assert r.status_code == 303 and "was undone" in c.get(r.headers["Location"]).text
    assert revenue(c) == before
    assert c.post(undo_urls[0], data={"csrf_token": csrf(log.text)}, headers=ORIGIN).status_code == 409


def test_a_new_customer_leaves_the_queue_and_later_moves_it_behind_the_others(site):
    c = client(site)
    import html
    first = html.unescape(queue(c.get("/customers/review").text)[0][0])
    r = decide(c, site, first, None, action="later")
    assert r.status_code == 303
    order = [html.unescape(name) for name, _ in queue(c.get("/customers/review").text)]
    assert order[-1] == first and len(order) == len(set(order))
    unchanged = revenue(c)
    r = decide(c, site, "Tempur Sealy", None, action="later")
    assert r.status_code == 303 and revenue(c) == unchanged   # no figure changes
    assert "Tempur Sealy (#" in c.get(r.headers["Location"]).text and "left for later" in c.get(r.headers["Location"]).text
    r = decide(c, site, "Tempur Sealy", None, action="new")
    assert r.status_code == 303
    assert "was confirmed as a customer" in c.get(r.headers["Location"]).text
    assert "Tempur Sealy" not in [name for name, _ in queue(c.get("/customers/review").text)]


def test_a_stale_form_is_409_with_who_changed_it_and_changes_nothing(site):
    c = client(site)
    other = client(site, "admin@example.com")
    assert decide(other, site, "Phở Hòa", None, action="new").status_code == 303
    unchanged = digest(site)
    r = decide(c, site, "Phở Hòa", "PHO HOA", stale=True)
    assert r.status_code == 409
    assert "changed after the page was opened" in r.text and "admin@example.com" in r.text
    assert digest(site) == unchanged


def test_an_undo_refused_is_409_with_its_sentence(site):
    c = client(site)
    decide(c, site, "McDonalds", "Admerasia:McDonald's")
    log = c.get("/customers/changes").text
    first = re.findall(r'action="(/customers/changes/\d+/undo)"', log)[0]
    # a later decision on the survivor: the merge cannot be undone before that one
    assert decide(c, site, "Admerasia:McDonald's", None, action="new").status_code == 303
    unchanged = digest(site)
    r = c.post(first, data={"csrf_token": csrf(log)}, headers=ORIGIN)
    assert r.status_code == 409 and "undo that first" in r.text
    assert digest(site) == unchanged


@pytest.mark.parametrize("email", ["viewer@example.com", "jane@example.com"])
@pytest.mark.parametrize("url", ["/customers/", "/customers/review", "/customers/changes"])
def test_viewers_and_aes_get_403_and_no_menu_entry(site, email, url):
    c = client(site, email)
    r = c.get(url)
    assert r.status_code == 403 and auth_web.NOT_WORKBENCH in r.text
    assert "/customers/" not in c.get("/reports/", follow_redirects=True).text
    unchanged = digest(site)
    page_token = csrf(c.get("/reports/", follow_redirects=True).text)
    assert c.post("/customers/review", data={"csrf_token": page_token, "customer_id": cid(site, "McDonalds"),
                                             "version": 1, "action": "new"}, headers=ORIGIN).status_code == 403
    assert digest(site) == unchanged


@pytest.mark.parametrize("email", ["admin@example.com", "management@example.com"])
def test_the_menu_and_index_offer_the_workbench_to_admins_and_managers(site, email):
    page = client(site, email).get("/reports/").text
    for url in ("/customers/", "/customers/review", "/customers/changes"):
        assert page.count(f'href="{url}"') == 2   # the menu and the index


def test_a_get_to_a_post_route_is_405_and_a_post_without_csrf_is_403(site):
    c = client(site)
    assert c.get("/customers/changes/1/undo").status_code == 405
    unchanged = digest(site)
    r = c.post("/customers/review", data={"customer_id": cid(site, "McDonalds"), "version": 1, "action": "new"},
               headers=ORIGIN)
    assert r.status_code == 403 and "expired" in r.text
    page = c.get("/customers/review").text
    r = c.post("/customers/review", data={"csrf_token": csrf(page), "customer_id": cid(site, "McDonalds"),
                                          "version": 1, "action": "new"}, headers={"Origin": "http://evil"})
    assert r.status_code == 403
    assert digest(site) == unchanged


def test_the_customer_list_searches_accent_blind_and_filters(site):
    c = client(site)
    page = c.get("/customers/?q=pho").text
    names = re.findall(r'<a href="/reports/customer/(\d+)">([^<]+)</a>', page)
    assert sorted(int(i) for i, _ in names) == sorted({cid(site, "Phở Hòa"), cid(site, "PHO HOA")})
    # trailing 12 months from Nov-26 hold both months of the workbook
    assert f"{gross_by(lambda b: b)['Phở Hòa']:,.2f}" in page
    decide(c, site, "PHO HOA", "Phở Hòa")
    page = c.get("/customers/?q=pho").text
    assert re.findall(r'<a href="/reports/customer/(\d+)">', page) == [str(cid(site, "Phở Hòa"))]
    assert "PHO HOA" in page   # the alias is listed among its bill codes
    assert f"{gross_by(lambda b: 'pho' if CODES[b][0] == 'pho' else b)['pho']:,.2f}" in page
    unreviewed = c.get("/customers/?unreviewed=yes").text
    assert len(re.findall(r'<a href="/reports/customer/\d+">', unreviewed)) == len(CODES) - 1
    assert c.get("/customers/?class=irregular").text.count('href="/reports/customer/') == 0


def merge_form(c, site, survivor: str, others: list[str], stale: str | None = None):
    page = c.get("/customers/").text
    data = {"csrf_token": csrf(page), "survivor": cid(site, survivor), "merge": [cid(site, o) for o in others]}
    for code in [survivor, *others]:
        data[f"version_{cid(site, code)}"] = version(site, cid(site, code)) - (code == stale)
    return c.post("/customers/merge", data=data, headers=ORIGIN)


def test_the_list_s_merge_form_merges_the_ticked_customers_and_the_log_undoes_it(site):
    c = client(site)
    before = revenue(c)
    r = merge_form(c, site, "Wells Fargo", ["Wells  Fargo Bank PROD", "Tempur Sealy"])
    assert r.status_code == 303 and "were merged into" in c.get(r.headers["Location"]).text
    group = {"Wells  Fargo Bank PROD": "Wells Fargo", "Tempur Sealy": "Wells Fargo"}
    assert revenue(c) == {cid(site, code): g for code, g in gross_by(lambda b: group.get(b, b)).items()}
    log = c.get("/customers/changes").text
    undo = re.findall(r'action="(/customers/changes/\d+/undo)"', log)[0]
    assert c.post(undo, data={"csrf_token": csrf(log)}, headers=ORIGIN).status_code == 303
    assert revenue(c) == before


def test_the_merge_form_refuses_a_stale_version_and_a_merge_into_itself(site):
    c = client(site)
    unchanged = digest(site)
    r = merge_form(c, site, "Wells Fargo", ["Tempur Sealy"], stale="Tempur Sealy")
    assert r.status_code == 409 and "changed after the page was opened" in r.text
    r = merge_form(c, site, "Wells Fargo", ["Wells Fargo"])
    assert r.status_code == 409 and "Choose at least one customer to merge into" in r.text
    assert digest(site) == unchanged


# In Chromium: the queue's "same as" and the log's undo, clicked -------------------------------

def totals_on_page(page, customer_id: int) -> dict[str, str]:
    """{AE: the Total cell} of a customer's rows in the customer revenue table, as shown."""
    page.open("/reports/revenue-dashboard-customer?year=2026")
    head, rows = page.js(
        '[[...document.querySelectorAll("#customers thead th")].map(c => c.textContent.trim()),'
        ' [...document.querySelectorAll("#customers tbody tr")].filter(tr => tr.querySelector('
        f'"a[href^=\'/reports/customer/{customer_id}?\'], a[href=\'/reports/customer/{customer_id}\']"))'
        '.map(tr => [...tr.cells].map(c => c.textContent.trim()))]')
    total, ae = head.index("Total 2026"), head.index("AE")
    return {cells[ae]: cells[total] for cells in rows}


def expected_on_page(bill_codes) -> dict[str, str]:
    """{AE: gross} of the workbook rows of these bill codes, as the page formats money."""
    sums = defaultdict(float)
    for row in rows():
        if row.bill_code in bill_codes:
            sums[row.sales_person.upper()] += row.gross
    return {ae: f"{g:,.2f}" for ae, g in sums.items()}


def click(page, selector: str) -> None:
    """Press a form's button and wait for the page the redirect lands on."""
    page.tools.events.clear()
    page.js(f'document.querySelector("{selector}").click()')
    page.tools.wait_for("Page.loadEventFired")


def test_in_chromium_same_as_in_the_queue_then_undo_in_the_log(site, tmp_path):
    from browser import CHROMIUM, Tab, chromium, free_port, start_uvicorn, wait_for_port
    if CHROMIUM is None:
        pytest.fail("chromium is not installed (apt-get install chromium)")
    database = site[1].database_path
    conn = db.connect_auth(database)
    token = auth.start_session(conn, auth.get_user(conn, "management@example.com"), timedelta(hours=1))
    conn.close()
    mcd, survivor = cid(site, "McDonalds"), cid(site, "Admerasia:McDonald's")
    agency_mcd = "Admerasia:McDonald's"
    port = free_port()
    process = start_uvicorn(database, port)
    try:
        wait_for_port(port, process)
        with chromium(tmp_path / "profile") as tools:
            page = Tab(tools, port, (auth_web.SESSION_COOKIE, token))
            assert totals_on_page(page, survivor) == expected_on_page([agency_mcd])
            page.open("/customers/review")
            click(page, f"#customer-{mcd} button[name=into][value='{survivor}']")
            assert "was merged into" in page.js('document.querySelector("p.message").textContent')
            assert totals_on_page(page, survivor) == expected_on_page([agency_mcd, "McDonalds"])
            page.open("/customers/changes")
            click(page, "form[action$='/undo'] button")
            assert "was undone" in page.js('document.querySelector("p.message").textContent')
            assert totals_on_page(page, survivor) == expected_on_page([agency_mcd])
            assert totals_on_page(page, mcd) == expected_on_page(["McDonalds"])
            page.close()
    finally:
        process.terminate()
        process.wait(10)


# Stale accounts -------------------------------------------------------------------------------------

def test_stale_accounts_list_the_quiet_customers_with_what_is_at_risk_and_deactivate_them(site):
    # The site's "today" is 20 Nov 2026; the workbook's spots are in Oct and Nov 2026: with 12
    # months nobody is stale; the page's own "months" makes October's and November's customers so.
    c = client(site)
    page = c.get("/customers/stale").get_data(as_text=True)
    assert "No customer has gone quiet for that long." in page
    # Add an old customer: spots in 2024 only.
    app, config = site
    old_rows = [Row(bill_code="Old Motors", month=dt.date(2024, m, 1), air_date=dt.date(2024, m, 5),
                    gross=100.0 * m, line=900 + m) for m in range(1, 13)] + \
               [Row(bill_code="Old Motors", month=dt.date(2023, 12, 1), air_date=dt.date(2023, 12, 5), gross=5000.0,
                    line=999)]
    folder = config.database_path.parent
    write(folder / "old.xlsx", {"Commercials": old_rows})
    result = importer.import_workbook(config.database_path, folder / "old.xlsx", mode="historical", auto_setup=True, today=TODAY,
                           closed_by="acct@example.com")
    assert result.rows_imported == 13, result.message
    cache.REPORTS.clear()
    page = c.get("/customers/stale").get_data(as_text=True)
    at_risk = sum(100.0 * m for m in range(1, 13))          # its 12 months up to Dec-24, not Dec-23's
    assert "1 customer, $7,800.00 at risk" in page
    assert "Old Motors" in page and f"{at_risk:,.2f}" in page and "no spot since Nov-25 and nothing booked ahead" in page
    old = cid(site, "Old Motors")
    response = c.post("/customers/stale", headers=ORIGIN, data={
        "csrf_token": csrf(page), "deactivate": [str(old)], f"version_{old}": str(version(site, old)), "months": "12"})
    assert response.status_code == 303
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "Old Motors (#%d) was deactivated" % old in page and "No customer has gone quiet" in page
    # Figures never hide a deactivated customer.
    data = c.get("/reports/revenue-dashboard-customer?year=2024&format=json").json
    assert sum(r["total"] for r in next(iter(data["tables"].values()))["rows"]) == pytest.approx(at_risk)
    # A stale form (the version moved on) is refused with who changed it; a viewer may not.
    again = c.post("/customers/stale", headers=ORIGIN, data={
        "csrf_token": csrf(page), "deactivate": [str(old)], f"version_{old}": "1", "months": "12"})
    assert again.status_code == 409 and "changed after the page was opened" in again.get_data(as_text=True)
    assert client(site, "viewer@example.com").get("/customers/stale").status_code == 403
    assert c.get("/customers/stale?months=0").status_code == 400


# Sectors ------------------------------------------------------------------------------------------

def test_the_sector_page_adds_a_sector_and_gives_it_to_many_customers_at_once(site):
    c = client(site)
    page = c.get("/customers/sectors").get_data(as_text=True)
    response = c.post("/customers/sectors", headers=ORIGIN, data={
        "csrf_token": csrf(page), "action": "add", "code": "pets", "name": "Pet Care"})
    assert response.status_code == 303
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sector Pet Care (PETS) was added." in page and '<option value="PETS">Pet Care</option>' in page
    wells, pho = cid(site, "Wells Fargo"), cid(site, "Phở Hòa")
    response = c.post("/customers/sectors/assign", headers=ORIGIN, data={
        "csrf_token": csrf(page), "sector": "PETS", "customer": [str(wells), str(pho)],
        f"version_{wells}": str(version(site, wells)), f"version_{pho}": str(version(site, pho))})
    assert response.status_code == 303
    assert "2 customers were given sector Pet Care." in c.get(response.headers["Location"]).get_data(as_text=True)
    cache.REPORTS.clear()
    data = c.get("/reports/sector-analysis?year=2026&format=json").json
    pets = next(r for r in data["tables"]["sectors"]["rows"] if r["sector"] == "Pet Care")
    wanted = gross_by(lambda code: code)
    assert pets["customers"] == 2
    assert pets["amount"] == pytest.approx(wanted["Wells Fargo"] + wanted["Phở Hòa"])
    # The unassigned list no longer offers them; a stale form is refused with who changed what.
    page = c.get("/customers/sectors").get_data(as_text=True)
    assert f'name="customer" value="{wells}"' not in page
    again = c.post("/customers/sectors/assign", headers=ORIGIN, data={
        "csrf_token": csrf(page), "sector": "OTHER", "customer": [str(wells)], f"version_{wells}": "1"})
    assert again.status_code == 409 and "given sector Pet Care by management@example.com" in again.get_data(as_text=True)
    response = c.post("/customers/sectors", headers=ORIGIN, data={"csrf_token": csrf(page), "action": "retire", "code": "PETS"})
    assert "Sector Pet Care (PETS) was retired (its 2 customers keep it)." in c.get(response.headers["Location"]).get_data(as_text=True)
    bad = c.post("/customers/sectors", headers=ORIGIN, data={"csrf_token": csrf(page), "action": "add", "code": "AUTO", "name": "Cars"})
    assert bad.status_code == 409 and "There is already a sector with the code AUTO" in bad.get_data(as_text=True)
    assert client(site, "viewer@example.com").get("/customers/sectors").status_code == 403
    assert c.post("/customers/sectors", data={"action": "add", "code": "X", "name": "Y"}).status_code == 403   # no CSRF


# One customer's identity page ------------------------------------------------------------------------

def test_the_customer_page_renames_moves_reclassifies_and_splits_with_the_figures_following(site):
    c = client(site)
    wells, bank = cid(site, "Wells Fargo"), cid(site, "Wells  Fargo Bank PROD")
    page = c.get(f"/customers/{wells}").get_data(as_text=True)
    response = c.post(f"/customers/{wells}", headers=ORIGIN, data={
        "csrf_token": csrf(page), "version": str(version(site, wells)), "action": "rename", "name": "Wells Fargo & Co"})
    assert response.status_code == 303
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "was renamed Wells Fargo &amp; Co." in page
    # Merge the bank's code in (the queue's "same as"), then split it off here: figures as before.
    before = revenue(c)
    conn = db.connect(site[1].database_path)
    try:
        from ctvdb import customers
        customers.merge(conn, "ana@example.com", wells, [bank])
    finally:
        conn.close()
    merged = revenue(c)
    assert merged[wells] == pytest.approx(before[wells] + before[bank]) and bank not in merged
    page = c.get(f"/customers/{wells}").get_data(as_text=True)
    assert "Wells Fargo Bank" in page and "Split it off" in page
    response = c.post(f"/customers/{wells}", headers=ORIGIN, data={
        "csrf_token": csrf(page), "version": str(version(site, wells)), "action": "split",
        "bill_code": "Wells Fargo Bank"})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert revenue(c) == pytest.approx(before)
    page = c.get(f"/customers/{wells}").get_data(as_text=True)
    for action, extra, said in (("move", {"agency": "Admerasia"}, "was moved to agency Admerasia"),
                                ("class", {"revenue_class": "irregular"}, "was made irregular"),
                                ("deactivate", {}, "was deactivated")):
        response = c.post(f"/customers/{wells}", headers=ORIGIN, data={
            "csrf_token": csrf(page), "version": str(version(site, wells)), "action": action, **extra})
        page = c.get(response.headers["Location"]).get_data(as_text=True)
        assert said in page, action
    stale = c.post(f"/customers/{wells}", headers=ORIGIN, data={
        "csrf_token": csrf(page), "version": "1", "action": "rename", "name": "Wells"})
    assert stale.status_code == 409 and "was deactivated by management@example.com" in stale.get_data(as_text=True)
    assert client(site, "viewer@example.com").get(f"/customers/{wells}").status_code == 403
    detail = c.get(f"/reports/customer/{wells}").get_data(as_text=True)
    assert f'href="/customers/{wells}">Change who this customer is' in detail


# Agencies ------------------------------------------------------------------------------------------

def test_the_agencies_page_merges_aliases_and_renames(site):
    from ctvdb import customers
    c = client(site)
    conn = db.connect(site[1].database_path)
    try:   # a second agency: Tempur Sealy moved to one (booked through WorldLink, say)
        customers.move(conn, "ana@example.com", cid(site, "Tempur Sealy"), "WorldLink")
        ids = dict(conn.execute("SELECT name, id FROM agencies"))
        version_of = dict(conn.execute("SELECT id, version FROM agencies"))
    finally:
        conn.close()
    admerasia, worldlink = ids["Admerasia"], ids["WorldLink"]
    page = c.get("/customers/agencies").get_data(as_text=True)
    assert "<th scope=\"row\" class=\"first\">Admerasia</th>" in page
    response = c.post("/customers/agencies", headers=ORIGIN, data={
        "csrf_token": csrf(page), "action": "merge", "survivor": str(admerasia), "merge": [str(worldlink)],
        f"version_{admerasia}": str(version_of[admerasia]), f"version_{worldlink}": str(version_of[worldlink])})
    assert response.status_code == 303
    page = c.get(response.headers["Location"]).get_data(as_text=True)
    assert "WorldLink (agency #%d) was merged into Admerasia (agency #%d)." % (worldlink, admerasia) in page
    assert "WorldLink</th>" not in page
    conn = db.connect(site[1].database_path)
    try:
        assert conn.execute("SELECT count(*) FROM customers WHERE agency_id = ?", (worldlink,)).fetchone()[0] == 0
    finally:
        conn.close()
    response = c.post("/customers/agencies", headers=ORIGIN, data={
        "csrf_token": csrf(page), "action": "alias", "agency_id": str(admerasia), "spelling": "ADMERASIA INC"})
    assert "“ADMERASIA INC” was made an alias of Admerasia" in c.get(response.headers["Location"]).get_data(as_text=True)
    response = c.post("/customers/agencies", headers=ORIGIN, data={
        "csrf_token": csrf(page), "action": "rename", "agency_id": str(admerasia), "name": "Admerasia USA"})
    assert "was renamed Admerasia USA" in c.get(response.headers["Location"]).get_data(as_text=True)
    stale = c.post("/customers/agencies", headers=ORIGIN, data={
        "csrf_token": csrf(page), "action": "merge", "survivor": str(worldlink), "merge": [str(admerasia)],
        f"version_{admerasia}": "1", f"version_{worldlink}": "1"})
    assert stale.status_code == 409
    assert client(site, "viewer@example.com").get("/customers/agencies").status_code == 403
