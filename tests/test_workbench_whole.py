"""Issue 12 as a whole, the way people use it: a workbook whose bill codes vary in case, spacing,
punctuation, accents, agency prefix and the DOMAIN §4 suffixes is imported; a manager makes the
decisions a person would make, by pressing the buttons of the resolution queue, the customer
list, a customer's page and the sector page (signed in, CSRF token and versions as the pages
drew them); then every report's customer figures must equal sums computed here from the
workbook rows grouped by the advertiser meant. Re-importing the workbook changes nothing, and
undoing the decisions one by one from the change log restores, after each undo, exactly the
figures shown before that decision."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from datetime import timedelta

import pytest
from werkzeug.test import Client

from ctvdb import auth, auth_web, codes, db, importer
from ctvdb.config import Config
from ctvdb.web.app import create_app
from forms import form, forms
from xlsx_rows import Row, write

TODAY = dt.date(2026, 11, 20)
MONTHS = (dt.date(2025, 11, 1), dt.date(2026, 10, 1), dt.date(2026, 11, 1))   # Nov-25 is closed

# (bill code as typed in the traffic system, the advertiser a person means). The first of each
# advertiser is the one that survives; the comments say what makes the others differ.
CODES = [
    ("Admerasia:McDonald's", "mcd"),
    ("ADMERASIA:MCDONALD'S", "mcd"),              # case: the same customer at import
    ("Admerasia:McDonald's PRODUCTION", "mcd"),   # a §4 suffix: the same customer at import
    ("Admerasia:  McDonald's", "mcd"),            # spacing: the same customer at import
    ("McDonalds", "mcd"),                         # punctuation, no agency: "same as" in the queue
    ("Mc Donald's", "mcd"),                       # merged from the customer list
    ("Phở Hòa", "pho"),
    ("PHỞ HÒA CREDIT MEMO", "pho"),               # case + suffix: the same customer at import
    ("PHO HOA", "pho"),                           # accents: "same as" in the queue
    ("Wells Fargo", "wells"),
    ("Wells Fargo Inc", "wells"),                 # a legal word: "same as" in the queue
    ("WorldLink:Tempur Sealy", "tempur"),
    ("Tempur-Pedic", "pedic"),                    # wrongly merged into Tempur Sealy, then split off
    ("Yes on Prop 5", "prop5"),                   # political: irregular, sector POL
]
MEANT = dict(CODES)
SURVIVOR = {}
for _code, _who in CODES:
    SURVIVOR.setdefault(_who, _code)
# The advertisers the import makes before anyone decides: the variants it folds by itself.
IMPORTED_AS = {"ADMERASIA:MCDONALD'S": "Admerasia:McDonald's", "Admerasia:McDonald's PRODUCTION": "Admerasia:McDonald's",
               "Admerasia:  McDonald's": "Admerasia:McDonald's", "PHỞ HÒA CREDIT MEMO": "Phở Hòa"}


def rows() -> list[Row]:
    out, line = [], 0
    for i, (code, _) in enumerate(CODES):
        for j, month in enumerate(MONTHS):
            if (i + j) % 4 == 3:
                continue    # not every code in every month
            line += 1
            out.append(Row(bill_code=code, month=month, air_date=month + timedelta(days=(i + j) % 25),
                           gross=round(100 + 17.25 * i + 41 * j, 2), net=round(80 + 13.5 * i + 33 * j, 2),
                           line=line, sales_person=("Alice Nguyen", "Brandon Wu")[i % 2]))
    return out


def expected(group, year: int | None = 2026) -> dict[str, float]:
    """Gross of the workbook rows per group(bill code) in `year`, summed here from the rows."""
    sums = defaultdict(float)
    for row in rows():
        if year is None or row.month.year == year:
            sums[group(row.bill_code)] += row.gross
    return {k: round(v, 2) for k, v in sums.items()}


@pytest.fixture
def site(tmp_path, cheap_scrypt):
    path = tmp_path / "ctvdb.db"
    db.init(path)
    write(tmp_path / "log.xlsx", {"Commercials": rows()})
    importer.import_workbook(path, tmp_path / "log.xlsx", mode="manual", auto_setup=True, today=TODAY)
    conn = db.connect(path)
    conn.execute("INSERT INTO month_closures VALUES (202511, '2025-12-05T17:00:00Z', 'acct@example.com', NULL)")
    conn.commit()
    conn.close()
    conn = db.connect_auth(path)
    auth.add_user(conn, "ana@example.com", "not used in tests 1", "management")
    token = auth.start_session(conn, auth.get_user(conn, "ana@example.com"), timedelta(hours=1))
    conn.close()
    now = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.timezone.utc)
    client = Client(create_app(Config(database_path=path), now=lambda: now))
    client.set_cookie(auth_web.SESSION_COOKIE, token)
    return client, path, tmp_path / "log.xlsx"


def customer_of(path, bill_code: str) -> int:
    """The customer a bill code's spots go to now (the database's answer, used only as an id)."""
    conn = db.connect(path)
    try:
        key = codes.normalise_bill_code(bill_code).lower()
        return conn.execute("SELECT customer_id FROM bill_codes WHERE code_key = ?", (key,)).fetchone()[0]
    finally:
        conn.close()


def report(c, url: str) -> dict:
    r = c.get(url + ("&" if "?" in url else "?") + "format=json")
    assert r.status_code == 200, r.text[:300]
    return r.json


def observed(c, path) -> dict:
    """Every customer figure the reports show, by customer id: customer revenue (all, regular,
    irregular), the monthly summary's top clients and client counts, the sector shares, and each
    customer's own page (this year and last, and the bill codes it lists)."""
    def totals(url):
        out = defaultdict(float)
        for row in report(c, url)["tables"]["customers"]["rows"]:
            out[row["customer_id"]] += row["total"]
        return {k: round(v, 2) for k, v in out.items() if v}

    monthly = report(c, "/reports/monthly/revenue-summary?year=2026")["tables"]
    sectors = report(c, "/reports/sector-analysis?year=2026")["tables"]
    seen = {
        "revenue": totals("/reports/revenue-dashboard-customer?year=2026"),
        "regular": totals("/reports/revenue-dashboard-customer?year=2026&revenue_class=regular"),
        "irregular": totals("/reports/revenue-dashboard-customer?year=2026&revenue_class=irregular"),
        "top_clients": {r["customer_id"]: round(r["gross"], 2) for r in monthly["top_clients"]["rows"]},
        "clients": {r["month"]: r["clients"] for r in monthly["months"]["rows"] if r["spots"]},
        "sectors": {r["sector_code"]: round(r["amount"], 2) for r in sectors["sectors"]["rows"] if r["amount"]},
        "details": {},
    }
    for customer_id in sorted(set(seen["revenue"]) | {customer_of(path, code) for code, _ in CODES}):
        detail = report(c, f"/reports/customer/{customer_id}?year=2026")
        years = {r["year"]: round(r["gross"] or 0, 2) for r in detail["tables"]["years"]["rows"]}
        listed = sorted(r["bill_code"] for r in detail["tables"]["bill_codes"]["rows"])
        seen["details"][customer_id] = (years, listed)
    return seen


