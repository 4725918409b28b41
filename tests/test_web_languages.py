"""The language pages (ctvdb/web/queries/languages.py): language & market analysis with bonus
spots and their spot value, market names, and the review queue in words. Expected figures come
from the rows each test writes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest

from ctvdb.config import Config
from ctvdb.importer import import_workbook
from ctvdb.web import cache
from ctvdb.web.app import create_app
from test_web_app import NOW, PageTables, money, signed_in
from xlsx_rows import Row, write

NOV = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class Valued(Row):
    """A row whose Spot Value (column 17) differs from its gross, as a bonus spot's does."""

    value: float | None = None

    def cells(self) -> list:
        cells = super().cells()
        cells[17] = self.value
        return cells


# (language, market, spot type, gross, spot value): Internal Ad Sales unless said otherwise.
SPOTS = [
    ("M", "SEA", "Com", 300.0, 300.0), ("C", "LAX", "Com", 200.0, 200.0),
    ("M", "SEA", "BNS", 0.0, 150.0), ("M/C", "LAX", "BNS", 0.0, 75.0),
    ("E", "SEA", "Com", 120.0, 120.0), ("EN", "SEA", "Com", 80.0, 80.0), ("ENG", "LAX", "BNS", 0.0, 40.0),
    ("V", "SFO", "BNS", 0.0, 60.0),
]


def rows(spots, **fields) -> list[Valued]:
    return [Valued(bill_code="Golden Dragon", language=lang, market=market, spot_type=kind, gross=gross,
                   net=gross * 0.85, value=value, line=n, **fields)
            for n, (lang, market, kind, gross, value) in enumerate(spots)]


def app_for(folder, workbook_rows, session_token, role="viewer"):
    write(folder / "log.xlsx", {"Commercials": workbook_rows})
    import_workbook(folder / "ctvdb.db", folder / "log.xlsx", mode="manual", auto_setup=True)
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    app = create_app(Config(database_path=folder / "ctvdb.db"), now=lambda: NOW)
    return signed_in(app, session_token(folder / "ctvdb.db", role=role))


@pytest.fixture(scope="module")
def client(tmp_path_factory, session_token):
    # A Trade bonus spot and a Direct Response one are not Internal Ad Sales: never counted here.
    extra = [Valued(language="M", spot_type="BNS", gross=0.0, value=999.0, revenue_type="Trade", line=90),
             Valued(language="M", spot_type="BNS", gross=0.0, value=888.0, revenue_type="Direct Response Sales",
                    line=91)]
    return app_for(tmp_path_factory.mktemp("languages"), rows(SPOTS) + extra, session_token)


def group_of(code: str) -> str:
    return {"M": "Chinese", "C": "Chinese", "M/C": "Chinese", "E": "English", "EN": "English",
            "ENG": "English", "V": "Vietnamese"}[code]


def test_bonus_spots_show_their_spot_value_not_a_bonus_gross(client):
    html = client.get("/reports/market-analysis?year=2026").get_data(as_text=True)
    page = PageTables(html)
    head = page.tables["language_groups"]["head"]
    assert "Bonus gross" not in head and "Paid gross" not in head
    groups = {r["Language group"]: r for r in page.records("language_groups")}
    for group in ("Chinese", "English", "Vietnamese"):
        mine = [s for s in SPOTS if group_of(s[0]) == group]
        assert groups[group]["Gross"] == money(sum(s[3] for s in mine))
        assert groups[group]["Bonus spots"] == str(sum(1 for s in mine if s[2] == "BNS"))
        assert groups[group]["Bonus spot value"] == money(sum(s[4] for s in mine if s[2] == "BNS"))
    assert page.totals("language_groups")["Bonus spot value"] == money(150 + 75 + 40 + 60)
    assert "<dt>Bonus spot value</dt><dd>$325.00</dd>" in html


def test_a_language_group_lists_its_codes(client):
    data = json.loads(client.get("/reports/market-analysis?year=2026&format=json").data)
    codes = {r["group"]: r["codes"] for r in data["tables"]["language_groups"]["rows"]}
    assert codes == {"Chinese": "M 2, C 1, M/C 1",
                     "English": "E 1, EN 1, ENG 1", "Vietnamese": "V 1"}


def test_market_columns_are_headed_by_name_and_code(client):
    page = PageTables(client.get("/reports/market-analysis?year=2026").get_data(as_text=True))
    assert page.tables["language_market"]["head"] == [
        "Language group", "Los Angeles (LAX)", "San Francisco (SFO)", "Seattle (SEA)", "Total"]
    chinese = {r["Language group"]: r for r in page.records("language_market")}["Chinese"]
    assert chinese["Seattle (SEA)"] == money(300.0) and chinese["Los Angeles (LAX)"] == money(200.0)


def test_a_new_import_keeps_the_spot_value_right(tmp_path, session_token):
    folder = tmp_path
    first = app_for(folder, rows(SPOTS), session_token)
    assert "<dt>Bonus spot value</dt><dd>$325.00</dd>" in first.get("/reports/market-analysis?year=2026").text
    again = [("M", "SEA", "BNS", 0.0, 500.0), ("K", "SEA", "BNS", 0.0, 25.0)]   # Nov-26 replaced
    client = app_for(folder, rows(again), session_token)
    page = PageTables(client.get("/reports/market-analysis?year=2026").text)
    groups = {r["Language group"]: r for r in page.records("language_groups")}
    assert set(groups) == {"Chinese", "Korean"}
    assert groups["Chinese"]["Bonus spot value"] == money(500.0)
    assert groups["Korean"]["Bonus spot value"] == money(25.0)


# The review queue in words ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def review(tmp_path_factory, session_token):
    # `L` on a bonus spot: language not yet known; `Q`: no such code (DOMAIN §4).
    spots = [("L", "SEA", "BNS", 0.0, 100.0), ("L", "SEA", "BNS", 0.0, 100.0), ("Q", "SEA", "Com", 1500.0, 1500.0),
             ("M", "SEA", "Com", 100.0, 100.0)]
    return app_for(tmp_path_factory.mktemp("review"), rows(spots), session_token)


def test_review_statuses_are_plain_words(review):
    html = review.get("/reports/language-review").get_data(as_text=True)
    page = PageTables(html)
    counts = {r["Status"]: r["Spots"] for r in page.records("counts")}
    assert counts == {"Language not yet known": "2", "Unknown language code": "1"}
    queue = page.records("spots")
    assert [r["Status"] for r in queue] == ["Unknown language code", "Language not yet known", "Language not yet known"]
    assert {r["Category"] for r in queue} == {"Needs a language"}
    for code in ("undetermined", "invalid", "language_assignment"):
        assert f">{code}<" not in html
    assert '<option value="invalid">Unknown language code</option>' in html


def test_the_status_filter_still_takes_the_status(review):
    page = PageTables(review.get("/reports/language-review?status=invalid").get_data(as_text=True))
    assert [r["Code"] for r in page.records("spots")] == ["Q"]
