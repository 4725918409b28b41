"""The import history page (ctvdb/web/queries/operations.py, imports.html): months as ranges."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import pytest
from werkzeug.test import Client

from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.config import Config
from ctvdb.importer import import_workbook
from ctvdb.web import cache
from ctvdb.web.app import create_app
from test_web_app import PageTables
from xlsx_rows import Row, write

TODAY = dt.date(2026, 11, 15)            # a daily import then keeps Oct-26, the previous month
NOW = dt.datetime(2026, 11, 15, 20, 0, tzinfo=dt.timezone.utc)


def one_row_a_month(months: list[tuple[int, int]]) -> list[Row]:
    return [Row(month=dt.date(y, m, 1), air_date=dt.date(y, m, 3), line=i + 1) for i, (y, m) in enumerate(months)]


FOUR_YEARS = [(y, m) for y in range(2023, 2027) for m in range(1, 13)]      # Jan-23..Dec-26, 48 months


@pytest.fixture(scope="module")
def history(tmp_path_factory, session_token):
    """Four real imports, newest first on the page: (page, csv rows, json rows)."""
    folder = tmp_path_factory.mktemp("imports")
    database = folder / "ctvdb.db"

    def load(name, months, **options):
        write(folder / name, {"Commercials": one_row_a_month(months)})
        import_workbook(database, folder / name, auto_setup=True, today=TODAY, **options)

    load("all.xlsx", FOUR_YEARS, mode="manual")                                            # batch 1
    load("gap.xlsx", [(2025, 1), (2025, 2), (2025, 3), (2025, 6)], mode="manual")          # batch 2
    load("close.xlsx", FOUR_YEARS[:24], mode="historical", closed_by="accounting")         # batch 3
    load("daily.xlsx", FOUR_YEARS, mode="daily")                                           # batch 4

    cache.REPORTS.clear()
    client = Client(create_app(Config(database_path=database), now=lambda: NOW))
    client.set_cookie(SESSION_COOKIE, session_token(database))
    page = client.get("/reports/imports")
    assert page.status_code == 200, page.get_data(as_text=True)[:2000]
    downloaded = list(csv.DictReader(io.StringIO(client.get("/reports/imports?format=csv").get_data(as_text=True))))
    as_json = json.loads(client.get("/reports/imports?format=json").get_data(as_text=True))
    # A batch's second row (who closed it, its error) has an empty first cell.
    batches = [r for r in PageTables(page.get_data(as_text=True)).records("batches") if r["Batch"]]
    return batches, downloaded, as_json


def test_48_contiguous_months_are_one_range_on_the_page_and_in_downloads(history):
    page, downloaded, as_json = history
    assert [r["Batch"] for r in page] == ["4", "3", "2", "1"]
    assert page[3]["Months replaced"] == downloaded[3]["Months replaced"] == "Jan-23..Dec-26"
    assert as_json["tables"]["batches"]["rows"][3]["months_replaced"] == "Jan-23..Dec-26"
    assert page[1]["Months replaced"] == "Jan-23..Dec-24"


def test_a_gap_starts_a_new_range(history):
    page, downloaded, _ = history
    assert page[2]["Months replaced"] == downloaded[2]["Months replaced"] == "Jan-25..Mar-25, Jun-25"


def test_protected_months_are_ranges_with_their_reason(history):
    page, downloaded, _ = history
    # Daily import over Jan-23..Dec-26 after Jan-23..Dec-24 were closed, on 15 Nov 2026.
    assert page[0]["Months replaced"] == downloaded[0]["Months replaced"] == "Jan-25..Sep-26, Nov-26..Dec-26"
    assert page[0]["Months protected"] == downloaded[0]["Months protected"] == (
        "Jan-23..Dec-24 (closed), Oct-26 (previous month is frozen once a new month has begun)")
    assert page[3]["Months protected"] == downloaded[3]["Months protected"] == ""


def test_started_and_finished_are_datetimes_shown_in_pacific_time(history):
    page, downloaded, as_json = history
    kinds = {c["key"]: c["kind"] for c in as_json["tables"]["batches"]["columns"]}
    assert kinds["started_at"] == kinds["finished_at"] == "datetime"
    assert re.search(r"\d{4}, \d{1,2}:\d{2} (AM|PM) P[SD]T$", page[0]["Finished"])
    assert downloaded[0]["Finished"].endswith("Z")                  # downloads keep the UTC timestamp
