"""Rate trends (/rates/trends, issue 14): each dimension's values' spots, revenue, average rate,
rate per :30 and coefficient of variation over the 24 months ending with the period's last, each
month's average, and the top-10 share and Herfindahl index of each language group's and market's
customers over the period, against the workbook rows this module writes, computed here with
`statistics`; an ae sees only their own spots' figures and no customer; a bad dimension; the CSV."""

from __future__ import annotations

import csv
import io
import statistics

import pytest

import xlsx_rows as x
from ctvdb.importer import import_workbook
from test_web_rates import _cells, client  # the same day, and the same signed-in client

PERIOD = "from=2026-06&to=2026-11"
PERIOD_MONTHS = (202606, 202607, 202608, 202609, 202610, 202611)
WINDOW = tuple(y * 100 + m for y in (2024, 2025, 2026) for m in range(1, 13))[11:35]   # Dec-24 .. Nov-26
CUSTOMERS = tuple(f"Customer {chr(65 + i)}" for i in range(14))     # 14: the top 10 are not all
AES = ("Alice Nguyen", "Brandon Wu", "John Roe")                      # customer i's AE: AES[i % 3]
# Chinese in bulk; Vietnamese middling; Filipino, Korean and Other few a month
LANGUAGES = ("M", "M", "C", "M", "C", "V", "V", "T", "K", "Q")
GROUPS = {"M": "Chinese", "C": "Chinese", "V": "Vietnamese", "T": "Filipino", "K": "Korean", "Q": "Other"}
MARKETS = ("SFO", "HOU", "LAX")
MARKET_NAMES = {"SFO": "San Francisco (SFO)", "HOU": "Houston (HOU)", "LAX": "Los Angeles (LAX)"}
TIMES = {"06:00:00": "Early Morning", "09:00:00": "Daytime", "16:00:00": "Early Fringe",
         "19:00:00": "Prime Access", "20:00:00": "Prime", "23:30:00": "Late Fringe", "01:00:00": "Overnight"}
DAYS = ("Monday", "Saturday", "Tuesday", "Sunday", "Friday")
LENGTHS = (30, 15, 60, 30, 45, 30, 120)
RATES = (25.0, 50.0, 75.0, 120.5, 200.0, 310.25, 90.0, 400.0, 35.5, 60.0, 150.0)
# Dec-24 .. Nov-26, one month before the window (not in the trend), and a gap (Mar-25) with none
MONTHS = (202411,) + tuple(m for m in WINDOW if m != 202503)


