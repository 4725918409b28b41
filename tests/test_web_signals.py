"""/reports/signals through the WSGI app (issue 13): the signals and revenue at risk a page shows,
snooze and dismiss through the forms with a real session and CSRF token, when each comes back,
that an import keeps them, every bad input with its sentence and nothing changed, a stale form,
and who may see and decide what. The histories are tiny workbooks imported with `today` set;
expected figures are sums of the rows written here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import re
from datetime import timedelta

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, db, importer
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app
from xlsx_rows import Row, write

TODAY = dt.date(2026, 11, 18)            # Nov-26: the prior 12 months are Nov-24..Oct-25
ORIGIN = {"Origin": "http://localhost"}
PRIOR = [dt.date(2024, 11, 1), dt.date(2024, 12, 1)] + [dt.date(2025, m, 1) for m in range(1, 11)]
# customer -> (AE, gross of each prior month): both churn (nothing since), each is its AE's.
CHURNED = {"Jade Palace": ("Alice Nguyen", 1_000.0), "Acme Foods": ("Brandon Wu", 2_500.0)}


def rows(extra=()) -> list[Row]:
    out = [Row(bill_code=name, month=month, air_date=month + timedelta(days=11), gross=gross, net=gross * 0.85,
               sales_person=ae, line=i + 1)
           for i, (month, (name, (ae, gross))) in enumerate((m, c) for c in CHURNED.items() for m in PRIOR)]
    return out + list(extra)


class Site:
    """The app over a database imported from `rows()`, its clock movable."""

    def __init__(self, tmp_path):
        self.path, self.folder = tmp_path / "ctvdb.db", tmp_path
        db.init(self.path)
        self.now = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.timezone.utc)   # noon Pacific on TODAY
        self.imports = 0
        self.load(rows(), TODAY)
        conn = db.connect_auth(self.path)
        for role in ("admin", "management", "viewer"):
            auth.add_user(conn, f"{role}@example.com", "not used in tests 1", role)
        auth.add_user(conn, "alice@example.com", "not used in tests 1", "ae", ae="Alice Nguyen")
        conn.close()
        self.app = create_app(Config(database_path=self.path), now=lambda: self.now)

    def load(self, workbook_rows, today):
        self.imports += 1
        workbook = write(self.folder / f"log{self.imports}.xlsx", {"Commercials": workbook_rows})
        importer.import_workbook(self.path, workbook, mode="manual", auto_setup=True, today=today)
        cache.REPORTS.clear() if hasattr(cache.REPORTS, "clear") else None

    def client(self, email="management@example.com") -> Client:
        conn = db.connect_auth(self.path)
        token = auth.start_session(conn, auth.get_user(conn, email), timedelta(hours=1))
        conn.close()
        c = Client(self.app)
        c.set_cookie(auth_web.SESSION_COOKIE, token)
        return c

    def customer(self, name: str) -> int:
        conn = db.connect(self.path)
        try:
            return conn.execute("SELECT id FROM customers WHERE name = ?", (name,)).fetchone()[0]
        finally:
            conn.close()

    def people_state(self) -> str:
        """What people decided (signal states and the change log): unchanged by a refusal."""
        conn = db.connect(self.path)
        try:
            h = hashlib.sha256()
            for table in ("signal_states", "changes", "change_objects"):
                for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2"):
                    h.update(repr(tuple(row)).encode())
            return h.hexdigest()
        finally:
            conn.close()


@pytest.fixture
def site(tmp_path, cheap_scrypt):
    return Site(tmp_path)


def table_rows(page: str, table: str) -> list[str]:
    """The text of each body row of one of the page's tables."""
    section = re.search(rf'<section class="table" id="{table}">(.*?)</section>', page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", r)) for r in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)] \
        if body else []


def names_in(page: str, table: str) -> set[str]:
    return {name for name in CHURNED if any(name in row for row in table_rows(page, table))}


def form(page: str, object_id: int, signal: str) -> dict:
    """The hidden fields of the row's forms, as the page drew them."""
    m = re.search(rf'name="csrf_token" value="([^"]+)"><input type="hidden" name="object_type" value="(\w+)">'
                  rf'<input type="hidden" name="object_id" value="{object_id}"><input type="hidden" name="signal"'
                  rf' value="{signal}"><input type="hidden" name="version" value="(\d+)"><input type="hidden"'
                  rf' name="run" value="(\d+)">', page)
    assert m, f"no form for {object_id} {signal}"
    return {"csrf_token": m.group(1), "object_type": m.group(2), "object_id": object_id, "signal": signal,
            "version": m.group(3), "run": m.group(4)}


def decide(c, page: str, object_id: int, signal: str, **fields):
    return c.post("/reports/signals", data=form(page, object_id, signal) | fields, headers=ORIGIN)


def test_the_page_shows_each_signal_with_its_figures_and_the_revenue_at_risk(site):
    page = site.client().get("/reports/signals").text
    churned = table_rows(page, "churned")
    for name, (ae, gross) in CHURNED.items():
        row = next(r for r in churned if name in r)
        assert f"{12 * gross:,.2f}" in row and ae.upper() in row
    at_risk = {r.split()[0] + " " + r.split()[1]: r for r in table_rows(page, "at_risk")}
    assert f"{12 * 2_500.0:,.2f}" in at_risk["BRANDON WU"] and f"{12 * 1_000.0:,.2f}" in at_risk["ALICE NGUYEN"]
    assert 'href="/reports/customer/' in page
    data = site.client().get("/reports/signals?format=json").json
    prior = {r["customer"]: r["prior"] for r in data["tables"]["churned"]["rows"]}
    assert prior == {name: 12 * gross for name, (_, gross) in CHURNED.items()}


def test_a_snoozed_signal_is_hidden_until_its_day_and_back_on_it(site):
    c, jade = site.client(), site.customer("Jade Palace")
    page = c.get("/reports/signals").text
    until = TODAY + timedelta(days=7)
    r = decide(c, page, jade, "churned", action="snooze", until=until.isoformat())
    assert r.status_code == 303
    after = c.get(r.headers["Location"]).text
    assert f"Churned for Jade Palace was snoozed until {until}." in after
    assert names_in(after, "churned") == {"Acme Foods"}
    everything = c.get("/reports/signals?show=all").text
    assert any("Jade Palace" in row and f"Snoozed until {until}" in row for row in table_rows(everything, "churned"))
    # still at risk while snoozed: nobody has looked at it yet
    assert f"{12 * 1_000.0:,.2f}" in " ".join(table_rows(after, "at_risk"))
    site.now += timedelta(days=6)
    assert names_in(c.get("/reports/signals").text, "churned") == {"Acme Foods"}
    site.now += timedelta(days=1)
    assert names_in(c.get("/reports/signals").text, "churned") == set(CHURNED)


def test_a_dismissed_signal_stays_hidden_through_imports_and_returns_only_when_its_category_changes(site):
    c, jade = site.client(), site.customer("Jade Palace")
    r = decide(c, c.get("/reports/signals").text, jade, "churned", action="dismiss", reason="Moved to digital")
    assert r.status_code == 303
    assert names_in(c.get("/reports/signals").text, "churned") == {"Acme Foods"}
    # revenue at risk leaves a dismissed customer out
    assert not any("ALICE NGUYEN" in row for row in table_rows(c.get("/reports/signals").text, "at_risk"))
    site.load(rows(), TODAY + timedelta(days=1))           # the next day's import: still churned, still dismissed
    assert names_in(c.get("/reports/signals").text, "churned") == {"Acme Foods"}
    # Jade books a little in the last 12 months: declining, a different signal, shown
    small = Row(bill_code="Jade Palace", month=dt.date(2026, 3, 1), air_date=dt.date(2026, 3, 10), gross=500.0,
                sales_person="Alice Nguyen", line=900)
    site.load(rows([small]), TODAY + timedelta(days=2))
    page = c.get("/reports/signals").text
    assert names_in(page, "churned") == {"Acme Foods"} and names_in(page, "declining") == {"Jade Palace"}
    # the booking is taken back: churned again, a new run of it, so shown again
    site.load(rows([small.with_(gross=0.0, net=0.0)]), TODAY + timedelta(days=3))
    assert names_in(c.get("/reports/signals").text, "churned") == set(CHURNED)


def test_show_again_brings_back_a_dismissed_signal(site):
    c, acme = site.client(), site.customer("Acme Foods")
    decide(c, c.get("/reports/signals").text, acme, "churned", action="dismiss", reason="Lost to a rival")
    everything = c.get("/reports/signals?show=all").text
    assert any("Dismissed by management@example.com: Lost to a rival" in row for row in table_rows(everything, "churned"))
    r = decide(c, everything, acme, "churned", action="reopen", back_show="all")
    assert r.status_code == 303 and "show=all" in r.headers["Location"]
    assert names_in(c.get("/reports/signals").text, "churned") == set(CHURNED)


@pytest.mark.parametrize("fields, sentence", [
    ({"action": "snooze", "until": "2026-11-17"}, "The snooze date 2026-11-17 is not after today (2026-11-18)"),
    ({"action": "snooze", "until": "2026-11-18"}, "is not after today"),
    ({"action": "snooze", "until": "next week"}, "The snooze date “next week” is not a date like"),
    ({"action": "snooze", "until": "2026-02-30"}, "The snooze date “2026-02-30” is not a date like"),
    ({"action": "snooze", "until": "2028-01-01"}, "is more than a year ahead"),
    ({"action": "dismiss", "reason": "   "}, "Say why the signal is dismissed (the reason is empty)."),
    ({"action": "dismiss", "reason": "x" * 301}, "The reason is longer than 300 characters."),
    ({"action": "dismiss", "reason": "fine", "signal": "sleepy"}, "“sleepy” is not a signal"),
    ({"action": "dismiss", "reason": "fine", "signal": "growing"}, "has no “growing” signal any more"),
    ({"action": "reopen"}, "is not snoozed or dismissed"),
])
def test_bad_input_is_one_sentence_and_changes_nothing(site, fields, sentence):
    c, jade = site.client(), site.customer("Jade Palace")
    page, before = c.get("/reports/signals").text, site.people_state()
    data = form(page, jade, "churned") | fields
    r = c.post("/reports/signals", data=data, headers=ORIGIN)
    assert r.status_code == 409 and sentence in html.unescape(r.text)
    assert site.people_state() == before
    assert names_in(c.get("/reports/signals").text, "churned") == set(CHURNED)


def test_a_stale_form_is_refused_saying_who_changed_the_signal(site):
    ana, bob, jade = site.client(), site.client("admin@example.com"), site.customer("Jade Palace")
    page = ana.get("/reports/signals").text
    assert decide(bob, bob.get("/reports/signals").text, jade, "churned", action="snooze",
                  until="2026-12-01").status_code == 303
    before = site.people_state()
    r = decide(ana, page, jade, "churned", action="dismiss", reason="Not ours")
    text = html.unescape(r.text)
    assert r.status_code == 409 and "changed after the page was opened" in text
    assert "snoozed until 2026-12-01 by admin@example.com" in text
    assert site.people_state() == before


def test_an_ae_sees_and_decides_only_their_own_ae_s_signals(site):
    alice, jade, acme = site.client("alice@example.com"), site.customer("Jade Palace"), site.customer("Acme Foods")
    r = alice.get("/reports/signals")
    assert r.status_code == 302 and "ae=ALICE+NGUYEN" in r.headers["Location"]
    page = alice.get(r.headers["Location"]).text
    assert names_in(page, "churned") == {"Jade Palace"} and "BRANDON" not in page and "Acme" not in page
    assert alice.get("/reports/signals?ae=BRANDON+WU").status_code == 403
    # a form for Brandon's customer, as a manager's page drew it, is refused to Alice
    manager_page = site.client().get("/reports/signals").text
    fields = form(manager_page, acme, "churned") | {"csrf_token": form(page, jade, "churned")["csrf_token"]}
    before = site.people_state()
    refused = alice.post("/reports/signals", data=fields | {"action": "dismiss", "reason": "mine now"}, headers=ORIGIN)
    assert refused.status_code == 409 and "you can snooze or dismiss only your own AE" in html.unescape(refused.text)
    assert site.people_state() == before
    done = decide(alice, page, jade, "churned", action="dismiss", reason="Closed down")
    assert done.status_code == 303 and "ae=ALICE+NGUYEN" in done.headers["Location"]
    assert names_in(alice.get(done.headers["Location"]).text, "churned") == set()


def test_a_viewer_sees_the_signals_without_forms_and_may_not_post(site):
    viewer, jade = site.client("viewer@example.com"), site.customer("Jade Palace")
    page = viewer.get("/reports/signals").text
    assert names_in(page, "churned") == set(CHURNED) and 'name="reason"' not in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)   # the sign-out form's
    r = viewer.post("/reports/signals", data={"csrf_token": csrf, "object_type": "customer", "object_id": jade,
                                              "signal": "churned", "version": 0, "run": 1, "action": "dismiss",
                                              "reason": "no"}, headers=ORIGIN)
    assert r.status_code == 403 and "snooze or dismiss" in r.text


