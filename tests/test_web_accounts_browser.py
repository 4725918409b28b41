"""The accounts pages in a real browser (headless Chromium over DevTools, tests/browser.py, one
browser and one uvicorn server for the module): an ae adds a contact to their own account, logs a
call with that contact, sets a follow-up, and sees it on the follow-ups list; each step typed
into the page's forms and sent by pressing its button, as a person does."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest

from account_book import build, cid
from browser import CHROMIUM, Tab, chromium, free_port, start_uvicorn, wait_for_port
from ctvdb import accounts, db
from ctvdb.accounts import Ref
from ctvdb.auth_web import SESSION_COOKIE

AE = "ALICE NGUYEN"


@pytest.fixture(scope="module")
def site(session_token, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    path = build(tmp_path_factory.mktemp("accounts-browser") / "site")
    conn = db.connect(path)
    mcd = cid(conn, "McDonalds")
    accounts.assign(conn, "setup@example.com", [Ref("customer", mcd)], AE, "2026-01-01")
    conn.close()
    cookie = session_token(path, role="ae", ae="Alice Nguyen")
    port = free_port()
    process = start_uvicorn(path, port)
    try:
        wait_for_port(port, process)
        with chromium(tmp_path_factory.mktemp("profile")) as tools:
            tab = Tab(tools, port, (SESSION_COOKIE, cookie))
            yield tab, path, mcd
            tab.close()
    finally:
        process.terminate()
        process.wait(10)


def fill_and_press(tab: Tab, button: str, values: dict) -> None:
    """Type `values` into the fields of the form whose button reads `button`, press it, and wait
    for the page the server answers with (its redirect followed)."""
    script = f"""(() => {{
        const button = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === {json.dumps(button)});
        const form = button.form;
        for (const [name, value] of Object.entries({json.dumps(values)})) {{
            const field = form.elements[name];
            field.value = value;
            field.dispatchEvent(new Event('input', {{bubbles: true}}));
        }}
        button.click();
        return true;
    }})()"""
    tab.tools.events.clear()
    assert tab.js(script) is True
    tab.tools.wait_for("Page.loadEventFired")


def rows(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_an_ae_adds_a_contact_logs_a_call_sets_a_follow_up_and_sees_it_listed(site):
    tab, path, mcd = site
    tab.size(1440, 900)
    tab.open(f"/accounts/customer/{mcd}")
    assert tab.js("document.querySelector('h1').textContent").startswith("McDonalds")
    fill_and_press(tab, "Add the contact", {"name": "Nguyễn Thị Lan", "title": "Media buyer", "role": "decision_maker",
                                            "email": "lan@mcd.example.com", "phone": "+1 714 555 0101"})
    assert tab.js("location.pathname") == f"/accounts/customer/{mcd}"
    assert "Contact Nguyễn Thị Lan was added" in tab.js("document.querySelector('.message').textContent")
    ((contact_id,),) = rows(path, "SELECT id FROM account_contacts WHERE name = 'Nguyễn Thị Lan'")

    fill_and_press(tab, "Log it", {"kind": "call", "happened_on": dt.date.today().isoformat(),
                                   "contact_id": str(contact_id), "text": "Called Lan about the spring flight."})
    assert rows(path, "SELECT kind, contact_id, text FROM account_activities") == [
        ("call", contact_id, "Called Lan about the spring flight.")]
    activities = tab.js("document.querySelector('#activities').nextElementSibling.nextElementSibling.textContent")
    assert "Called Lan about the spring flight." in activities and "Nguyễn Thị Lan" in activities

    due = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    fill_and_press(tab, "Set the follow-up", {"due_on": due, "text": "Send Lan the renewal proposal"})
    assert rows(path, "SELECT owner, due_on, text FROM account_follow_ups") == [
        (AE, due, "Send Lan the renewal proposal")]

    tab.open("/accounts/follow-ups")
    listed = tab.js("[...document.querySelectorAll('table.report tbody tr')].map(r => r.innerText)")
    assert len(listed) == 1 and due in listed[0] and "Send Lan the renewal proposal" in listed[0]
    assert tab.js("document.querySelector('table.report tbody a').getAttribute('href')") == f"/accounts/customer/{mcd}"


@pytest.mark.parametrize("path", ["/accounts/", "/accounts/duplicates", "/accounts/follow-ups", "/me"])
def test_the_accounts_pages_fit_a_printed_sheet_and_a_phone(site, path):
    tab = site[0]
    try:
        for width, mobile, media in ((1000, False, "print"), (390, True, "screen")):
            tab.size(width, 900, mobile=mobile)
            tab.tools.send("Emulation.setEmulatedMedia", tab.session, media=media)
            tab.open(path)
            assert tab.js("document.querySelector('h1').textContent")
            assert tab.js("document.documentElement.scrollWidth") <= width, (path, width, media)
    finally:
        tab.tools.send("Emulation.setEmulatedMedia", tab.session, media="screen")


def test_the_manager_s_scoreboard_fits_a_printed_sheet_and_a_phone(site, session_token):
    tab, path, _ = site

    def sign_in(token: str) -> None:
        tab.tools.send("Network.setCookie", tab.session, name=SESSION_COOKIE, value=token, domain="127.0.0.1", path="/")

    sign_in(session_token(path, role="management"))
    try:
        for width, mobile, media in ((1000, False, "print"), (390, True, "screen")):
            tab.size(width, 900, mobile=mobile)
            tab.tools.send("Emulation.setEmulatedMedia", tab.session, media=media)
            tab.open("/manager")
            assert tab.js("document.querySelector('h1').textContent").startswith("Manager")
            assert tab.js("document.documentElement.scrollWidth") <= width, (width, media)
            if media == "print":    # its eleven columns' headings wrap (the demo's figures ran 190 px past the sheet)
                assert tab.js("getComputedStyle(document.querySelector('table.report thead th:not(.first)')).whiteSpace") == "normal"
    finally:
        tab.tools.send("Emulation.setEmulatedMedia", tab.session, media="screen")
        sign_in(session_token(path, role="ae", ae="Alice Nguyen"))
