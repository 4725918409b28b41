"""The accounts pages through the WSGI app (issue 15): every action through the page's forms by each
role (viewer, an ae on their own and on another's account, management, admin), what each may and
may not do (403 with a sentence, nothing saved), and the database after; the list's figures (sums
of the workbook's rows, tests/account_book.py), an ae's blank figures on others' accounts in the
page and the downloads; saved filters; bulk reassignment; two forms editing one contact; hostile
text escaped on the pages and neutralised in CSV and XLSX; the CSV import's dry run and
confirmation; duplicates merged and undone; follow-ups on their page, /me and /manager."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import openpyxl
import pytest
from werkzeug.test import Client

from account_book import account_rows, aid, build, cid, expected
from ctvdb import accounts, auth, auth_web, db
from ctvdb.accounts import Ref
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app
from ctvdb.web.views import accounts as account_views
from forms import form, forms

ORIGIN = {"Origin": "http://localhost"}
ALICE, BRANDON = "ALICE NGUYEN", "BRANDON WU"
MGR, ADMIN, VIEWER, ANA, BOB = ("management@example.com", "admin@example.com", "viewer@example.com",
                                "ana@example.com", "bob@example.com")
PAYLOAD = "<script>alert('x')</script>'; DROP TABLE account_contacts;--"
FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The book's log imported, its users, McDonalds assigned to Alice (Ana's AE) and Phở Hòa to
    Brandon (Bob's), from Jan 1."""
    path = build(tmp_path_factory.mktemp("web-accounts") / "base")
    conn = db.connect_auth(path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "PASSWORD_METHOD", "scrypt:1024:8:1")
        for role in ("admin", "management", "viewer"):
            auth.add_user(conn, f"{role}@example.com", "not used in tests 1", role)
        auth.add_user(conn, ANA, "not used in tests 1", "ae", ae="Alice Nguyen")
        auth.add_user(conn, BOB, "not used in tests 1", "ae", ae="Brandon Wu")
    conn.close()
    conn = db.connect(path)
    accounts.assign(conn, "setup@example.com", [Ref("customer", cid(conn, "McDonalds"))], ALICE, "2026-01-01")
    accounts.assign(conn, "setup@example.com", [Ref("customer", cid(conn, "Phở Hòa"))], BRANDON, "2026-01-01")
    conn.close()
    return path


@pytest.fixture
def site(built, private_copy):
    path = private_copy(built)
    cache.REPORTS.clear()
    now = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.timezone.utc)   # noon on TODAY in Pacific time
    return create_app(Config(database_path=path), now=lambda: now), path


def client(site, email=MGR) -> Client:
    app, path = site
    conn = db.connect_auth(path)
    token = auth.start_session(conn, auth.get_user(conn, email), timedelta(hours=1))
    conn.close()
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, token)
    return c


def ids(site) -> dict[str, int]:
    conn = db.connect(site[1])
    try:
        return {"mcd": cid(conn, "McDonalds"), "pho": cid(conn, "Phở Hòa"), "wells": cid(conn, "Wells Fargo"),
                "admerasia": aid(conn, "Admerasia")}
    finally:
        conn.close()


def rows_of(site) -> dict:
    conn = db.connect(site[1])
    try:
        return account_rows(conn)
    finally:
        conn.close()