def test_the_filters_choose_a_signal_and_an_ae(site):
    c = site.client()
    page = c.get("/reports/signals?signal=churned&ae=BRANDON+WU").text
    assert names_in(page, "churned") == {"Acme Foods"} and 'id="growing"' not in page
    assert c.get("/reports/signals?signal=sleepy").status_code == 400
    assert c.get("/reports/signals?show=everything").status_code == 400


def test_a_form_drawn_before_the_signal_went_away_and_came_back_is_refused(site):
    c, jade = site.client(), site.customer("Jade Palace")
    page = c.get("/reports/signals").text
    small = Row(bill_code="Jade Palace", month=dt.date(2026, 3, 1), air_date=dt.date(2026, 3, 10), gross=500.0,
                sales_person="Alice Nguyen", line=900)
    site.load(rows([small]), TODAY)                                  # declining, no longer churned
    site.load(rows([small.with_(gross=0.0, net=0.0)]), TODAY)        # churned again: a new run
    before = site.people_state()
    r = decide(c, page, jade, "churned", action="dismiss", reason="Seen it")
    assert r.status_code == 409 and "stopped and began again after the page was opened" in r.text
    assert site.people_state() == before


def test_the_cached_page_carries_each_session_s_own_token_and_its_forms_work(site):
    from ctvdb.web.views.signals import CSRF_STAND_IN
    first, second = site.client(), site.client()
    pages = [c.get("/reports/signals").text for c in (first, second, first)]
    tokens = [set(re.findall(r'name="csrf_token" value="([^"]+)"', page)) for page in pages]
    assert all(len(t) == 1 for t in tokens) and tokens[0] == tokens[2] and tokens[0] != tokens[1]
    assert not any(CSRF_STAND_IN in page for page in pages)
    assert "signals" in pages[1] and pages[0] != pages[1]
    customer = site.customer(sorted(CHURNED)[0])
    r = decide(second, pages[1], customer, "churned", action="dismiss", reason="Moved its budget to digital")
    assert r.status_code == 303


def test_each_signal_s_table_shows_its_largest_rows_and_offers_the_rest(site, monkeypatch):
    from ctvdb.web.views import signals as view
    c = site.client()
    every = table_rows(c.get("/reports/signals?rows=all").text, "churned")
    assert len(every) >= 2
    monkeypatch.setattr(view, "PAGE_ROWS", 1)
    page = c.get("/reports/signals").text
    assert table_rows(page, "churned") == every[:1]
    assert f"Show all {len(every)}</a>" in page and "rows=all#churned" in page
    assert table_rows(c.get("/reports/signals?rows=all").text, "churned") == every
    csv_rows = c.get("/reports/signals?format=csv&table=churned").text.strip().splitlines()
    assert len(csv_rows) == 1 + len(every)   # the downloads hold every row