def intended(path, group, irregular: tuple[str, ...] = ()) -> dict:
    """What observed() must show when each bill code belongs to group(code) and the customers of
    the bill codes `irregular` are irregular: sums of the rows."""
    ids = {who: customer_of(path, code) for code, who in ((c, group(c)) for c, _ in CODES)}
    revenue = {ids[g]: v for g, v in expected(group).items()}
    irregular = {ids[group(code)] for code in irregular}
    by_month = defaultdict(set)
    for row in rows():
        if row.month.year == 2026:
            by_month[int(row.month.strftime("%Y%m"))].add(group(row.bill_code))
    this, last = expected(group), expected(group, 2025)
    details = {}
    for g in set(map(group, MEANT)):
        listed = sorted({codes.normalise_bill_code(code) for code, _ in CODES if group(code) == g})
        details[ids[g]] = ({"2026": this.get(g, 0.0), "2025": last.get(g, 0.0)}, listed)
    return {"revenue": revenue, "regular": {k: v for k, v in revenue.items() if k not in irregular},
            "irregular": {k: v for k, v in revenue.items() if k in irregular},
            "top_clients": revenue, "clients": {m: len(s) for m, s in by_month.items()}, "details": details}


def check(seen: dict, want: dict) -> None:
    for key, value in want.items():
        if key == "details":
            for customer_id, (years, listed) in value.items():
                got_years, got_listed = seen["details"][customer_id]
                assert {y: got_years.get(y, 0.0) for y in years} == years, customer_id
                assert sorted(got_listed) == listed, customer_id
        else:
            assert seen[key] == value, key


def queue_button(c, path, bill_code: str, same_as: str):
    """Press "Same as …" in the queue's section of bill_code's customer, on the suggestion that
    is same_as's customer (found by the button's value: the names shown are the spellings the
    import kept)."""
    page = c.get("/customers/review").text
    section = page.split(f'id="customer-{customer_of(path, bill_code)}"')[1].split("</section>")[0]
    same = [f for f in forms(section, "/customers/review") if f.fields.get("action") == "same"][0]
    return same.submit(c, ("into", str(customer_of(path, same_as))))


def ok(response) -> str:
    assert response.status_code == 303, response.text.split("<main")[-1][:800]
    return response.headers["Location"]