def spots() -> list[dict]:
    out = []
    for month in MONTHS:
        for i in range(60 + (month * 7) % 20):
            c = (i * 7 + month + i // 5) % len(CUSTOMERS)
            out.append({"customer": CUSTOMERS[c], "ae": AES[c % 3], "month": month,
                        "language": LANGUAGES[(i + month) % 10], "market": MARKETS[(i // 2 + c) % 3],
                        "time_in": list(TIMES)[(i * 3 + month) % 7], "day": DAYS[i % 5],
                        "length": LENGTHS[(i + month) % 7],
                        # later customers pay more, so the shares are unequal
                        "rate": RATES[(i * 3 + month) % 11] + 5.0 * c,
                        "revenue_type": "Internal Ad Sales" if i % 4 else "Direct Response Sales"})
    return out


NOT_COUNTED = [dict(rate=0.0), dict(rate=60.0, spot_type="BNS"), dict(rate=500.0, revenue_type="Trade")]


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    folder = tmp_path_factory.mktemp("web_rates_trends")
    base = spots()[-1]
    rows = [_cells(s, n) for n, s in enumerate(spots(), 1)]
    rows += [_cells(base | bad, 10000 + n) for n, bad in enumerate(NOT_COUNTED)]
    workbook = x.write(folder / "Commercial Log 261201.xlsx", {"Commercials": rows})
    import_workbook(folder / "ctvdb.db", workbook, mode="manual", auto_setup=True)
    return folder / "ctvdb.db"


def page(c, query: str) -> dict:
    response = c.get(f"/rates/trends?{query}&format=json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


# A value's name on the page, said here apart from ctvdb
NAMES = {
    "language": lambda s: GROUPS[s["language"]],
    "market": lambda s: MARKET_NAMES[s["market"]],
    "daypart": lambda s: TIMES[s["time_in"]],
    "day": lambda s: "Weekend" if s["day"] in ("Saturday", "Sunday") else "Weekday",
    "length": lambda s: f":{s['length']}" if s["length"] in (15, 30, 60, 120) else f"Other ({s['length']} s)",
    "revenue_type": lambda s: s["revenue_type"],
    "ae": lambda s: s["ae"].upper(),
}


def trend(chosen: list[dict]) -> dict:
    """The 24 months' figures of `chosen`, and the CV of its monthly average rates."""
    revenue = sum(s["rate"] for s in chosen)
    monthly = [statistics.mean(s["rate"] for s in chosen if s["month"] == m) for m in WINDOW
               if any(s["month"] == m for s in chosen)]
    return {"spots": len(chosen), "revenue": round(revenue, 2), "average": round(revenue / len(chosen), 2),
            "per_30": round(revenue / (sum(s["length"] for s in chosen) / 30), 2), "months": len(monthly),
            "cv": round(100 * statistics.pstdev(monthly) / statistics.mean(monthly), 1),
            "note": "few spots" if len(chosen) < 10 else ""}


def month_figures(chosen: list[dict]) -> dict:
    revenue = sum(s["rate"] for s in chosen)
    return {"spots": len(chosen), "revenue": round(revenue, 2), "average": round(revenue / len(chosen), 2),
            "per_30": round(revenue / (sum(s["length"] for s in chosen) / 30), 2),
            "note": "few spots" if len(chosen) < 10 else ""}


def concentration(chosen: list[dict]) -> dict:
    by_customer: dict = {}
    for s in chosen:
        by_customer[s["customer"]] = by_customer.get(s["customer"], 0) + s["rate"]
    total = sum(by_customer.values())
    shares = sorted((100 * v / total for v in by_customer.values()), reverse=True)
    return {"customers": len(shares), "revenue": round(total, 2), "top_share": round(sum(shares[:10]), 1),
            "hhi": round(sum(s * s for s in shares))}


def check_values(report: dict, rows: list[dict], dimension: str) -> None:
    window = [s for s in rows if s["month"] in WINDOW]
    got = {r["name"]: r for r in report["tables"]["values"]["rows"]}
    names = {NAMES[dimension](s) for s in window}
    assert set(got) == names, dimension
    for name in names:
        want = trend([s for s in window if NAMES[dimension](s) == name])
        assert {k: got[name][k] for k in want} == want, (dimension, name)
    totals, want = report["tables"]["values"]["totals"], trend(window)
    assert {k: totals[k] for k in want} == want


def check_concentration(report: dict, rows: list[dict]) -> None:
    period = [s for s in rows if s["month"] in PERIOD_MONTHS]
    for table, name in (("language_concentration", NAMES["language"]), ("market_concentration", NAMES["market"])):
        got = {r["name"]: r for r in report["tables"][table]["rows"]}
        assert set(got) == {name(s) for s in period}, table
        for value in got:
            want = concentration([s for s in period if name(s) == value])
            assert {k: got[value][k] for k in want} == want, (table, value)
        assert {k: report["tables"][table]["totals"][k] for k in want} == concentration(period)


@pytest.mark.parametrize("dimension", sorted(NAMES))
def test_each_dimension_s_trend_equals_the_workbook_rows(database, session_token, dimension):
    report = page(client(database, session_token), f"{PERIOD}&dimension={dimension}")
    check_values(report, spots(), dimension)


def test_the_default_is_by_language_group_with_each_month_and_the_concentration(database, session_token):
    report = page(client(database, session_token), PERIOD)
    assert report["filters"]["dimension"] == "language"
    check_values(report, spots(), "language")
    months = report["tables"]["months"]["rows"]
    window = [s for s in spots() if s["month"] in WINDOW]
    keys = {(GROUPS[s["language"]], s["month"]) for s in window}
    assert {(r["name"], r["broadcast_month"]) for r in months} == keys
    assert 202411 not in {r["broadcast_month"] for r in months} and 202503 not in {r["broadcast_month"] for r in months}
    for r in months:
        want = month_figures([s for s in window if (GROUPS[s["language"]], s["month"]) == (r["name"], r["broadcast_month"])])
        assert {k: r[k] for k in want} == want, (r["name"], r["broadcast_month"])
    check_concentration(report, spots())
    # the 14 customers are spread so that the top 10 do not hold everything
    assert 0 < report["tables"]["language_concentration"]["totals"]["top_share"] < 100


def test_few_spots_are_greyed_and_said(database, session_token):
    c = client(database, session_token)
    months = page(c, PERIOD)["tables"]["months"]["rows"]
    few = [r for r in months if r["spots"] < 10]
    assert few and len(few) < len(months) and all(r["note"] == "few spots" for r in few)
    html = c.get(f"/rates/trends?{PERIOD}&rows=all").get_data(as_text=True)   # every month's row
    assert html.count('<tr class="few">') >= len(few)
    assert len(months) > 100 and f"Show all {len(months)}</a>" in c.get(f"/rates/trends?{PERIOD}").get_data(as_text=True)
    assert "population standard deviation" in html and "not bonus (BNS)" in html and "10,000" in html


def test_an_ae_sees_only_their_own_spots_figures(database, session_token):
    c = client(database, session_token, role="ae", ae="Alice Nguyen")
    response = c.get(f"/rates/trends?{PERIOD}")
    assert response.status_code == 302 and "ae=ALICE+NGUYEN" in response.headers["Location"]
    mine = [s for s in spots() if s["ae"] == "Alice Nguyen"]
    for dimension in ("language", "market", "length"):
        report = page(c, f"{PERIOD}&ae=ALICE+NGUYEN&dimension={dimension}")
        check_values(report, mine, dimension)
    check_concentration(report, mine)
    html = c.get(f"/rates/trends?{PERIOD}&ae=ALICE+NGUYEN").get_data(as_text=True)
    assert not any(name in html for name in CUSTOMERS) and "JOHN ROE" not in html and "BRANDON WU" not in html
    assert c.get(f"/rates/trends?{PERIOD}&ae=JOHN+ROE").status_code == 403


def test_a_bad_dimension_is_one_sentence(database, session_token):
    response = client(database, session_token).get("/rates/trends?dimension=customer")
    assert response.status_code == 400
    assert "The dimension “customer” is not one of: language, market, daypart" in response.get_data(as_text=True)


def test_the_csv_holds_the_page_s_figures_and_the_names_link_to_the_overview(database, session_token):
    c = client(database, session_token)
    report = page(c, PERIOD)
    for name in ("values", "months", "language_concentration", "market_concentration"):
        table = report["tables"][name]
        got = list(csv.reader(io.StringIO(c.get(f"/rates/trends?{PERIOD}&format=csv&table={name}")
                                          .get_data(as_text=True).lstrip("\ufeff"))))
        keys = [col["key"] for col in table["columns"]]
        assert got[0] == [col["label"] for col in table["columns"]]
        want = [[("" if r.get(k) is None else str(r[k])) for k in keys] for r in table["rows"]
                + ([table["totals"]] if table["totals"] else [])]
        assert got[1:] == want, name
    html = c.get(f"/rates/trends?{PERIOD}").get_data(as_text=True)
    assert '<a href="/rates/?from=2026-06&amp;to=2026-11&amp;language=Chinese">Chinese</a>' in html
    assert '<a href="/rates/?from=2026-06&amp;to=2026-11&amp;market=SFO">San Francisco (SFO)</a>' in html
    assert '<a href="/rates/trends">Trends</a>' in c.get(f"/rates/?{PERIOD}").get_data(as_text=True)
