"""Customers against the card (/rates/customers, issue 14): each customer's rate per :30, what
their spots come to at the company's card and the difference, against values computed here from
the workbook rows test_web_rates writes; the order by revenue at stake; an ae sees only the
customers they booked (against the company's card); the CSV holds the page's figures; an empty
period."""

from __future__ import annotations

import csv
import io

import pytest
import test_web_rates as base
import xlsx_rows as x
from test_web_rates import MONTHS, NOT_COUNTED, PERIOD, TIMES, client

from ctvdb import db
from ctvdb.importer import import_workbook

URL = "/rates/customers"
NOW_MONTHS = [m for m in MONTHS if m >= 202609]     # the months of PERIOD


# A customer with three spots in October (few spots), bought from Alice in the company's cells.
TINY = [base.spots()[i] | {"customer": "Tiny Cafe", "ae": "Alice Nguyen", "month": 202610, "rate": 40.0 + i}
        for i in (0, 1, 2)]


def spots() -> list[dict]:
    return base.spots() + TINY


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web_rates_customers")
    rows = [base._cells(s, n) for n, s in enumerate(spots(), 1)]
    rows += [base._cells(spots()[0] | bad, 10000 + n) for n, bad in enumerate(NOT_COUNTED)]
    workbook = x.write(folder / "Commercial Log 261201.xlsx", {"Commercials": rows})
    import_workbook(folder / "ctvdb.db", workbook, mode="manual", auto_setup=True)
    return folder / "ctvdb.db"