def query(site, sql, *args):
    conn = db.connect(site[1])
    try:
        return [tuple(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


def account_form(page: str, url: str, button: str, **hidden):
    """The form of the account page posting to `url` with that button and those hidden values."""
    found = [f for f in forms(page, url) if any(b[2] == button for b in f.buttons)
             and all(f.fields.get(k) == str(v) for k, v in hidden.items())]
    assert len(found) == 1, f"{len(found)} forms with {button!r} {hidden}"
    return found[0]


def sentence(response) -> str:
    return html.unescape(re.search(r'<p class="sentence">(.*?)</p>', response.text, re.S).group(1))


# The list --------------------------------------------------------------------------------------

def test_the_list_shows_each_accounts_figures_as_the_workbook_sums_them(site):
    sums, i = expected(), ids(site)
    listed = {(a["type"], a["id"]): a for a in client(site).get("/accounts/?format=json").json["accounts"]}
    for code, key in (("McDonalds", "mcd"), ("Phở Hòa", "pho"), ("Wells Fargo", "wells")):
        a = listed[("customer", i[key])]
        assert (a["trailing"], a["this_year"], a["last_year"]) == (
            sums[code]["trailing"], sums[code]["this_year"], sums[code]["last_year"])
    agency = listed[("agency", i["admerasia"])]
    members = ("Admerasia:McDonald's", "Admerasia:Wells Fargo Bank")
    assert agency["trailing"] == round(sum(sums[c]["trailing"] for c in members), 2)
    assert listed[("customer", i["mcd"])]["ae"] == ALICE
    page = client(site).get("/accounts/").text
    assert f'{sums["McDonalds"]["trailing"]:,.2f}' in page and f'href="/accounts/customer/{i["mcd"]}"' in page



def test_the_account_page_shows_24_months_a_year_a_row_as_the_workbook_sums_them(site):
    from account_book import rows as book_rows
    i = ids(site)
    by_month: dict[tuple[int, int], float] = {}
    for row in book_rows():      # Dec-24 .. Nov-26: the 24 broadcast months up to TODAY's
        if row.bill_code == "McDonalds" and (2024, 12) <= (row.month.year, row.month.month) <= (2026, 11):
            key = (row.month.year, row.month.month)
            by_month[key] = by_month.get(key, 0.0) + row.gross
    page = client(site).get(f"/accounts/customer/{i['mcd']}").text
    table = page[page.index('<table class="report months"'):]
    table = table[:table.index("</table>")]
    shown = {}
    for year, cells in re.findall(r'<th scope="row" class="first">(\d{4})</th>(.*?)</tr>', table, re.S):
        shown[int(year)] = [c.replace(",", "") for c in re.findall(r'<td class="num">([^<]*)</td>', cells)]
    assert sorted(shown) == [2024, 2025, 2026]
    for year, cells in shown.items():
        assert len(cells) == 13
        for month in range(1, 13):
            inside = (2024, 12) <= (year, month) <= (2026, 11)
            gross = by_month.get((year, month), 0.0)
            expected = ("—" if not gross else f"{gross:.2f}") if inside else ""     # a month with no spot: a dash
            assert cells[month - 1] == expected, (year, month)
        assert cells[12] == f"{sum(v for (y, _), v in by_month.items() if y == year):.2f}"

def test_an_ae_sees_every_account_but_figures_only_of_their_own_in_the_page_and_downloads(site):
    sums, i = expected(), ids(site)
    c = client(site, ANA)
    listed = {(a["type"], a["id"]): a for a in c.get("/accounts/?format=json").json["accounts"]}
    assert len(listed) == len(client(site).get("/accounts/?format=json").json["accounts"])
    assert listed[("customer", i["mcd"])]["trailing"] == sums["McDonalds"]["trailing"]
    assert listed[("customer", i["pho"])]["trailing"] is None and listed[("customer", i["pho"])]["signals"] == []   # JSON: a list
    page = c.get("/accounts/").text
    assert "Phở Hòa" in page and f'{sums["Phở Hòa"]["trailing"]:,.2f}' not in page
    # sorting or filtering by revenue tells her nothing either: others' accounts sort last, blank
    ordered = [(a["type"], a["id"]) for a in c.get("/accounts/?sort=trailing&dir=desc&format=json").json["accounts"]]
    assert ordered[0] == ("customer", i["mcd"])
    assert [a["id"] for a in c.get("/accounts/?has_revenue=1&format=json").json["accounts"]] == [i["mcd"]]
    records = {r["id"]: r for r in csv.DictReader(io.StringIO(c.get("/accounts/?format=csv").data.decode("utf-8-sig")))}
    assert records[str(i["pho"])]["trailing_12"] == "" and records[str(i["pho"])]["name"] == "Phở Hòa"
    assert records[str(i["mcd"])]["trailing_12"] == f'{sums["McDonalds"]["trailing"]:.2f}'
    book = openpyxl.load_workbook(io.BytesIO(c.get("/accounts/?format=xlsx").data))
    sheet = book["Accounts"]
    header = [cell.value for cell in sheet[1]]
    by_id = {row[header.index("id")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert by_id[i["pho"]][header.index("trailing_12")] in (None, "")
    # the account page: contacts yes, figures and the report link no
    other = c.get(f"/accounts/customer/{i['pho']}").text
    assert "not assigned to you" in other and f"/reports/customer/{i['pho']}" not in other
    own = c.get(f"/accounts/customer/{i['mcd']}").text
    assert f'href="/reports/customer/{i["mcd"]}?ae=ALICE+NGUYEN"' in own


def test_filters_search_and_sort_links(site):
    i, c = ids(site), client(site)
    def got(q):
        return [(a["type"], a["id"]) for a in c.get(f"/accounts/?{q}&format=json").json["accounts"]]
    assert got("q=pho+hoa") == [("customer", i["pho"])]
    assert got(f"ae={ALICE.replace(' ', '+')}") == [("customer", i["mcd"])]
    assert {t for t, _ in got("type=agency")} == {"agency"}
    sums = expected()
    by_trailing = [a["trailing"] for a in c.get("/accounts/?type=customer&sort=trailing&dir=desc&format=json").json["accounts"]]
    assert by_trailing == sorted(by_trailing, reverse=True) and by_trailing[0] == max(s["trailing"] for s in sums.values())
    page = c.get("/accounts/?type=customer").text
    assert 'href="/accounts/?type=customer&amp;sort=trailing&amp;dir=desc"' in page
    bad = c.get("/accounts/?signal=rich")
    assert bad.status_code == 400 and "signal" in sentence(bad)


def test_the_page_shows_the_first_rows_and_all_on_asking(site, monkeypatch):
    monkeypatch.setattr(account_views, "PAGE_ROWS", 2)
    c = client(site)
    total = len(c.get("/accounts/?format=json").json["accounts"])
    page = c.get("/accounts/").text
    assert f"The first 2 of {total} accounts" in page and page.count('<th scope="row" class="first"><a href="/accounts/') == 2
    assert 'href="/accounts/?rows=all"' in page
    every = c.get("/accounts/?rows=all").text
    assert every.count('<th scope="row" class="first"><a href="/accounts/') == total


def test_saved_filters_are_each_persons_own(site):
    c = client(site, ANA)
    page = c.get("/accounts/?type=customer&has_revenue=1").text
    saved = form(page, "/accounts/filters", "Save the filter").submit(c, "Save the filter", name="Mine with money")
    assert saved.status_code == 303
    page = c.get(saved.headers["Location"]).text
    assert '<a href="/accounts/?type=customer&amp;has_revenue=1">Mine with money</a>' in page
    assert "Mine with money" not in client(site, BOB).get("/accounts/").text
    (filter_id,) = query(site, "SELECT id FROM account_saved_filters WHERE user_email = ?", ANA)[0]
    bob = client(site, BOB)
    refused = bob.post("/accounts/filters", headers=ORIGIN, data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', bob.get("/accounts/").text).group(1),
        "action": "delete", "filter_id": filter_id})
    assert refused.status_code == 409 and "no saved filter" in sentence(refused)
    gone = account_form(page, "/accounts/filters", "Delete", filter_id=filter_id).submit(c, "Delete")
    assert gone.status_code == 303 and query(site, "SELECT * FROM account_saved_filters") == []


def test_bulk_reassignment_by_a_manager_and_by_nobody_else(site):
    i = ids(site)
    c = client(site)
    bulk = form(c.get("/accounts/").text, "/accounts/assign")
    r = bulk.submit(c, "Reassign", tick=("Reassign McDonalds", "Reassign Wells Fargo"), ae=BRANDON,
                    effective_from="2026-11-01")
    assert r.status_code == 303
    assert "assigned to BRANDON WU from 2026-11-01" in c.get(r.headers["Location"]).text
    rows = query(site, "SELECT account_id, ae, effective_from, effective_to FROM account_assignments"
                       " WHERE account_type = 'customer' AND account_id IN (?, ?) ORDER BY id", i["mcd"], i["wells"])
    assert rows == [(i["mcd"], ALICE, "2026-01-01", "2026-10-31"), (i["mcd"], BRANDON, "2026-11-01", None),
                    (i["wells"], BRANDON, "2026-11-01", None)]
    assert 'action="/accounts/assign"' not in client(site, ANA).get("/accounts/").text
    before = rows_of(site)
    for who in (ANA, VIEWER):
        refused = client(site, who).post("/accounts/assign", headers=ORIGIN,
                                         data={"account": f"customer:{i['pho']}", "ae": ALICE})
        assert refused.status_code == 403 and "Only a manager or an administrator" in sentence(refused)
    assert rows_of(site) == before


# One account's forms, by role ------------------------------------------------------------------

CONTACT = {"name": "Nguyễn Thị Lan", "title": "Buyer", "role": "decision_maker", "email": "lan@phohoa.vn",
           "phone": "408-555-0102", "notes": "Calls back in the morning", "is_primary": "yes"}



def test_the_list_counts_contacts_added_after_it_was_read_by_a_form_or_in_bulk_and_across_a_load(site):
    """The people-kept part of the list (contacts, follow-ups, assignments) is kept across data
    versions that cannot change it; each way a contact arrives still shows at once."""
    i, c = ids(site), client(site)

    def listed():
        rows = {(a["type"], a["id"]): a for a in c.get("/accounts/?format=json").json["accounts"]}
        return rows[("customer", i["pho"])]["contacts"], rows[("customer", i["pho"])]["next_follow_up"]

    def counted():
        return query(site, "SELECT count(*) FROM account_contacts WHERE account_type = 'customer'"
                           " AND account_id = ? AND removed_at IS NULL", i["pho"])[0][0]

    assert listed() == (counted(), None)
    assert add_contact(site, MGR, ("customer", i["pho"])).status_code == 303
    assert listed() == (counted(), None) and counted() >= 1
    conn = db.connect(site[1])
    with conn:   # a reference load: a new data version that writes no account row
        conn.execute("INSERT INTO reference_loads (kind, source_file, rows_loaded, loaded_at)"
                     " VALUES ('sectors', 'test', 0, '2026-11-20T00:00:00Z')")
    assert listed() == (counted(), None)
    with conn:   # rows written in bulk without a change row (as a switch-over does), then a new data version
        conn.execute("INSERT INTO account_contacts (account_type, account_id, name, created_at, created_by)"
                     " VALUES ('customer', ?, 'Bulk Buyer', '2026-11-20T00:00:00Z', 'bulk')", (i["pho"],))
        conn.execute("INSERT INTO account_follow_ups (account_type, account_id, due_on, owner, text, created_at,"
                     " created_by) VALUES ('customer', ?, '2026-11-25', ?, 'Call back', '2026-11-20T00:00:00Z', 'bulk')",
                     (i["pho"], BRANDON))
        conn.execute("INSERT INTO reference_loads (kind, source_file, rows_loaded, loaded_at)"
                     " VALUES ('sectors', 'test', 0, '2026-11-20T00:00:00Z')")
    conn.close()
    assert listed() == (counted(), "2026-11-25")


def test_the_follow_ups_page_shows_the_first_rows_and_all_on_asking(site, monkeypatch):
    monkeypatch.setattr(account_views, "PAGE_ROWS", 2)
    i = ids(site)
    conn = db.connect(site[1])
    for n, due in enumerate(("2026-11-18", "2026-11-21", "2026-11-22")):
        accounts.add_follow_up(conn, MGR, Ref("customer", i["mcd"]), due, ALICE, f"Call number {n}")
    conn.close()
    c = client(site)
    page = c.get("/accounts/follow-ups").text
    assert "The first 2 of 3 follow-ups" in page
    assert "Call number 0" in page and "Call number 1" in page and "Call number 2" not in page
    assert page.count('value="done"') == 2 and 'href="/accounts/follow-ups?days=14&amp;rows=all"' in page
    every = c.get("/accounts/follow-ups?days=14&rows=all").text
    assert "3 follow-ups" in every and every.count('value="done"') == 3
    # the cached page still carries each person's own form token
    for who in (MGR, ANA):
        mine = client(site, who)
        token = re.search(r'name="csrf_token" value="([^"]+)"', mine.get("/accounts/follow-ups").text)
        assert token and token.group(1) != account_views.CSRF_STAND_IN

def add_contact(site, who, account, **values):
    url = f"/accounts/{account[0]}/{account[1]}"
    c = client(site, who)
    return account_form(c.get(url).text, url, "Add the contact").submit(c, "Add the contact", **(CONTACT | values))


@pytest.mark.parametrize("who, own, allowed", [(ANA, True, True), (ANA, False, False), (VIEWER, False, False),
                                              (MGR, False, True), (ADMIN, False, True)])
def test_who_may_add_a_contact(site, who, own, allowed):
    i = ids(site)
    account = ("customer", i["mcd"] if own else i["pho"])
    url = f"/accounts/customer/{account[1]}"
    page = client(site, who).get(url).text
    assert ("Add the contact" in page) == allowed
    before = rows_of(site)
    if allowed:
        r = add_contact(site, who, account)
        assert r.status_code == 303 and r.headers["Location"].startswith(url + "?change=")
        assert f"Contact {CONTACT['name']} was added" in client(site, who).get(r.headers["Location"]).text
        assert query(site, "SELECT account_id, name, title, role, email, phone, notes, is_primary, created_by"
                           " FROM account_contacts") == [(account[1], *[CONTACT[f] for f in ("name", "title", "role",
                                                          "email", "phone", "notes")], 1, who)]
        return
    c = client(site, who)
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/accounts/").text).group(1)
    r = c.post(url, headers=ORIGIN, data={"csrf_token": token, "action": "add_contact", **CONTACT})
    assert r.status_code == 403
    assert "you may not edit the contacts, activities and follow-ups of Phở Hòa" in sentence(r)
    assert rows_of(site) == before


@pytest.mark.parametrize("who, own, allowed", [(ANA, False, True), (BOB, True, True), (VIEWER, False, False),
                                              (MGR, False, True)])
def test_any_ae_logs_a_call_on_any_account_and_a_viewer_on_none(site, who, own, allowed):
    i = ids(site)
    url = f"/accounts/customer/{i['pho']}"
    c = client(site, who)
    page = c.get(url).text
    if not allowed:
        assert "Log it" not in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/accounts/").text).group(1)
        r = c.post(url, headers=ORIGIN, data={"csrf_token": token, "action": "activity", "kind": "call",
                                              "happened_on": "2026-11-19", "text": "hello"})
        assert r.status_code == 403 and "may not log activities on Phở Hòa" in sentence(r)
        assert query(site, "SELECT * FROM account_activities") == []
        return
    r = account_form(page, url, "Log it").submit(c, "Log it", kind="call", happened_on="2026-11-19",
                                                text="Talked about the spring flight.\nCall back Monday.")
    assert r.status_code == 303
    assert query(site, "SELECT account_id, kind, happened_on, who, text FROM account_activities") == [
        (i["pho"], "call", "2026-11-19", who, "Talked about the spring flight.\nCall back Monday.")]
    assert "Talked about the spring flight." in c.get(url).text


def test_an_ae_sets_follow_ups_for_themselves_on_their_own_account_and_marks_them_done(site):
    i = ids(site)
    url = f"/accounts/customer/{i['mcd']}"
    c = client(site, ANA)
    page = c.get(url).text
    # her form has no owner to choose; a sent one is ignored: an ae's follow-up is her own AE's
    r = account_form(page, url, "Set the follow-up").submit(c, "Set the follow-up", due_on="2026-11-18",
                                                            text="Send the renewal", owner=BRANDON)
    assert r.status_code == 303
    ((follow_up_id, owner, due, done),) = query(site, "SELECT id, owner, due_on, done_at FROM account_follow_ups")
    assert (owner, due, done) == (ALICE, "2026-11-18", None)
    listed = c.get("/accounts/follow-ups").text
    assert "Send the renewal" in listed and "(overdue)" in listed
    assert "Send the renewal" in c.get("/me?ae=ALICE+NGUYEN").text
    manager = client(site).get("/manager").text
    assert re.search(r'<a href="/accounts/follow-ups\?owner=ALICE\+NGUYEN">ALICE NGUYEN</a></th>\s*<td class="num">1</td>', manager)
    assert "Send the renewal" not in client(site, BOB).get("/accounts/follow-ups").text
    r = account_form(listed, url, "Done", follow_up_id=follow_up_id).submit(c, "Done")
    assert r.status_code == 303 and r.headers["Location"].startswith("/accounts/follow-ups?change=")
    assert query(site, "SELECT done_by FROM account_follow_ups") == [(ANA,)]
    assert "Send the renewal" not in c.get("/accounts/follow-ups").text


def test_a_manager_sets_a_follow_up_for_an_ae_and_a_bad_date_is_one_sentence(site):
    i = ids(site)
    url = f"/accounts/customer/{i['pho']}"
    c = client(site)
    page = c.get(url).text
    bad = account_form(page, url, "Set the follow-up").submit(c, "Set the follow-up", due_on="next week", text="x",
                                                              owner=BRANDON)
    assert bad.status_code == 400 and sentence(bad) == "Due date: “next week” is not a date like 2026-11-24."
    assert query(site, "SELECT * FROM account_follow_ups") == []
    ok = account_form(page, url, "Set the follow-up").submit(c, "Set the follow-up", due_on="2026-12-01",
                                                             text="Proposal", owner=BRANDON)
    assert ok.status_code == 303 and query(site, "SELECT owner, due_on FROM account_follow_ups") == [(BRANDON, "2026-12-01")]
    assert "Proposal" in client(site, BOB).get("/accounts/follow-ups").text
    assert "Proposal" in client(site).get(f"/accounts/follow-ups?owner={BRANDON}").text
    assert "Proposal" not in client(site).get("/accounts/follow-ups?owner=me").text



def test_an_ae_marks_their_own_follow_up_done_on_an_account_not_theirs_and_not_anothers(site):
    i = ids(site)
    url = f"/accounts/customer/{i['mcd']}"   # Alice's account
    m = client(site)
    for owner, said in ((BRANDON, "Ask about Tết"), (ALICE, "Send the rate card")):
        assert account_form(m.get(url).text, url, "Set the follow-up").submit(
            m, "Set the follow-up", due_on="2026-11-19", text=said, owner=owner).status_code == 303
    (bobs, alices) = [r[0] for r in query(site, "SELECT id FROM account_follow_ups ORDER BY id")]
    bob = client(site, BOB)
    listed = bob.get("/accounts/follow-ups").text
    assert "Ask about Tết" in listed and "(overdue)" in listed and "Send the rate card" not in listed
    page = bob.get(url).text     # his own follow-up's Done is on the account page too, Alice's is not
    assert len([f for f in forms(page, url) if f.fields.get("follow_up_id") == str(bobs)]) == 1
    assert not [f for f in forms(page, url) if f.fields.get("follow_up_id") == str(alices)]
    done = account_form(listed, url, "Done", follow_up_id=bobs)
    # his right is on his own follow-up only: Alice's on the same account is refused, and stays open
    refused = done.submit(bob, "Done", follow_up_id=alices)
    assert refused.status_code == 403 and "not assigned to you" in sentence(refused)
    assert done.submit(bob, "Done").status_code == 303
    assert query(site, "SELECT id, done_by FROM account_follow_ups ORDER BY id") == [(bobs, BOB), (alices, None)]


@pytest.mark.parametrize("who", [ANA, VIEWER, MGR, ADMIN])
def test_billing_terms_assignment_and_deactivation_are_for_managers(site, who):
    i = ids(site)
    url = f"/accounts/customer/{i['mcd']}"
    c = client(site, who)
    page = c.get(url).text
    manager = who in (MGR, ADMIN)
    assert ("Save the terms" in page) == manager and ("Deactivate the account" in page) == manager
    if not manager:
        before = rows_of(site)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1) if "csrf_token" in page else ""
        token = token or re.search(r'name="csrf_token" value="([^"]+)"', c.get("/accounts/").text).group(1)
        for action in ("terms", "assign", "deactivate"):
            r = c.post(url, headers=ORIGIN, data={"csrf_token": token, "action": action, "version": 1,
                                                  "ae": BRANDON, "effective_from": "2026-11-20", "commission_pct": "5"})
            assert r.status_code == 403 and "may not assign, set billing terms of, import or merge" in sentence(r)
        assert rows_of(site) == before
        return
    bad = account_form(page, url, "Save the terms").submit(c, "Save the terms", commission_pct="150")
    assert bad.status_code == 400 and sentence(bad) == "Commission %: 150 is outside 0–100."
    assert query(site, "SELECT * FROM accounts WHERE commission_pct IS NOT NULL") == []
    r = account_form(page, url, "Save the terms").submit(c, "Save the terms", commission_pct="12.5", po_required="yes",
                                                         edi_code="EDI-7", invoice_notes="Net 45")
    assert r.status_code == 303
    assert query(site, "SELECT po_required, edi_code, commission_pct, invoice_notes FROM accounts"
                       " WHERE account_type = 'customer' AND account_id = ?", i["mcd"]) == [(1, "EDI-7", 12.5, "Net 45")]
    page = c.get(url).text
    stale = account_form(c.get(url).text, url, "Save the terms")
    r = account_form(page, url, "Assign").submit(c, "Assign", ae=BRANDON, effective_from="2026-11-20")
    assert r.status_code == 303
    assert "BRANDON WU" in c.get(url).text.split('id="ae"')[1]
    late = stale.submit(c, "Save the terms", edi_code="EDI-8")
    assert late.status_code == 409 and "changed after the page was opened" in sentence(late)
    assert query(site, "SELECT edi_code FROM accounts WHERE account_id = ? AND account_type = 'customer'", i["mcd"]) == [("EDI-7",)]
    page = c.get(url).text
    assert account_form(page, url, "Deactivate the account").submit(c, "Deactivate the account").status_code == 303
    assert i["mcd"] not in [a["id"] for a in c.get("/accounts/?type=customer&format=json").json["accounts"]]
    assert i["mcd"] in [a["id"] for a in c.get("/accounts/?type=customer&inactive=1&format=json").json["accounts"]]
    page = c.get(url).text
    assert "was deactivated by" in page
    assert account_form(page, url, "Reactivate the account").submit(c, "Reactivate the account").status_code == 303
    assert query(site, "SELECT active FROM accounts WHERE account_type = 'customer' AND account_id = ?", i["mcd"]) == [(1,)]


def test_contacts_and_addresses_edited_and_removed_through_the_forms(site):
    i = ids(site)
    url = f"/accounts/customer/{i['mcd']}"
    c = client(site, ANA)
    assert add_contact(site, ANA, ("customer", i["mcd"])).status_code == 303
    ((contact_id,),) = query(site, "SELECT id FROM account_contacts")
    page = c.get(url).text
    edit = account_form(page, url, "Save", contact_id=contact_id)
    assert edit.fields["notes"] == CONTACT["notes"] and edit.fields["drawn_email"] == CONTACT["email"]
    assert edit.submit(c, "Save", phone="+84 28 3822 0000").status_code == 303
    assert query(site, "SELECT phone, email FROM account_contacts") == [("+84 28 3822 0000", CONTACT["email"])]
    bad = account_form(c.get(url).text, url, "Save", contact_id=contact_id).submit(c, "Save", email="lan at pho",
                                                                                 title="Owner")
    assert bad.status_code == 400 and sentence(bad) == "Email: “lan at pho” is not an email address like ana@example.com."
    assert query(site, "SELECT title FROM account_contacts") == [("Buyer",)]
    page = c.get(url).text
    r = account_form(page, url, "Add the address").submit(c, "Add the address", kind="billing", line1="12 Bolsa Ave",
                                                          city="Westminster", region="CA", postal_code="92683")
    assert r.status_code == 303
    ((address_id,),) = query(site, "SELECT id FROM account_addresses")
    page = c.get(url).text
    assert "12 Bolsa Ave, Westminster, CA, 92683" in page
    edit = account_form(page, url, "Save", address_id=address_id)
    assert (edit.fields["line1"], edit.fields["city"], edit.fields["kind"]) == ("12 Bolsa Ave", "Westminster", "billing")
    assert edit.submit(c, "Save", line2="Suite 200", postal_code="92684").status_code == 303
    assert query(site, "SELECT line1, line2, postal_code, version FROM account_addresses") == [
        ("12 Bolsa Ave", "Suite 200", "92684", 2)]
    stale = edit.submit(c, "Save", city="Garden Grove")   # the form drawn before the save above
    assert stale.status_code == 409, stale.text
    assert sentence(stale).startswith(f"Address {address_id} changed after the page was opened: Address {address_id}:"
                                      f" address line 2, postal code changed by {ANA} at ")
    assert query(site, "SELECT city FROM account_addresses") == [("Westminster",)]
    page = c.get(url).text
    assert "12 Bolsa Ave, Suite 200, Westminster, CA, 92684" in page
    assert account_form(page, url, "Remove", address_id=address_id).submit(c, "Remove").status_code == 303
    assert account_form(page, url, "Remove", contact_id=contact_id).submit(c, "Remove").status_code == 303
    assert query(site, "SELECT removed_by FROM account_contacts") == [(ANA,)]
    assert query(site, "SELECT removed_by FROM account_addresses") == [(ANA,)]
    assert "12 Bolsa Ave" not in c.get(url).text and CONTACT["name"] not in c.get(url).text.split('id="contacts"')[1].split('id="activities"')[0]


def test_a_contact_of_another_account_cannot_be_edited_through_ones_own(site):
    i = ids(site)
    assert add_contact(site, MGR, ("customer", i["pho"])).status_code == 303
    ((contact_id,),) = query(site, "SELECT id FROM account_contacts")
    c = client(site, ANA)
    own = f"/accounts/customer/{i['mcd']}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get(own).text).group(1)
    before = rows_of(site)
    r = c.post(own, headers=ORIGIN, data={"csrf_token": token, "action": "edit_contact", "contact_id": contact_id,
                                          **CONTACT, "email": "ana@evil.example"})
    assert r.status_code == 404 and f"no contact {contact_id} on McDonalds" in sentence(r)
    assert rows_of(site) == before


def test_two_forms_editing_one_contact_the_later_is_refused_for_the_field_the_other_changed(site):
    i = ids(site)
    assert add_contact(site, MGR, ("customer", i["mcd"])).status_code == 303
    ((contact_id,),) = query(site, "SELECT id FROM account_contacts")
    url = f"/accounts/customer/{i['mcd']}"
    first, second = client(site, MGR), client(site, ANA)
    form_1 = account_form(first.get(url).text, url, "Save", contact_id=contact_id)
    form_2 = account_form(second.get(url).text, url, "Save", contact_id=contact_id)
    assert form_1.submit(first, "Save", email="lan@phohoa.com").status_code == 303
    late = form_2.submit(second, "Save", email="lan.nguyen@phohoa.vn", phone="408-555-0199")
    assert late.status_code == 409
    said = sentence(late)
    assert said.startswith("Saved phone; not saved: Email of contact Nguyễn Thị Lan was changed to “lan@phohoa.com” by "
                           f"{MGR} at ") and said.endswith("; reload.")
    assert query(site, "SELECT email, phone FROM account_contacts") == [("lan@phohoa.com", "408-555-0199")]


def test_a_merged_away_account_opens_its_survivors_page_and_the_list_follows_the_merge(site):
    from ctvdb import customers
    i, sums = ids(site), expected()
    c = client(site)
    assert {a["id"]: a["trailing"] for a in c.get("/accounts/?type=customer&format=json").json["accounts"]}[i["mcd"]] \
        == sums["McDonalds"]["trailing"]          # the list's revenue is cached now, and must not outlive the merge
    conn = db.connect(site[1])
    customers.merge(conn, MGR, i["mcd"], [i["wells"]])
    conn.close()
    r = client(site, ANA).get(f"/accounts/customer/{i['wells']}")
    assert r.status_code == 302 and r.headers["Location"] == f"/accounts/customer/{i['mcd']}"
    listed = {a["id"]: a["trailing"] for a in c.get("/accounts/?type=customer&format=json").json["accounts"]}
    assert i["wells"] not in listed
    assert listed[i["mcd"]] == round(sums["McDonalds"]["trailing"] + sums["Wells Fargo"]["trailing"], 2)
    assert client(site).get("/accounts/customer/999999").status_code == 404


# Hostile text ----------------------------------------------------------------------------------

def test_xss_and_sql_payloads_in_every_text_field_come_back_escaped_and_neutralised(site):
    i = ids(site)
    url = f"/accounts/customer/{i['mcd']}"
    c = client(site)
    page = c.get(url).text
    assert add_contact(site, MGR, ("customer", i["mcd"]), name=FORMULA, title=PAYLOAD, notes=PAYLOAD,
                       email="x@example.com", phone="206 555 0100").status_code == 303
    steps = [("Log it", {"kind": "note", "happened_on": "2026-11-19", "text": PAYLOAD}),
             ("Set the follow-up", {"due_on": "2026-11-30", "text": PAYLOAD, "owner": ALICE}),
             ("Add the address", {"kind": "mailing", "line1": PAYLOAD, "line2": FORMULA, "city": PAYLOAD}),
             ("Save the terms", {"edi_code": "=1+2", "invoice_notes": PAYLOAD})]
    for button, values in steps:
        page = c.get(url).text
        assert account_form(page, url, button).submit(c, button, **values).status_code == 303, button
    saved = form(c.get("/accounts/").text, "/accounts/filters", "Save the filter").submit(
        c, "Save the filter", name=PAYLOAD, query=f"q={PAYLOAD}")
    assert saved.status_code == 303
    assert query(site, "SELECT count(*) FROM account_contacts") == [(1,)]      # no table was dropped
    for path in (url, "/accounts/", "/accounts/follow-ups", saved.headers["Location"]):
        text = c.get(path).text
        assert "<script>" not in text, path
    assert c.get(url).text.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 5
    contacts = c.get("/accounts/?format=csv&table=contacts").data.decode("utf-8-sig")
    (row,) = [r for r in csv.DictReader(io.StringIO(contacts))]
    assert row["name"] == "'" + FORMULA and row["title"] == PAYLOAD
    accounts_csv = {r["id"]: r for r in csv.DictReader(io.StringIO(c.get("/accounts/?format=csv").data.decode("utf-8-sig")))}
    assert accounts_csv[str(i["mcd"])]["edi_code"] == "'=1+2"
    book = openpyxl.load_workbook(io.BytesIO(c.get("/accounts/?format=xlsx").data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value in (FORMULA, "=1+2")]
    assert len(cells) == 2 and all(cell.data_type == "s" for cell in cells)


# The import ------------------------------------------------------------------------------------

def contacts_csv(site, lines: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["account_type", "account_id", "account", "name", "title", "role", "email", "phone", "notes",
                     "primary"])
    writer.writerows(lines)
    return out.getvalue().encode("utf-8-sig")


def upload(site, who, data: bytes):
    c = client(site, who)
    page = c.get("/accounts/import").text
    token = form(page, "/accounts/import").fields["csrf_token"]
    return c, c.post("/accounts/import", headers=ORIGIN, content_type="multipart/form-data",
                     data={"csrf_token": token, "file": (io.BytesIO(data), "contacts.csv")})


def test_a_refused_import_says_why_line_by_line_and_changes_nothing(site):
    i = ids(site)
    data = contacts_csv(site, [["customer", str(i["mcd"]), "McDonalds", "Ana Lee", "", "billing", "ana@mcd.com", "", "", "no"],
                               ["customer", str(i["pho"]), "Phở Hòa", "Lan", "", "other", "not-an-email", "", "", "no"],
                               ["customer", "999999", "", "Nobody", "", "other", "", "", "", "no"]])
    before = rows_of(site)
    c, r = upload(site, MGR, data)
    assert r.status_code == 200
    text = html.unescape(r.text)
    assert f"Line 2: contact Ana Lee of McDonalds (#{i['mcd']}) would be created." in text
    assert "Line 3, email: “not-an-email” is not an email address like ana@example.com." in text
    assert "Line 4, account id: there is no customer 999999." in text
    assert "nothing can be imported from this file" in text and "/accounts/import/confirm" not in r.text
    assert rows_of(site) == before
    bad = upload(site, MGR, b"type,id,colour\r\ncustomer,1,red\r\n")[1]
    assert bad.status_code == 400 and sentence(bad).startswith("Line 1: the columns are not those of an accounts export")
    assert rows_of(site) == before


def test_an_import_runs_after_its_dry_run_and_only_the_file_of_that_dry_run(site):
    i = ids(site)
    data = contacts_csv(site, [["customer", str(i["mcd"]), "McDonalds", "Ana Lee", "Buyer", "billing", "ana@mcd.com",
                                "206-555-0101", "", "yes"],
                               ["customer", str(i["pho"]), "Phở Hòa", "Nguyễn Thị Lan", "", "other", "lan@pho.vn", "",
                                "", "no"]])
    c, r = upload(site, MGR, data)
    confirm = form(r.text, "/accounts/import/confirm")
    tampered = confirm.submit(c, "Import it", data=confirm.fields["data"][:-4] + "AAAA")
    assert tampered.status_code == 400 and "not the file of your dry run" in sentence(tampered)
    other = client(site, ADMIN)
    stolen = other.post("/accounts/import/confirm", headers=ORIGIN, data={
        **confirm.fields, "csrf_token": form(other.get("/accounts/import").text, "/accounts/import").fields["csrf_token"]})
    assert stolen.status_code == 400
    assert query(site, "SELECT * FROM account_contacts") == []
    done = confirm.submit(c, "Import it")
    assert done.status_code == 303
    assert query(site, "SELECT account_id, name, email, is_primary, created_by FROM account_contacts ORDER BY id") == [
        (i["mcd"], "Ana Lee", "ana@mcd.com", 1, MGR), (i["pho"], "Nguyễn Thị Lan", "lan@pho.vn", 0, MGR)]
    assert "and 1 more" in c.get(done.headers["Location"]).text
    again = confirm.submit(c, "Import it")       # the same dry run a second time: it would not create them again
    assert again.status_code == 409 and "changed since the dry run" in sentence(again)
    assert len(query(site, "SELECT * FROM account_contacts")) == 2


# Duplicates ------------------------------------------------------------------------------------

def test_duplicates_are_offered_and_merged_through_the_workbench_with_undo(site):
    i = ids(site)
    for account in (i["mcd"], i["wells"]):
        assert add_contact(site, MGR, ("customer", account), name=f"Buyer {account}",
                           email=f"buyer{account}@shared-media.example.com").status_code == 303
    assert client(site, ANA).get("/accounts/duplicates").status_code == 403
    c = client(site)
    page = c.get("/accounts/duplicates").text
    assert "contacts with email at shared-media.example.com" in page
    merge = [f for f in forms(page, "/accounts/duplicates") if f.fields["survivor"] == str(i["mcd"])
             and f.fields["other"] == str(i["wells"])]
    assert len(merge) == 1
    r = merge[0].submit(c, "Keep McDonalds (#" + str(i["mcd"]) + ")")
    assert r.status_code == 303
    change_id = int(r.headers["Location"].rpartition("=")[2])
    assert query(site, "SELECT merged_into FROM customers WHERE id = ?", i["wells"]) == [(i["mcd"],)]
    survivor = c.get(f"/accounts/customer/{i['mcd']}").text
    assert f"Buyer {i['wells']}" in survivor and f"Buyer {i['mcd']}" in survivor
    changes_page = c.get("/customers/changes").text
    assert "/customers/changes/%d/undo" % change_id in changes_page
    undo = form(changes_page, f"/customers/changes/{change_id}/undo").submit(c)
    assert undo.status_code == 303
    assert query(site, "SELECT merged_into FROM customers WHERE id = ?", i["wells"]) == [(None,)]
    assert f"Buyer {i['wells']}" not in c.get(f"/accounts/customer/{i['mcd']}").text
    stale = merge[0].submit(c, "Keep McDonalds (#" + str(i["mcd"]) + ")")    # versions of before the merge and its undo
    assert stale.status_code == 409


# Roles and methods -----------------------------------------------------------------------------

@pytest.mark.parametrize("who", [VIEWER, ANA, MGR, ADMIN])
def test_every_role_reads_the_list_an_account_and_the_follow_ups(site, who):
    i = ids(site)
    c = client(site, who)
    for path in ("/accounts/", f"/accounts/customer/{i['pho']}", f"/accounts/agency/{i['admerasia']}",
                 "/accounts/follow-ups"):
        assert c.get(path).status_code == 200, path
    manager = who in (MGR, ADMIN)
    assert c.get("/accounts/import").status_code == (200 if manager else 403)
    assert ("Add the contact" in c.get(f"/accounts/customer/{i['mcd']}").text) == (who != VIEWER)


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(site):
    i = ids(site)
    c = client(site)
    url = f"/accounts/customer/{i['mcd']}"
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get(url).text).group(1)
    data = {"action": "add_contact", **CONTACT}
    assert c.post(url, headers=ORIGIN, data=data).status_code == 403
    assert c.post(url, headers={"Origin": "http://evil.example"}, data={**data, "csrf_token": token}).status_code == 403
    assert c.get(url, query_string={"action": "add_contact", **CONTACT}).status_code == 200
    assert query(site, "SELECT * FROM account_contacts") == []
    assert urlsplit(c.post(url, headers=ORIGIN, data={**data, "csrf_token": token}).headers["Location"]).path == url
