"""The planning pages through the WSGI app (issue 13): budgets and forecasts edited in the grid's
forms and pasted from Excel, signed in with a real session and CSRF token, by each role; every
bad input with its sentence and the database unchanged; two people saving one grid; the history
and a month's forecasts as they stood on a day. Booked and last year are summed here from the
sample workbook's rows; budgets and forecasts are the amounts the test typed."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, changes, db, months
from ctvdb.config import Config
from ctvdb.web import cache
from ctvdb.web.app import create_app
# The same sample and its spots as the app's tests (their fixtures, not copies of them).
from test_web_app import NOW, sample, spots  # noqa: F401

ORIGIN = {"Origin": "http://localhost"}
ALICE, BRANDON = "ALICE NGUYEN", "BRANDON WU"     # two of the sample's AEs
YEAR = 2026                                       # NOW is 25 Nov 2026


@pytest.fixture
def site(sample, private_copy, cheap_scrypt):
    """A copy of the sample with a user of each role (the ae is Alice): (app, database)."""
    database = private_copy(sample.database)
    conn = db.connect_auth(database)
    for role in ("admin", "management", "viewer"):
        auth.add_user(conn, f"{role}@example.com", "not used in tests 1", role)
    auth.add_user(conn, "alice@example.com", "not used in tests 1", "ae", ae="Alice Nguyen")
    conn.close()
    cache.REPORTS.clear()
    return create_app(Config(database_path=database), now=lambda: NOW), database


def client(site, email: str) -> Client:
    app, database = site
    conn = db.connect_auth(database)
    token = auth.start_session(conn, auth.get_user(conn, email), timedelta(hours=1))
    conn.close()
    c = Client(app)
    c.set_cookie(auth_web.SESSION_COOKIE, token)
    return c


@pytest.fixture
def clock(monkeypatch):
    """clock(iso): the UTC time the next change is recorded at."""
    def set_to(iso: str) -> None:
        monkeypatch.setattr(changes, "utc_now", lambda: iso)
    return set_to


class Grid:
    """A planning page as drawn: the fields of its four forms (grid and paste, budget and
    forecast), each input with the value it was drawn with."""

    def __init__(self, c: Client, query: str = f"year={YEAR}"):
        response = c.get(f"/planning/?{query}", follow_redirects=True)
        assert response.status_code == 200, response.text[:500]
        self.client, self.html = c, response.text
        self.forms = {}
        for form_id, body in re.findall(r'<form id="([\w-]+)" method="post"[^>]*>(.*?)</form>', self.html, re.S):
            self.forms[form_id] = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', body))
        self.inputs: dict[str, dict[str, str]] = {}
        for form_id, name, value in re.findall(r'<input (?:type="hidden" )?form="([\w-]+)" name="([^"]+)" value="([^"]*)"',
                                               self.html):
            self.inputs.setdefault(form_id, {})[html.unescape(name)] = html.unescape(value)

    def save(self, kind: str, changes: dict[tuple[str, int], str], extra: dict | None = None):
        """Post the `kind` grid as drawn, with `changes` {(AE, month): text} typed in."""
        data = {**self.forms[f"{kind}-grid"], **self.inputs.get(f"{kind}-grid", {})}
        for (ae, month), text in changes.items():
            data[f"cell:{month}:{ae}"] = text
            data.setdefault(f"drawn:{month}:{ae}", "")
        return self.client.post(f"/planning/{kind}s", data={**data, **(extra or {})}, headers=ORIGIN)

    def paste(self, kind: str, text: str):
        return self.client.post(f"/planning/{kind}s", data={**self.forms[f"{kind}-paste"], "paste": text},
                                headers=ORIGIN)


def stored(database, table: str = "forecasts") -> dict:
    conn = db.connect(database)
    try:
        return {(ae, m): a for ae, m, a in conn.execute(f"SELECT ae, broadcast_month, amount FROM {table}")}
    finally:
        conn.close()


def history(database) -> list[tuple]:
    conn = db.connect(database)
    try:
        return [tuple(r) for r in conn.execute(
            "SELECT kind, ae, broadcast_month, old_amount, new_amount, changed_by, how FROM plan_history ORDER BY id")]
    finally:
        conn.close()


def checksum(database) -> str:
    conn = db.connect(database)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def sentence(response) -> str:
    return html.unescape(re.search(r'<p class="sentence">(.*?)</p>', response.text, re.S).group(1))


# Who may change what ----------------------------------------------------------------------------

def test_management_and_admins_set_budgets_and_anyone_s_forecast(site):
    _, database = site
    for email, ae, month in (("management@example.com", ALICE, 202612), ("admin@example.com", BRANDON, 202611)):
        grid = Grid(client(site, email))
        done = grid.save("budget", {(ae, month): "$10,500.25"})
        assert done.status_code == 303 and done.headers["Location"] == f"/planning/?year={YEAR}&done=budget%3A1"
        assert grid.save("forecast", {(ae, month): "9000"}).status_code == 303
    assert stored(database, "budgets") == {(ALICE, 202612): 10500.25, (BRANDON, 202611): 10500.25}
    assert stored(database) == {(ALICE, 202612): 9000.0, (BRANDON, 202611): 9000.0}
    assert history(database) == [
        ("budget", ALICE, 202612, None, 10500.25, "management@example.com", "web"),
        ("forecast", ALICE, 202612, None, 9000.0, "management@example.com", "web"),
        ("budget", BRANDON, 202611, None, 10500.25, "admin@example.com", "web"),
        ("forecast", BRANDON, 202611, None, 9000.0, "admin@example.com", "web")]
    page = client(site, "management@example.com").get(f"/planning/?year={YEAR}&done=budget%3A1").text
    assert '<p class="message plan" role="status">Saved 1 budget cell.</p>' in page


def test_an_ae_forecasts_only_their_own_row_and_sets_no_budget(site):
    _, database = site
    alice = client(site, "alice@example.com")
    grid = Grid(alice)
    # Their own row only: no other AE, no company row, no budget box.
    assert ALICE in grid.html and BRANDON not in grid.html and ">Company<" not in grid.html
    assert "budget-grid" not in grid.inputs and "budget-grid" not in grid.forms
    assert {name.split(":", 2)[2] for name in grid.inputs["forecast-grid"]} == {ALICE}
    done = grid.save("forecast", {(ALICE, 202612): "7,250"})
    assert done.status_code == 303 and done.headers["Location"] == f"/planning/?year={YEAR}&ae=ALICE+NGUYEN&done=forecast%3A1"
    assert stored(database) == {(ALICE, 202612): 7250.0}
    before = checksum(database)
    # A cell of another AE's, added to the form by hand, saves nothing at all.
    refused = grid.save("forecast", {(ALICE, 202611): "1", (BRANDON, 202612): "5000"})
    assert refused.status_code == 403
    assert sentence(refused) == ("You can enter forecasts only for your own AE (ALICE NGUYEN): the form has a"
                                 " cell for BRANDON WU; nothing was saved.")
    assert grid.paste("forecast", "Brandon Wu" + "\t1" * 12).status_code == 403
    budget = alice.post("/planning/budgets", data={**grid.forms["forecast-grid"], f"cell:202612:{ALICE}": "1",
                                                   f"drawn:202612:{ALICE}": ""}, headers=ORIGIN)
    assert budget.status_code == 403 and sentence(budget) == "Only an administrator or a manager sets budgets."
    assert alice.get(f"/planning/?year={YEAR}&ae=BRANDON+WU").status_code == 403
    assert checksum(database) == before


def test_a_viewer_reads_the_grid_and_changes_nothing(site):
    _, database = site
    viewer = client(site, "viewer@example.com")
    grid = Grid(viewer)
    assert grid.inputs == {} and grid.forms == {} and "<textarea" not in grid.html and ">Company<" in grid.html
    manager = Grid(client(site, "management@example.com"))
    before = checksum(database)
    for kind in ("budget", "forecast"):
        data = {**manager.forms[f"{kind}-grid"], f"cell:202612:{ALICE}": "1", f"drawn:202612:{ALICE}": ""}
        data["csrf_token"] = re.search(r'name="csrf_token" value="([^"]+)"', grid.html).group(1)
        refused = viewer.post(f"/planning/{kind}s", data=data, headers=ORIGIN)
        assert refused.status_code == 403
    assert sentence(refused) == "Only an account executive, a manager or an administrator enters forecasts."
    assert checksum(database) == before


def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(site):
    _, database = site
    grid = Grid(client(site, "management@example.com"))
    before = checksum(database)
    assert grid.save("forecast", {(ALICE, 202612): "1"}, {"csrf_token": "forged"}).status_code == 403
    data = {**grid.forms["forecast-grid"], f"cell:202612:{ALICE}": "1", f"drawn:202612:{ALICE}": ""}
    assert grid.client.post("/planning/forecasts", data=data, headers={"Origin": "http://evil.example"}).status_code == 403
    assert checksum(database) == before


# Bad input: one sentence naming the cell, nothing saved -------------------------------------------

def test_every_bad_input_is_one_sentence_and_the_database_is_unchanged(site):
    _, database = site
    conn = db.connect(database)
    months.close_months(conn, [202602], "accounting")
    conn.close()
    manager = client(site, "management@example.com")
    grid = Grid(manager)
    assert f"cell:202602:{ALICE}" not in grid.inputs["budget-grid"]      # a closed month's budget has no box
    assert f"cell:202602:{ALICE}" in grid.inputs["forecast-grid"]
    before = checksum(database)
    good = {(BRANDON, 202612): "100"}                                    # saved only if the rest is good
    cases = [
        ("forecast", {(ALICE, 202612): "lots"},
         "Forecast for ALICE NGUYEN, Dec-26: “lots” is not an amount like 12,500 or $12,500.00; nothing was saved."),
        ("budget", {(ALICE, 202612): "-500"},
         "Budget for ALICE NGUYEN, Dec-26: -500 is negative, and an amount cannot be; nothing was saved."),
        ("forecast", {("NOBODY HERE", 202612): "5"},
         "Forecast for NOBODY HERE, Dec-26: there is no AE “NOBODY HERE” in the database; nothing was saved."),
        ("forecast", {(ALICE, 202613): "5"}, "Forecast for ALICE NGUYEN: “202613” is not a month of 2026; nothing was saved."),
        ("budget", {(ALICE, 202712): "5"}, "Budget for ALICE NGUYEN: “202712” is not a month of 2026; nothing was saved."),
        ("budget", {(ALICE, 202602): "5"},
         "Budget for ALICE NGUYEN, Feb-26: Feb-26 is closed, so its budget cannot change; nothing was saved."),
    ]
    for kind, typed, words in cases:
        refused = grid.save(kind, {**good, **typed})
        assert refused.status_code == 400 and sentence(refused) == words, kind
        assert checksum(database) == before
    pasted = grid.paste("budget", f"Alice Nguyen{chr(9)}1{chr(9)}2\nBrandon Wu" + "\t3" * 12)
    assert pasted.status_code == 400 and sentence(pasted) == (
        "Line 1 of the pasted budgets has 3 columns; a line is an AE and then 12 months, tab-separated as Excel"
        " copies them; nothing was saved.")
    pasted = grid.paste("forecast", "Brandon Wu" + "\t3" * 12 + "\nAlice Nguyen" + "\t1" * 11 + "\t-4")
    assert pasted.status_code == 400 and sentence(pasted) == (
        "Line 2, Forecast for ALICE NGUYEN, Dec-26: -4 is negative, and an amount cannot be; nothing was saved.")
    assert checksum(database) == before


# Two people, one grid ----------------------------------------------------------------------------

def test_two_editors_of_one_grid_lose_no_update(site, clock):
    _, database = site
    first = Grid(client(site, "management@example.com"))
    second = Grid(client(site, "admin@example.com"))         # drawn from the same state
    clock("2026-11-25T18:42:00Z")                            # 10:42 in Los Angeles
    assert first.save("forecast", {(ALICE, 202612): "12,000", (BRANDON, 202612): "2000"}).status_code == 303
    clock("2026-11-25T18:50:00Z")
    late = second.save("forecast", {(ALICE, 202612): "30000", (ALICE, 202611): "4000"})
    assert late.status_code == 409
    assert sentence(late) == ("Saved 1 forecast cell; not saved: Forecast for ALICE NGUYEN, Dec-26 was changed to"
                              " $12,000.00 by management@example.com at 10:42 on Nov 25, 2026; reload.")
    # Brandon's December, which the second editor left as drawn, keeps the first editor's figure.
    assert stored(database) == {(ALICE, 202612): 12000.0, (BRANDON, 202612): 2000.0, (ALICE, 202611): 4000.0}
    # Drawn again, the second editor's page shows the first's figures and saves over them.
    again = Grid(second.client)
    assert again.inputs["forecast-grid"][f"drawn:202612:{ALICE}"] == "12000.00"
    assert again.save("forecast", {(ALICE, 202612): "30000"}).status_code == 303
    assert stored(database)[(ALICE, 202612)] == 30000.0


# Paste ---------------------------------------------------------------------------------------------

def test_a_block_pasted_from_excel_fills_the_grid_and_leaves_its_blanks_alone(site):
    _, database = site
    grid = Grid(client(site, "management@example.com"))
    assert grid.save("budget", {(BRANDON, 202603): "999"}).status_code == 303
    grid = Grid(grid.client)
    header = "AE\t" + "\t".join(f"{m}-26" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                                                     "Oct", "Nov", "Dec"))
    block = "\r\n".join([header, "Alice Nguyen\t$1,234.50\t" + "\t".join(["2,000"] * 11),
                         "brandon wu\t10\t20\t\t" + "\t".join([""] * 9)]) + "\r\n"
    done = grid.paste("budget", block)
    assert done.status_code == 303 and done.headers["Location"] == f"/planning/?year={YEAR}&done=budget%3A14"
    want = {(ALICE, 202601): 1234.5, **{(ALICE, 202600 + m): 2000.0 for m in range(2, 13)},
            (BRANDON, 202601): 10.0, (BRANDON, 202602): 20.0, (BRANDON, 202603): 999.0}
    assert stored(database, "budgets") == want
    assert [r[6] for r in history(database)] == ["web"] + ["paste"] * 14


# History and "as it stood" -------------------------------------------------------------------------

def test_the_history_shows_a_cell_s_changes_and_a_month_s_forecasts_as_they_stood(site, clock):
    _, database = site
    manager, alice = client(site, "management@example.com"), client(site, "alice@example.com")
    for at, c, ae, text in [("2026-10-20T17:00:00Z", manager, ALICE, "10000"),
                            ("2026-10-25T17:00:00Z", manager, BRANDON, "4000"),
                            ("2026-11-02T07:30:00Z", alice, ALICE, "11000"),    # 1 Nov 23:30 Pacific (PDT)
                            ("2026-11-02T08:00:00Z", manager, BRANDON, "6000")]:  # 2 Nov 00:00 PST
        clock(at)
        assert Grid(c).save("forecast", {(ae, 202612): text}).status_code == 303
    data = manager.get("/planning/history?month=2026-12&as_of=2026-11-01&format=json").json
    rows = {r["ae"]: r for r in data["tables"]["as_of"]["rows"]}
    assert {ae: (r["then"], r["now"], r["set_by"]) for ae, r in rows.items()} == {
        ALICE: (11000.0, 11000.0, "alice@example.com"), BRANDON: (4000.0, 6000.0, "management@example.com")}
    assert rows[BRANDON]["change"] == 2000.0 and data["tables"]["as_of"]["totals"]["then"] == 15000.0
    earlier = manager.get("/planning/history?month=2026-12&as_of=2026-10-21&format=json").json
    # Brandon had no forecast for December yet on 21 October: "—" then, his figure now.
    assert [(r["ae"], r["then"], r["now"]) for r in earlier["tables"]["as_of"]["rows"]] == [
        (ALICE, 10000.0, 11000.0), (BRANDON, None, 6000.0)]
    cell = manager.get(f"/planning/history?month=2026-12&ae={ALICE.replace(' ', '+')}&format=json").json
    assert [(r["old_amount"], r["new_amount"], r["changed_by"], r["how"]) for r in cell["tables"]["changes"]["rows"]] == [
        (10000.0, 11000.0, "alice@example.com", "web"), (None, 10000.0, "management@example.com", "web")]
    page = manager.get("/planning/history?month=2026-12&as_of=2026-11-01").text
    assert "Forecasts for Dec-26 as they stood on Nov 1, 2026" in page
    # An ae sees their own history only; a budget's history is asked for by kind.
    own = alice.get("/planning/history?month=2026-12&as_of=2026-11-01", follow_redirects=True).text
    assert ALICE in own and BRANDON not in own
    assert manager.get("/planning/history?kind=budget&month=2026-12&format=json").json["tables"]["changes"]["rows"] == []
    for bad, words in (("kind=goal", "The history is of budgets or forecasts, not “goal”."),
                       ("month=March", "The history month “March” is not a month like 2026-11 or Nov-26."),
                       ("as_of=yesterday", "The day “yesterday” is not a date like 2027-02-01.")):
        response = manager.get(f"/planning/history?{bad}")
        assert response.status_code == 400 and sentence(response) == words


# The grid's figures ---------------------------------------------------------------------------------

def test_the_grid_shows_booked_and_last_year_summed_from_the_rows_beside_the_plan(site, spots):
    _, database = site
    grid = Grid(client(site, "management@example.com"))
    assert grid.save("budget", {(ALICE, 202611): "5000", (BRANDON, 202611): "700"}).status_code == 303
    assert grid.save("forecast", {(ALICE, 202611): "6000", (ALICE, 202612): "100"}).status_code == 303
    cache.REPORTS.clear()
    data = grid.client.get(f"/planning/?year={YEAR}&format=json").json
    cells = {(r["ae"], r["month"]): r for r in data["tables"]["cells"]["rows"]}
    for ae in {s.ae for s in spots}:
        for month in range(202601, 202613):
            row = cells[(ae, month)]
            assert row["booked"] == pytest.approx(sum(s.gross for s in spots if s.ae == ae and s.month == month), abs=0.011)
            assert row["last_year"] == pytest.approx(
                sum(s.gross for s in spots if s.ae == ae and s.month == month - 100), abs=0.011)
    assert (cells[(ALICE, 202611)]["budget"], cells[(ALICE, 202611)]["forecast"]) == (5000.0, 6000.0)
    booked_nov = sum(s.gross for s in spots if s.ae == ALICE and s.month == 202611)
    booked_dec = sum(s.gross for s in spots if s.ae == ALICE and s.month == 202612)
    alice = {r["ae"]: r for r in data["tables"]["aes"]["rows"]}[ALICE]
    assert alice["forecast"] == 6100.0
    assert alice["still_to_book"] == pytest.approx(6000.0 - booked_nov + 100.0 - booked_dec, abs=0.011)
    company = data["tables"]["aes"]["totals"]
    assert company["budget"] == 5700.0 and company["booked"] == pytest.approx(
        sum(s.gross for s in spots if s.month // 100 == YEAR), abs=0.011)
    # The page draws the same figures, and the company block under the AEs.
    page = grid.client.get(f"/planning/?year={YEAR}").text
    assert 'value="5000.00"' in page and f"{booked_nov:,.2f}" in page and ">Company<" in page


# In a real browser: the grid's boxes belong to forms drawn apart from them (no script) ----------

def test_a_browser_saves_the_grid_with_its_button_and_the_page_fits_a_phone(site, tmp_path):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).parent))
    from browser import CHROMIUM, Tab, chromium, free_port, start_uvicorn, wait_for_port
    assert CHROMIUM, "chromium is not installed (apt-get install chromium)"
    _, database = site
    conn = db.connect_auth(database)
    token = auth.start_session(conn, auth.get_user(conn, "management@example.com"), timedelta(hours=1))
    conn.close()
    port = free_port()
    process = start_uvicorn(database, port)
    try:
        wait_for_port(port, process)
        with chromium(tmp_path / "profile") as tools:
            tab = Tab(tools, port, (auth_web.SESSION_COOKIE, token))
            tab.size(1400, 900)
            tab.open(f"/planning/?year={YEAR}")
            tab.js(f"document.querySelector('input[form=\"forecast-grid\"][name=\"cell:202612:{BRANDON}\"]').value = '$4,321'")
            tools.events.clear()
            tab.js("document.querySelector('button[form=\"forecast-grid\"]').click()")
            tools.wait_for("Page.loadEventFired")
            assert tab.js("document.querySelector('p.message').textContent") == "Saved 1 forecast cell."
            tab.size(390, 800, mobile=True)
            tab.open(f"/planning/?year={YEAR}")
            assert tab.js("document.documentElement.scrollWidth") <= 390   # the grid scrolls in its box
    finally:
        process.terminate()
        process.wait(10)
    assert stored(database) == {(BRANDON, 202612): 4321.0}