def page(c, query: str) -> dict:
    response = c.get(f"{URL}?{query}&format=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def name(s: dict) -> str:
    return s["customer"].rsplit(":", 1)[-1]


def cell(s: dict) -> tuple:
    return s["language"], s["market"], TIMES[s["time_in"]]


def expected(chosen: list[dict], months=NOW_MONTHS) -> dict:
    """{customer: figures} of `chosen` (the spots a page shows) against the card of every
    customer's spots in `months`: at card = Σ card revenue × customer's seconds ÷ card seconds."""
    everyone = [s for s in spots() if s["month"] in months]
    card: dict = {}
    for s in everyone:
        revenue, seconds = card.get(cell(s), (0.0, 0))
        card[cell(s)] = (revenue + s["rate"], seconds + s["length"])
    out = {}
    for customer in {name(s) for s in chosen}:
        mine = [s for s in chosen if name(s) == customer]
        by_cell: dict = {}
        for s in mine:
            by_cell[cell(s)] = by_cell.get(cell(s), 0) + s["length"]
        at_card = sum(card[key][0] * seconds / card[key][1] for key, seconds in by_cell.items())
        revenue, seconds = sum(s["rate"] for s in mine), sum(s["length"] for s in mine)
        out[customer] = {
            "spots": len(mine), "revenue": round(revenue, 2), "per_30": round(revenue / (seconds / 30), 2),
            "card_per_30": round(at_card / (seconds / 30), 2), "at_card": round(at_card, 2),
            "difference": round(revenue - at_card, 2), "difference_pct": round(100 * (revenue - at_card) / at_card, 1),
            "at_stake": abs(round(revenue - at_card, 2)), "note": "few spots" if len(mine) < 10 else ""}
    return out


def check(rows: list[dict], want: dict) -> None:
    got = {r["name"]: {k: r[k] for k in next(iter(want.values()))} for r in rows}
    assert got == want
    stakes = [r["at_stake"] for r in rows]
    assert stakes == sorted(stakes, reverse=True)


def test_each_customer_against_the_card_equals_the_workbook_rows(database, session_token):
    c = client(database, session_token)
    report = page(c, PERIOD)
    table = report["tables"]["customers"]
    now = [s for s in spots() if s["month"] in NOW_MONTHS]
    check(table["rows"], expected(now))
    # over every customer the card is the average: the differences add up to (about) nothing
    assert abs(table["totals"]["difference"]) <= 0.01
    assert table["totals"]["at_stake"] == round(sum(r["at_stake"] for r in table["rows"]), 2)
    assert table["totals"]["spots"] == len(now)
    html = c.get(f"{URL}?{PERIOD}").get_data(as_text=True)
    assert "From/to: Sep-26 to Nov-26 (3 months)" in html and "revenue at stake = the difference" in html
    conn = db.connect(database)
    ids = {n: i for i, n in conn.execute("SELECT id, name FROM customers")}
    conn.close()
    for row in table["rows"]:
        cid = ids[row["name"]]
        assert f'<a href="/reports/customer/{cid}">{row["name"]}</a>' in html
        assert f'<a href="/rates/?from=2026-09&amp;to=2026-11&amp;customer={cid}">rates</a>' in html
    assert c.get(f"/rates/?from=2026-09&to=2026-11&customer={ids['Roe Motors']}").status_code == 200
    # the rates pages' own menu
    assert '<nav class="subnav rates-nav"' in html and 'href="/rates/"' in html
    assert 'href="/rates/customers"' in c.get(f"/rates/?{PERIOD}").get_data(as_text=True)


def test_few_spots_are_greyed_and_said(database, session_token):
    c = client(database, session_token)
    rows = page(c, "from=2026-10&to=2026-10")["tables"]["customers"]["rows"]
    few = [r for r in rows if r["spots"] < 10]
    check(rows, expected([s for s in spots() if s["month"] == 202610], [202610]))
    assert [r["name"] for r in few] == ["Tiny Cafe"]
    html = c.get(f"{URL}?from=2026-10&to=2026-10").get_data(as_text=True)
    assert html.count('<tr class="few">') == len(few)
    assert all(r["note"] == "few spots" for r in few) and all(r["note"] == "" for r in rows if r not in few)


def test_an_ae_sees_only_the_customers_they_booked(database, session_token):
    c = client(database, session_token, role="ae", ae="Alice Nguyen")
    response = c.get(f"{URL}?{PERIOD}")
    assert response.status_code == 302 and "ae=ALICE+NGUYEN" in response.headers["Location"]
    rows = page(c, f"{PERIOD}&ae=ALICE+NGUYEN")["tables"]["customers"]["rows"]
    mine = [s for s in spots() if s["month"] in NOW_MONTHS and s["ae"] == "Alice Nguyen"]
    check(rows, expected(mine))     # their own spots, still against every AE's card
    assert {r["name"] for r in rows} == {"Jade Palace", "State Farm", "Tiny Cafe"}
    html = c.get(f"{URL}?{PERIOD}&ae=ALICE+NGUYEN").get_data(as_text=True)
    assert "Roe Motors" not in html and "Phở Hòa" not in html and "JOHN ROE" not in html and "BRANDON WU" not in html
    link = html.split('">rates</a>')[0].rsplit('<a href="', 1)[1].replace("&amp;", "&")
    assert "ae=ALICE+NGUYEN" in link and c.get(link).status_code == 200
    assert c.get(f"{URL}?{PERIOD}&ae=JOHN+ROE").status_code == 403


def test_the_csv_holds_the_page_s_figures(database, session_token):
    c = client(database, session_token)
    table = page(c, PERIOD)["tables"]["customers"]
    got = list(csv.reader(io.StringIO(c.get(f"{URL}?{PERIOD}&format=csv&table=customers").get_data(as_text=True)
                                     .lstrip("\ufeff"))))
    keys = [col["key"] for col in table["columns"]]
    assert got[0] == [col["label"] for col in table["columns"]]
    assert got[1:] == [[("" if r.get(k) is None else str(r[k])) for k in keys] for r in table["rows"] + [table["totals"]]]
    want = expected([s for s in spots() if s["month"] in NOW_MONTHS])
    by_name = {line[0]: line for line in got[1:]}
    for customer, figures in want.items():
        assert float(by_name[customer][keys.index("difference")]) == figures["difference"]


def test_an_empty_period_shows_no_customers(database, session_token):
    c = client(database, session_token)
    table = page(c, "from=2024-01&to=2024-03")["tables"]["customers"]
    assert table["rows"] == [] and table["totals"] is None
    html = c.get(f"{URL}?from=2024-01&to=2024-03").get_data(as_text=True)
    assert "Nothing to show for these filters." in html
    assert c.get(f"{URL}?period=fortnight").status_code == 400


# /rates/lengths -------------------------------------------------------------------------------

LENGTHS_URL = "/rates/lengths"
GROUPS = base.GROUPS
CLASSES = ("15", "30", "60", "120", "other")
MARKET_NAMES = {"SFO": "San Francisco (SFO)", "HOU": "Houston (HOU)", "LAX": "Los Angeles (LAX)"}


def length_class(s: dict) -> str:
    return str(s["length"]) if s["length"] in (15, 30, 60, 120) else "other"


def lengths_expected(chosen: list[dict], everyone: list[dict]) -> dict:
    """The mix and the tables by language group, market and customer of `chosen`, beside the
    rate per :30 of `everyone` (the company's)."""
    total, revenue = len(chosen), sum(s["rate"] for s in chosen)
    company = sum(s["rate"] for s in everyone) / sum(s["length"] for s in everyone) * 30
    mix = {}
    for cls in CLASSES:
        mine = [s for s in chosen if length_class(s) == cls]
        if not mine:
            continue
        r, sec = sum(s["rate"] for s in mine), sum(s["length"] for s in mine)
        label = f":{cls}" if cls != "other" else \
            "Other (" + ", ".join(f"{n} s" for n in sorted({s['length'] for s in mine})) + ")"
        mix[label] = {"spots": len(mine), "spot_share": round(100 * len(mine) / total, 1), "revenue": round(r, 2),
                      "revenue_share": round(100 * r / revenue, 1), "average": round(r / len(mine), 2),
                      "per_second": round(r / sec, 2), "per_30": round(r / sec * 30, 2),
                      "note": "few spots" if len(mine) < 10 else ""}
    out = {"mix": mix}
    for table, key in (("language", lambda s: GROUPS[s["language"]]), ("market", lambda s: MARKET_NAMES[s["market"]]),
                       ("customer", name)):
        rows = {}
        for value in {key(s) for s in chosen}:
            mine = [s for s in chosen if key(s) == value]
            r, sec = sum(s["rate"] for s in mine), sum(s["length"] for s in mine)
            rows[value] = {"spots": len(mine), "revenue": round(r, 2),
                           **{f"share_{c}": round(100 * sum(1 for s in mine if length_class(s) == c) / len(mine), 1)
                              for c in CLASSES},
                           "per_30": round(r / sec * 30, 2), "company_per_30": round(company, 2),
                           "vs_company": round(100 * (r / sec * 30 - company) / company, 1),
                           "note": "few spots" if len(mine) < 10 else ""}
        out[table] = rows
    return out


def check_lengths(tables: dict, want: dict) -> None:
    for table, rows in want.items():
        got = {r["name"]: {k: r[k] for k in next(iter(rows.values()))} for r in tables[table]["rows"]}
        assert got == rows, table
    revenue = [r["revenue"] for r in tables["customer"]["rows"]]
    assert revenue == sorted(revenue, reverse=True)
    assert [r["name"][:3] for r in tables["mix"]["rows"]] == [":15", ":30", ":60", ":12", "Oth"]


def test_the_length_mix_equals_the_workbook_rows(database, session_token):
    c = client(database, session_token)
    report = c.get(f"{LENGTHS_URL}?{PERIOD}&format=json").json
    now = [s for s in spots() if s["month"] in NOW_MONTHS]
    check_lengths(report["tables"], lengths_expected(now, now))
    assert report["tables"]["mix"]["totals"]["spots"] == len(now)
    html = c.get(f"{LENGTHS_URL}?{PERIOD}").get_data(as_text=True)
    assert "From/to: Sep-26 to Nov-26 (3 months)" in html and "Rate per second = the revenue" in html
    assert html.count('<tr class="few">') == sum(r["spots"] < 10 for t in report["tables"].values() for r in t["rows"]) > 0
    conn = db.connect(database)
    tiny = conn.execute("SELECT id FROM customers WHERE name = 'Tiny Cafe'").fetchone()[0]
    conn.close()
    assert f'<a href="/reports/customer/{tiny}">Tiny Cafe</a>' in html
    got = list(csv.reader(io.StringIO(c.get(f"{LENGTHS_URL}?{PERIOD}&format=csv&table=mix").get_data(as_text=True)
                                     .lstrip("\ufeff"))))
    keys = [col["key"] for col in report["tables"]["mix"]["columns"]]
    mix = report["tables"]["mix"]
    assert got[1:] == [[("" if r.get(k) is None else str(r[k])) for k in keys] for r in mix["rows"] + [mix["totals"]]]


def test_an_ae_s_length_mix_is_of_their_own_spots_beside_the_company_s(database, session_token):
    c = client(database, session_token, role="ae", ae="Alice Nguyen")
    assert c.get(f"{LENGTHS_URL}?{PERIOD}").status_code == 302
    report = c.get(f"{LENGTHS_URL}?{PERIOD}&ae=ALICE+NGUYEN&format=json").json
    now = [s for s in spots() if s["month"] in NOW_MONTHS]
    check_lengths(report["tables"], lengths_expected([s for s in now if s["ae"] == "Alice Nguyen"], now))
    html = c.get(f"{LENGTHS_URL}?{PERIOD}&ae=ALICE+NGUYEN").get_data(as_text=True)
    assert "Roe Motors" not in html and "Phở Hòa" not in html and "JOHN ROE" not in html
    assert c.get(f"{LENGTHS_URL}?{PERIOD}&ae=JOHN+ROE").status_code == 403


def test_an_empty_period_shows_no_lengths(database, session_token):
    c = client(database, session_token)
    report = c.get(f"{LENGTHS_URL}?from=2024-01&to=2024-03&format=json").json
    assert all(t["rows"] == [] for t in report["tables"].values())
    assert "Nothing to show for these filters." in c.get(f"{LENGTHS_URL}?from=2024-01&to=2024-03").get_data(as_text=True)
