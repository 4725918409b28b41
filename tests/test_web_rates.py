"""The rates overview (/rates/, issue 14): every table's spots, revenue, average, median, p25/p75,
rate per :30 and year-over-year change against the workbook rows this module writes, computed
here with `statistics`; a three-level drill-down; what is not counted; an empty period; the
presets on fixed days; an ae sees the company's card but not other AEs' customers; downloads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import statistics

import pytest
from werkzeug.test import Client

import xlsx_rows as x
from ctvdb import auth_web, customers, db, summaries
from ctvdb.config import Config
from ctvdb.importer import import_workbook
from ctvdb.web import cache
from ctvdb.web.app import create_app

NOW = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.timezone.utc)     # Dec 2, 2026 in Los Angeles: Dec-26
PERIOD = "from=2026-09&to=2026-11"
CUSTOMERS = ("Admerasia:Jade Palace", "Phở Hòa", "IW Group:State Farm", "Roe Motors")
AES = ("Alice Nguyen", "Brandon Wu", "Alice Nguyen", "John Roe")   # each customer's AE
LANGUAGES = ("M", "C", "V", "T", "K", "Q")
GROUPS = {"M": "Chinese", "C": "Chinese", "V": "Vietnamese", "T": "Filipino", "K": "Korean", "Q": "Other"}
MARKETS = ("SFO", "HOU", "LAX")
# Time In and the daypart it is in (DOMAIN §9), said here apart from ctvdb.rates
TIMES = {"05:00:00": "Early Morning", "05:59:59": "Early Morning", "06:00:00": "Early Morning",
         "09:00:00": "Daytime", "15:59:59": "Daytime", "16:00:00": "Early Fringe", "19:00:00": "Prime Access",
         "20:00:00": "Prime", "22:59:59": "Prime", "23:30:00": "Late Fringe", "00:30:00": "Late Fringe",
         "01:00:00": "Overnight", "04:59:59": "Overnight"}
DAYS = ("Monday", "Tuesday", "Saturday", "Wednesday", "Sunday", "Friday", "Thursday")
LENGTHS = (30, 15, 60, 30, 120, 45, 10, 30)
RATES = (25.0, 50.0, 50.0, 75.0, 120.5, 200.0, 50.0, 310.25, 25.0, 90.0, 400.0)
MONTHS = (202509, 202510, 202511, 202609, 202610, 202611)


def spots() -> list[dict]:
    """The counted spots, and the rows that must not count (zero, negative, bonus, Trade)."""
    out = []
    for month in MONTHS:
        for i in range(90 if month > 202600 else 40):
            c = (i * 7 + month) % (4 if month > 202600 else 3)     # Roe Motors is new this year
            time_in = list(TIMES)[(i * 5 + month) % len(TIMES)]
            out.append({"customer": CUSTOMERS[c], "ae": AES[c], "month": month, "language": LANGUAGES[i % 6],
                        "market": MARKETS[(i // 2) % 3], "time_in": time_in, "day": DAYS[i % 7],
                        "length": LENGTHS[i % 8], "rate": RATES[(i * 3 + month) % 11], "spot_type": "Com",
                        "revenue_type": "Internal Ad Sales" if i % 5 else "Direct Response Sales"})
    return out


NOT_COUNTED = [dict(rate=0.0), dict(rate=-75.0, spot_type="CRD"), dict(rate=0.0, spot_type="BNS"),
               dict(rate=60.0, spot_type="BNS"), dict(rate=500.0, revenue_type="Trade")]
# a first spot long ago for two customers: tenure (new / established / long-standing)
FIRST_SPOTS = {"Admerasia:Jade Palace": 202301, "Phở Hòa": 202506}


def _cells(s: dict, line: int) -> list:
    month = dt.date(s["month"] // 100, s["month"] % 100, 1)
    row = x.Row(bill_code=s["customer"], air_date=month + dt.timedelta(days=line % 27), month=month,
                gross=s["rate"], net=s["rate"] * 0.85, spot_type=s.get("spot_type", "Com"),
                language=s["language"], sales_person=s["ae"], revenue_type=s.get("revenue_type", "Internal Ad Sales"),
                market=s["market"], line=line)
    cells = row.cells()
    h, m, sec = map(int, s["time_in"].split(":"))
    cells[3], cells[4], cells[6] = s["day"], dt.time(h, m, sec), dt.time(0, s["length"] // 60, s["length"] % 60)
    return cells


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web_rates")
    base = spots()[0]
    rows = [_cells(s, n) for n, s in enumerate(spots(), 1)]
    rows += [_cells(base | {"spot_type": "Com", "revenue_type": "Internal Ad Sales"} | bad, 10000 + n)
             for n, bad in enumerate(NOT_COUNTED)]
    rows += [_cells(base | {"customer": name, "month": month, "rate": 10.0}, 20000 + n)
             for n, (name, month) in enumerate(FIRST_SPOTS.items())]
    workbook = x.write(folder / "Commercial Log 261201.xlsx", {"Commercials": rows})
    import_workbook(folder / "ctvdb.db", workbook, mode="manual", auto_setup=True)
    conn = db.connect(folder / "ctvdb.db")
    conn.execute("UPDATE customers SET sector_code = 'QSR' WHERE name IN ('Jade Palace', 'Phở Hòa')")
    conn.close()
    return folder / "ctvdb.db"


def client(database, session_token, role="viewer", ae=None, now=NOW) -> Client:
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    c = Client(create_app(Config(database_path=database), now=lambda: now))
    c.set_cookie(auth_web.SESSION_COOKIE, session_token(database, role, ae))
    return c


def page(c, query: str) -> dict:
    response = c.get(f"/rates/?{query}&format=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def expected(chosen: list[dict], last_year: list[dict]) -> dict:
    rates = sorted(s["rate"] for s in chosen)
    revenue = sum(rates)
    q = statistics.quantiles(rates, n=4, method="inclusive") if len(rates) > 1 else rates * 3
    ly_spots, ly_revenue = len(last_year), sum(s["rate"] for s in last_year)
    return {"spots": len(rates), "revenue": round(revenue, 2), "average": round(revenue / len(rates), 2),
            "median": round(statistics.median(rates), 2), "p25": round(q[0], 2), "p75": round(q[2], 2),
            "per_30": round(revenue / (sum(s["length"] for s in chosen) / 30), 2),
            "rate_change": round(100 * (revenue / len(rates) - ly_revenue / ly_spots) / (ly_revenue / ly_spots), 1)
            if ly_spots else None,
            "volume_change": round(100 * (len(rates) - ly_spots) / ly_spots, 1) if ly_spots else None,
            "note": "few spots" if len(rates) < 10 else ""}


def tenure(customer: str) -> tuple[str, str]:
    """(this period's, last year's) tenure, by months from the first spot to the period's end."""
    first = FIRST_SPOTS.get(customer, 202609 if customer == "Roe Motors" else 202509)
    ages = [(end // 100 * 12 + end % 100) - (first // 100 * 12 + first % 100) for end in (202611, 202511)]
    return tuple("New" if a < 12 else "Established" if a < 36 else "Long-standing" for a in ages)


NAMES = {  # a table's row name for a spot, as a person reads it
    "language": lambda s: GROUPS[s["language"]],
    "market": lambda s: {"SFO": "San Francisco (SFO)", "HOU": "Houston (HOU)", "LAX": "Los Angeles (LAX)"}[s["market"]],
    "daypart": lambda s: TIMES[s["time_in"]],
    "day": lambda s: "Weekend" if s["day"] in ("Saturday", "Sunday") else "Weekday",
    "length": lambda s: f":{s['length']}" if s["length"] in (15, 30, 60, 120) else f"Other ({s['length']} s)",
    "revenue_type": lambda s: s["revenue_type"],
    "ae": lambda s: s["ae"].upper(),
    "sector": lambda s: "Restaurants" if s["customer"] in ("Admerasia:Jade Palace", "Phở Hòa") else "Unassigned",
    "customer": lambda s: s["customer"].rsplit(":", 1)[-1],
}


def check_tables(tables: dict, now: list[dict], before: list[dict], dims) -> None:
    for dim in dims:
        rows = {r["name"]: r for r in tables[dim]["rows"]}
        names = {NAMES[dim](s) for s in now}
        assert set(rows) == names, dim
        for name in names:
            want = expected([s for s in now if NAMES[dim](s) == name], [s for s in before if NAMES[dim](s) == name])
            got = {k: rows[name][k] for k in want}
            assert got == want, (dim, name)
        assert {k: tables[dim]["totals"][k] for k in want} == expected(now, before), dim


def test_every_table_s_figures_equal_the_workbook_rows(database, session_token):
    report = page(client(database, session_token), PERIOD)
    now = [s for s in spots() if s["month"] >= 202609]
    before = [s for s in spots() if s["month"] < 202600]
    check_tables(report["tables"], now, before, NAMES)
    rows = {r["name"]: r for r in report["tables"]["tenure"]["rows"]}
    for name in {tenure(s["customer"])[0] for s in now}:
        want = expected([s for s in now if tenure(s["customer"])[0] == name],
                        [s for s in before if tenure(s["customer"])[1] == name])
        assert {k: rows[name][k] for k in want} == want, name
    assert set(rows) == {"New", "Established", "Long-standing"}


def test_what_a_process_keeps_follows_a_merge_its_undo_and_a_month_replaced(database, session_token, private_copy):
    """The period's cuts are kept in memory between requests (by the months' stamps and who each
    bill code's customer is): each page after a change shows it at once."""
    path = private_copy(database)
    now = [s for s in spots() if s["month"] >= 202609]
    before = [s for s in spots() if s["month"] < 202600]
    dims = ("customer", "sector", "market")
    drilled = f"{PERIOD}&language=Chinese"      # read from the cube, kept the same way

    def chinese(rows):
        return [s for s in rows if GROUPS[s["language"]] == "Chinese"]

    def check(now, before):
        check_tables(page(client(path, session_token), PERIOD)["tables"], now, before, dims)
        check_tables(page(client(path, session_token), drilled)["tables"], chinese(now), chinese(before), dims)

    check(now, before)
    conn = db.connect(path)
    ids = {r["name"]: r["id"] for r in conn.execute("SELECT id, name FROM customers")}
    change = customers.merge(conn, "test@example.com", ids["Jade Palace"], [ids["State Farm"]])
    merged = {"IW Group:State Farm": "Admerasia:Jade Palace"}

    def as_merged(rows):
        return [s | {"customer": merged.get(s["customer"], s["customer"])} for s in rows]

    check(as_merged(now), as_merged(before))
    customers.undo(conn, "test@example.com", change)
    check(now, before)
    # November replaced without its Houston spots, as an import of that month would
    with db.write_transaction(conn):
        conn.execute("DELETE FROM spots WHERE broadcast_month = 202611 AND market_code = 'HOU'")
        summaries.refresh_summaries(conn, [202611])
    conn.close()
    left = [s for s in now if not (s["month"] == 202611 and s["market"] == "HOU")]
    check(left, before)


def test_a_three_level_drill_down_and_its_breadcrumb(database, session_token):
    c = client(database, session_token)
    query = f"{PERIOD}&language=Chinese&market=SFO&daypart=prime"
    report = page(c, query)

    def chosen(s):
        return GROUPS[s["language"]] == "Chinese" and s["market"] == "SFO" and TIMES[s["time_in"]] == "Prime"
    now = [s for s in spots() if s["month"] >= 202609 and chosen(s)]
    before = [s for s in spots() if s["month"] < 202600 and chosen(s)]
    assert now
    check_tables(report["tables"], now, before, ("day", "length", "revenue_type", "ae", "sector", "customer"))
    assert not {"language", "market", "daypart"} & set(report["tables"])
    # the next step of the drill-down (the customers) comes first; every row links one step further
    assert list(report["tables"])[0] == "customer"
    html = c.get(f"/rates/?{query}").get_data(as_text=True)
    assert ('<a href="/rates/?from=2026-09&amp;to=2026-11">All counted spots</a> › <a href="/rates/?from=2026-09&amp;to=2026-11&amp;'
            'language=Chinese">Language group: Chinese</a> › <a href="/rates/?from=2026-09&amp;to=2026-11&amp;language=Chinese'
            '&amp;market=SFO">Market: San Francisco (SFO)</a> › <span aria-current="page">Daypart: Prime</span>') in html
    first = report["tables"]["customer"]["rows"][0]
    assert f'<a href="/rates/?from=2026-09&amp;to=2026-11&amp;language=Chinese&amp;market=SFO&amp;daypart=prime&amp;customer=' \
           f'{first["customer_id"]}">{first["name"]}</a>' in html
    # each level opens the next: the language's rows link to its market table
    top = page(c, PERIOD)["tables"]["language"]["rows"]
    assert next(r for r in top if r["name"] == "Chinese")["href"] == "/rates/?from=2026-09&to=2026-11&language=Chinese"
    assert all(r["href"] is None for r in page(c, PERIOD)["tables"]["market"]["rows"])   # not the next step
    assert list(page(c, f"{PERIOD}&language=Chinese")["tables"])[0] == "market"


def test_few_spots_are_greyed_and_said(database, session_token):
    c = client(database, session_token)
    query = f"{PERIOD}&language=Chinese&market=SFO&daypart=prime"
    rows = page(c, query)["tables"]["length"]["rows"]
    few = [r for r in rows if r["spots"] < 10]
    assert few and all(r["note"] == "few spots" for r in few)
    html = c.get(f"/rates/?{query}").get_data(as_text=True)
    assert html.count('<tr class="few">') >= len(few)
    assert "fewer than 10 spots is greyed" in html and "not bonus (BNS)" in html


def test_zero_negative_bonus_and_trade_spots_are_not_counted(database, session_token):
    total = page(client(database, session_token), "from=2025-09&to=2025-09")["tables"]["language"]["totals"]
    assert total["spots"] == sum(1 for s in spots() if s["month"] == 202509)
    assert total["revenue"] == round(sum(s["rate"] for s in spots() if s["month"] == 202509), 2)


def test_an_empty_period_shows_no_figures(database, session_token):
    c = client(database, session_token)
    report = page(c, "from=2024-01&to=2024-03")
    assert all(not t["rows"] for t in report["tables"].values())
    html = c.get("/rates/?from=2024-01&to=2024-03").get_data(as_text=True)
    assert "Nothing to show for these filters." in html


@pytest.mark.parametrize("today, closed, period, words", [
    # the first day of a month: Tuesday Dec 1, 2026 is in broadcast December; November not closed yet
    ("2026-12-01", [202610], "month", "This month: Dec-26 (1 month); not closed yet: Dec-26"),
    ("2026-12-01", [202610], "last_month", "Last closed month: Oct-26 (1 month)"),
    ("2026-12-01", [], "last_month", "Last closed month: Nov-26 (1 month); not closed yet: Nov-26"),
    ("2026-12-01", [202610], "trailing12", "Trailing 12 closed months: Nov-25 to Oct-26 (12 months)"),
    ("2026-12-01", [202610], "qtd", "Quarter to date: Oct-26 to Dec-26 (3 months); not closed yet: Nov-26, Dec-26"),
    ("2026-12-01", [202607, 202608, 202609, 202610], "last_quarter", "Last closed quarter: Jul-26 to Sep-26"),
    # the first day of a year: Friday Jan 1, 2027 is in broadcast January 2027
    ("2027-01-01", [202612], "ytd", "Year to date: Jan-27 (1 month); not closed yet: Jan-27"),
    ("2027-01-01", [202610, 202611, 202612], "last_quarter", "Last closed quarter: Oct-26 to Dec-26 (3 months)"),
    # Monday Dec 28, 2026 is already in broadcast January (its week ends on Sunday Jan 3)
    ("2026-12-28", [], "month", "This month: Jan-27 (1 month)"),
])
def test_the_presets_on_fixed_days(database, session_token, tmp_path, private_copy, today, closed, period, words):
    path = private_copy(database)
    conn = db.connect(path)
    conn.execute("DELETE FROM month_closures")
    for month in closed:
        conn.execute("INSERT INTO month_closures VALUES (?, '2026-11-01T00:00:00Z', 'test', NULL)", (month,))
    conn.close()
    when = dt.datetime.fromisoformat(today).replace(hour=20, tzinfo=dt.timezone.utc)
    html = client(path, session_token, now=when).get(f"/rates/?period={period}").get_data(as_text=True)
    assert words in html


def test_an_ae_sees_the_card_but_not_other_aes_customers(database, session_token):
    c = client(database, session_token, role="ae", ae="Alice Nguyen")
    response = c.get(f"/rates/?{PERIOD}")
    assert response.status_code == 302 and "ae=ALICE+NGUYEN" in response.headers["Location"]
    report = page(c, f"{PERIOD}&ae=ALICE+NGUYEN")
    mine = [s for s in spots() if s["month"] >= 202609 and s["ae"] == "Alice Nguyen"]
    before = [s for s in spots() if s["month"] < 202600 and s["ae"] == "Alice Nguyen"]
    check_tables(report["tables"], mine, before, ("language", "market", "customer"))
    assert "ae" not in report["tables"]
    html = c.get(f"/rates/?{PERIOD}&ae=ALICE+NGUYEN").get_data(as_text=True)
    assert "Roe Motors" not in html and "Phở Hòa" not in html and "JOHN ROE" not in html
    # the card is over every AE's spots: Chinese in San Francisco in prime, from all four customers
    everyone = [s for s in spots() if s["month"] >= 202609 and GROUPS[s["language"]] == "Chinese"
                and s["market"] == "SFO" and TIMES[s["time_in"]] == "Prime"]
    cell = next(r for r in report["tables"]["card"]["rows"]
                if (r["language"], r["market"], r["daypart"]) == ("Chinese", "San Francisco (SFO)", "Prime"))
    assert cell["spots"] == len(everyone) and cell["average"] == round(sum(s["rate"] for s in everyone) / len(everyone), 2)
    assert {s["ae"] for s in everyone} - {"Alice Nguyen"}
    # another AE's customer by id is refused, not named
    conn = db.connect(database)
    roe = conn.execute("SELECT id FROM customers WHERE name = 'Roe Motors'").fetchone()[0]
    conn.close()
    refused = c.get(f"/rates/?{PERIOD}&ae=ALICE+NGUYEN&customer={roe}")
    assert refused.status_code == 403 and "Roe Motors" not in refused.get_data(as_text=True)
    assert c.get(f"/rates/?{PERIOD}&ae=JOHN+ROE").status_code == 403


def test_downloads_hold_the_page_s_figures(database, session_token):
    c = client(database, session_token)
    report = page(c, PERIOD)
    for name in ("market", "daypart", "card"):
        table = report["tables"][name]
        got = list(csv.reader(io.StringIO(c.get(f"/rates/?{PERIOD}&format=csv&table={name}").get_data(as_text=True)
                                         .lstrip("\ufeff"))))
        keys = [col["key"] for col in table["columns"]]
        assert got[0] == [col["label"] for col in table["columns"]]
        want = [[("" if r.get(k) is None else str(r[k])) for k in keys] for r in table["rows"]
                + ([table["totals"]] if table["totals"] else [])]
        assert got[1:] == want, name
    html = c.get(f"/rates/?{PERIOD}").get_data(as_text=True)
    daypart = {r["name"]: r for r in report["tables"]["daypart"]["rows"]}
    prime = daypart["Prime"]
    assert f'{prime["spots"]:,}' in html and f'{prime["median"]:,.2f}' in html
    # sorting keeps the drill-down filters in its links
    sorted_html = c.get(f"/rates/?{PERIOD}&language=Korean&sort=market.revenue&dir=asc").get_data(as_text=True)
    assert "language=Korean" in sorted_html.split('id="market"')[1].split("</thead>")[0]


def test_bad_arguments_are_one_sentence(database, session_token):
    c = client(database, session_token)
    for query, words in (("period=fortnight", "is not one of"), ("daypart=brunch", "is not one of"),
                         ("day=holiday", "neither weekday nor weekend"), ("length=long", "number of seconds")):
        response = c.get(f"/rates/?{query}")
        assert response.status_code == 400 and words in response.get_data(as_text=True), query


def test_the_long_tables_show_their_first_rows_and_offer_the_rest(database, session_token, monkeypatch):
    from ctvdb.web.views import rates as view

    def table_rows(html: str, table: str) -> list[str]:
        section = re.search(rf'<section class="table" id="{table}">(.*?)</section>', html, re.S).group(1)
        body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
        return [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]

    c = client(database, session_token)
    customers = [r["name"] for r in page(c, PERIOD)["tables"]["customer"]["rows"]]
    cells = page(c, PERIOD)["tables"]["card"]["rows"]
    assert len(customers) == 4 and len(cells) > 20
    # the card: the cells with the most spots first
    assert [r["spots"] for r in cells] == sorted((r["spots"] for r in cells), reverse=True)
    monkeypatch.setattr(view, "PAGE_ROWS", 2)
    html = c.get(f"/rates/?{PERIOD}").get_data(as_text=True)
    assert [row.split()[0] for row in table_rows(html, "customer")] == [n.split()[0] for n in customers[:2]]
    assert len(table_rows(html, "card")) == 2
    assert f"Show all {len(cells)}</a>" in html and "Show all 4</a>" in html and "rows=all#card" in html
    every = c.get(f"/rates/?{PERIOD}&rows=all").get_data(as_text=True)
    assert len(table_rows(every, "customer")) == 4 and len(table_rows(every, "card")) == len(cells)
    assert "Show all" not in every
    csv_rows = c.get(f"/rates/?{PERIOD}&format=csv&table=card").get_data(as_text=True).strip().splitlines()
    assert len(csv_rows) == 1 + len(cells)     # the downloads hold every row