def test_decisions_made_in_the_browser_give_every_report_the_intended_customers_and_undo_takes_each_back(site):
    c, path, workbook = site
    # Before anyone decides: one customer per spelling the import could not fold by itself.
    as_imported = lambda code: IMPORTED_AS.get(code, code)   # noqa: E731
    before = observed(c, path)
    check(before, intended(path, as_imported))

    steps = []   # (what was done, the figures the reports showed just before it)

    def do(label, act):
        steps.append((label, observed(c, path)))
        location = ok(act())
        assert "change=" in location

    # The resolution queue: three "same as" decisions.
    do("McDonalds is Admerasia:McDonald's", lambda: queue_button(c, path, "McDonalds", "Admerasia:McDonald's"))
    do("PHO HOA is Phở Hòa", lambda: queue_button(c, path, "PHO HOA", "Phở Hòa"))
    do("Wells Fargo Inc is Wells Fargo", lambda: queue_button(c, path, "Wells Fargo Inc", "Wells Fargo"))

    # The customer list: merge Mc Donald's into Admerasia:McDonald's, and wrongly Tempur-Pedic into Tempur Sealy.
    def merge(merged, stays):
        page = c.get("/customers/").text
        ids = [str(customer_of(path, code)) for code in (merged, stays)]
        return form(page, "/customers/merge").submit(
            c, "Merge the ticked customers into the one that stays",
            tick=(("merge", ids[0]), ("merge", ids[1]), ("survivor", ids[1])))
    do("merge Mc Donald's", lambda: merge("Mc Donald's", "Admerasia:McDonald's"))
    do("merge Tempur-Pedic (wrongly)", lambda: merge("Tempur-Pedic", "WorldLink:Tempur Sealy"))

    # Tempur Sealy's own page: split Tempur-Pedic off again; Wells Fargo moves to WorldLink; the
    # political customer becomes irregular; McDonald's gets a shorter name.
    def edit(code, button, **values):
        customer = customer_of(path, code)
        page = c.get(f"/customers/{customer}").text
        candidates = [f for f in forms(page, f"/customers/{customer}") if any(b[2] == button for b in f.buttons)
                      and all(f.fields.get(k) == v for k, v in values.pop("_where", {}).items())]
        return candidates[0].submit(c, button, **values)
    do("split Tempur-Pedic off", lambda: edit("WorldLink:Tempur Sealy", "Split it off", _where={"bill_code": "Tempur-Pedic"}))
    do("move Wells Fargo to WorldLink", lambda: edit("Wells Fargo", "Move", agency="WorldLink"))
    do("Yes on Prop 5 is irregular", lambda: edit("Yes on Prop 5", "Set the class", revenue_class="irregular"))
    do("rename McDonald's", lambda: edit("Admerasia:McDonald's", "Rename", name="McDonald's USA"))

    # The sector page: Political for the campaign, Financial Services for Wells Fargo.
    def sector(bill_code, code):
        page = c.get("/customers/sectors?show=all").text
        return form(page, "/customers/sectors/assign").submit(
            c, "Give the ticked customers this sector", tick=(("customer", str(customer_of(path, bill_code))),),
            sector=code)
    do("Prop 5 is Political", lambda: sector("Yes on Prop 5", "POL"))
    do("Wells Fargo is Financial Services", lambda: sector("Wells Fargo", "FIN"))

    # Every report now shows the advertisers meant, to the cent.
    decided = observed(c, path)
    meant = lambda code: SURVIVOR[MEANT[code]]   # noqa: E731
    check(decided, intended(path, meant, irregular=("Yes on Prop 5",)))
    this_year = expected(meant)
    assert decided["sectors"]["POL"] == this_year["Yes on Prop 5"]
    assert decided["sectors"]["FIN"] == this_year["Wells Fargo"]
    # The survivors' pages show the names and agencies people gave them.
    mcd = c.get(f"/reports/customer/{customer_of(path, 'McDonalds')}").text
    assert "McDonald&#39;s USA" in mcd
    assert "WorldLink" in c.get(f"/customers/{customer_of(path, 'Wells Fargo Inc')}").text

    # Re-importing the same workbook changes no figure and no mapping, and queues nobody.
    queue_before = c.get("/customers/review").text.count('<section class="review"')
    importer.import_workbook(path, workbook, mode="daily", today=TODAY)   # as the 04:30 run would
    assert observed(c, path) == decided
    assert c.get("/customers/review").text.count('<section class="review"') == queue_before

    # Undo from the change log, newest first: after each, the figures from before that decision.
    for label, shown_before in reversed(steps):
        log = c.get("/customers/changes").text
        undo = forms(log)
        undo = [f for f in undo if f.action.endswith("/undo")]
        assert undo, f"nothing left to undo before {label}"
        ok(undo[0].submit(c, "Undo"))
        assert observed(c, path) == shown_before, label
    assert observed(c, path) == before
