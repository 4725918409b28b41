"""Downloads through the WSGI app: CSV that Excel opens right (UTF-8 with a BOM, every table),
XLSX with typed cells under a block that states the report, file names that carry the filters,
and texts that look like formulas never becoming one. Expected figures come from the workbook
rows or from the rows a test wrote, never from ctvdb's own code."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date, datetime, timezone
from urllib.parse import urlencode

import openpyxl
import pytest
from werkzeug.test import Client

from ctvdb.auth_web import SESSION_COOKIE
from ctvdb.config import Config
from ctvdb.importer import import_workbook
from ctvdb.web import cache
from ctvdb.web.app import create_app
from xlsx_rows import Row, write

YEAR = 2026
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=timezone.utc)      # 12:00 PM PST
BOM = b"\xef\xbb\xbf"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REPORT_URLS = [
    f"/reports/monthly/revenue-summary?year={YEAR}",
    f"/reports/revenue-dashboard-customer?year={YEAR}&measure=net",
    f"/reports/ae-dashboard?year={YEAR}",
    f"/reports/market-analysis?year={YEAR}",
    f"/reports/sector-analysis?year={YEAR}",
    f"/reports/management-performance?year={YEAR}",
    "/reports/imports?limit=200",
    "/reports/language-review?limit=50",
]


@pytest.fixture(scope="module")
def sample(imported_sample):
    return imported_sample(rows=3000, months="Jan-25..Dec-26")


def app_client(database, session_token) -> Client:
    cache.REPORTS.clear()
    cache.FOOTER.clear()
    client = Client(create_app(Config(database_path=database), now=lambda: NOW))
    client.set_cookie(SESSION_COOKIE, session_token(database))
    return client


@pytest.fixture
def client(sample, session_token):
    return app_client(sample.database, session_token)


def get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    return response


def csv_records(response) -> list[list[str]]:
    assert response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data[len(BOM):].decode("utf-8"))))


def as_json(client, url: str) -> dict:
    return json.loads(get(client, url + ("&" if "?" in url else "?") + "format=json").data)


def workbook_book(client, url: str):
    response = get(client, url + ("&" if "?" in url else "?") + "format=xlsx")
    return openpyxl.load_workbook(io.BytesIO(response.data))


def header_row(sheet, labels: list[str]) -> int:
    return next(r[0].row for r in sheet.iter_rows() if [c.value for c in r][:len(labels)] == labels)


def expected_csv(value, kind: str) -> str:
    """What a CSV cell should read, from the JSON value: numbers as numbers, a month int as
    2026-11, a text that would start a formula behind a quote."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if kind == "month" and isinstance(value, int):
        return f"{value // 100}-{value % 100:02d}"
    return value


def year_net_by_month(workbook_rows, workbook) -> dict[int, float]:
    """Net per broadcast month of YEAR, every revenue type but Trade (DOMAIN.md §4)."""
    net = defaultdict(float)
    for raw in workbook_rows(workbook):
        if str(raw["revenue_type"] or "").strip() == "Trade" or raw["broadcast_month"].year != YEAR:
            continue
        net[raw["broadcast_month"].month] += float(raw["station_net"] or 0)
    return net


# CSV -----------------------------------------------------------------------------------------------

def test_csv_is_utf8_with_a_bom_and_holds_the_workbook_figures(client, sample, workbook_rows):
    url = f"/reports/revenue-dashboard-customer?year={YEAR}&measure=net"
    response = get(client, url + "&format=csv&table=customers")
    assert response.mimetype == "text/csv"
    records = csv_records(response)
    labels, totals = records[0], records[-1]
    net = year_net_by_month(workbook_rows, sample.workbook)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    for m, name in enumerate(months, 1):
        assert float(totals[labels.index(f"{name}-26")]) == pytest.approx(net[m], abs=0.01)
    assert float(totals[labels.index(f"Total {YEAR}")]) == pytest.approx(sum(net.values()), abs=0.01)

    data = as_json(client, url)["tables"]["customers"]
    keys = [c["key"] for c in data["columns"]]
    assert labels == [c["label"] for c in data["columns"]]
    for record, row in zip(records[1:], data["rows"] + [data["totals"]]):
        for text, key in zip(record, keys):
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(text) == pytest.approx(value), (key, text, value)
            else:
                assert text == ("" if value is None else value), key
    assert len(records) == 1 + len(data["rows"]) + 1


def test_vietnamese_and_korean_names_round_trip(client, sample, workbook_rows):
    names = ["Nguyễn Law Office", "서울 Galbi House"]
    in_year = [str(r["bill_code"]) for r in workbook_rows(sample.workbook) if r["broadcast_month"].year == YEAR]
    for name in names:
        assert any(code.split(":")[-1].strip() == name for code in in_year), name
    response = get(client, f"/reports/revenue-dashboard-customer?year={YEAR}&format=csv")
    for name in names:
        assert name.encode("utf-8") in response.data
    records = csv_records(response)
    customers = {r[records[0].index("Customer")] for r in records[1:]}
    assert set(names) <= customers


@pytest.mark.parametrize("url", REPORT_URLS + ["customer"])
def test_every_table_of_every_report_downloads_as_csv(client, url):
    if url == "customer":
        first = as_json(client, f"/reports/monthly/revenue-summary?year={YEAR}")["tables"]["top_clients"]["rows"][0]
        url = f"/reports/customer/{first['customer_id']}?year={YEAR}"
    tables = as_json(client, url)["tables"]
    assert tables
    for name, data in tables.items():
        response = get(client, url + f"&format=csv&table={name}")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment; filename=")
        assert disposition.endswith(f'-{name.replace("_", "-")}.csv"'), disposition
        records = csv_records(response)
        assert records[0] == [c["label"] for c in data["columns"]]
        everything = data["rows"] + ([data["totals"]] if data["totals"] else [])
        assert len(records) - 1 == len(everything), name
        for record, row in zip(records[1:], everything):
            for text, column in zip(record, data["columns"]):
                want = expected_csv(row.get(column["key"]), column["kind"])
                if isinstance(want, (int, float)) and not isinstance(want, bool):
                    assert float(text) == pytest.approx(want), (name, column)
                else:
                    assert text == str(want), (name, column)
    assert sum(len(t["rows"]) for t in tables.values()) > 0


def test_an_unknown_table_is_a_404_that_names_the_tables(client):
    response = client.get(f"/reports/customer/1?year={YEAR}&format=csv&table=nope")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "nope" in text
    for name in ("years", "trend", "languages", "aes", "markets", "recent_spots", "bill_codes"):
        assert name in text


# XLSX ----------------------------------------------------------------------------------------------

def excel_name(title: str) -> str:
    return " ".join(re.sub(r"[\[\]:*?/\\]", " ", title).split())[:31].rstrip()


@pytest.mark.parametrize("url", REPORT_URLS)
def test_xlsx_sheets_are_typed_frozen_filtered_and_named_by_title(client, url):
    tables = as_json(client, url)["tables"]
    book = workbook_book(client, url)
    assert book.sheetnames == [excel_name(t["title"]) for t in tables.values()]
    for name, data in tables.items():
        sheet = book[excel_name(data["title"])]
        labels = [c["label"] for c in data["columns"]]
        top = header_row(sheet, labels)
        assert sheet.freeze_panes == f"A{top + 1}"
        last = openpyxl.utils.get_column_letter(len(labels))
        assert sheet.auto_filter.ref == f"A{top}:{last}{top + max(len(data['rows']), 1)}"
        assert all(c.font.b for c in sheet[top][:len(labels)])
        for i, column in enumerate(data["columns"]):
            letter = openpyxl.utils.get_column_letter(i + 1)
            assert len(column["label"]) + 4 <= sheet.column_dimensions[letter].width <= 60
            for offset, row in enumerate(data["rows"]):
                value, cell = row.get(column["key"]), sheet.cell(top + 1 + offset, i + 1)
                if value is None:
                    assert cell.value is None
                elif column["kind"] in ("pct", "change_pct"):
                    assert cell.value == pytest.approx(value / 100) and "%" in cell.number_format
                elif column["kind"] in ("money", "change"):
                    assert cell.value == pytest.approx(value) and cell.number_format.startswith(("#,##0.00", "+#,##0.00"))
                elif column["kind"] == "month" and isinstance(value, int):
                    assert cell.value == datetime(value // 100, value % 100, 1) and cell.number_format == "mmm-yy"
                elif column["kind"] == "int":
                    assert cell.value == value and cell.number_format == "#,##0"
                elif isinstance(value, str) and column["kind"] not in ("date", "datetime"):
                    assert cell.value == (value or None)   # an empty text is an empty cell
                    assert value == "" or cell.data_type == "s"


def test_xlsx_first_block_states_the_report_its_filters_and_when(client, sample):
    import sqlite3

    batch = sqlite3.connect(sample.database).execute(
        "SELECT max(id) FROM import_batches WHERE status = 'COMPLETED'").fetchone()[0]
    ae = as_json(client, f"/reports/ae-dashboard?year={YEAR}")["tables"]["aes"]["rows"][0]["ae"]
    url = f"/reports/revenue-dashboard-customer?{urlencode({'year': YEAR, 'measure': 'net', 'ae': ae, 'q': 'a'})}"
    labels = [c["label"] for c in as_json(client, url)["tables"]["customers"]["columns"]]
    sheet = workbook_book(client, url).worksheets[0]
    assert sheet.title == f"Customers × months, {YEAR} (net)"
    assert sheet["A1"].value == "Customer revenue" and sheet["A1"].font.b
    block = {r[0].value: r[1].value for r in sheet.iter_rows(min_row=2, max_row=header_row(sheet, labels) - 1)
             if r[0].value is not None}
    assert block["Year"] == str(YEAR) and block["Measure"] == "Net"
    assert block["AE"] == ae and block["Search"] == "a"
    assert f"import batch {batch}" in block["Data version"]
    assert block["Made"] == "Wed 25 Nov 2026, 12:00 PM PST"


def test_xlsx_shares_are_fractions_shown_as_percentages(client):
    url = f"/reports/monthly/revenue-summary?year={YEAR}"
    rows = as_json(client, url)["tables"]["top_clients"]["rows"]
    sheet = workbook_book(client, url)["Top 20 clients"]
    top = header_row(sheet, ["Customer", "Agency", "Customer id", "Spots", "Gross", "Share %"])
    shares = [sheet.cell(top + 1 + i, 6) for i in range(len(rows))]
    assert all(0 < c.value <= 1 and c.number_format.endswith("%") for c in shares)
    assert sum(c.value for c in shares) <= 1.0001
    # Money is a number (Excel has one number type: openpyxl reads 215215.0 back as an int).
    money = [sheet.cell(top + 1 + i, 5) for i in range(len(rows))]
    assert [c.value for c in money] == pytest.approx([r["gross"] for r in rows])
    assert all(isinstance(c.value, (int, float)) and c.number_format.startswith("#,##0.00") for c in money)


def test_xlsx_of_a_customer_is_titled_with_its_name(client):
    top = as_json(client, f"/reports/monthly/revenue-summary?year={YEAR}")["tables"]["top_clients"]["rows"][0]
    book = workbook_book(client, f"/reports/customer/{top['customer_id']}?year={YEAR}")
    assert {s["A1"].value for s in book.worksheets} == {top["customer"]}
    assert "24-month trend" in book.sheetnames
    assert "Bill codes that map to this cus" in book.sheetnames      # 31 characters


def test_xlsx_writes_months_dates_times_and_percentages_as_excel_values(monkeypatch, client):
    """Queries are moving their months to `month` ints and their times to `datetime`: a report
    made of those kinds is checked here through the app, with a query standing in."""
    from ctvdb.web import queries
    from ctvdb.web.queries import Column, Report, Table

    def monthly_summary(conn, filters, today):
        columns = [Column("month", "Month", "month"), Column("aired", "Aired", "date"),
                   Column("loaded", "Loaded", "datetime"), Column("share", "Share %", "pct"),
                   Column("change", "Change %", "change_pct"), Column("gross", "Gross", "money")]
        rows = [{"month": 202611, "aired": "2026-11-03", "loaded": "2026-07-04T19:00:00Z",
                 "share": 12.5, "change": -3.0, "gross": -350.0},
                {"month": "Dec-26", "aired": None, "loaded": None, "share": None, "change": None, "gross": 0.0}]
        return Report("monthly_summary", {"year": YEAR}, [Table("months", "By broadcast month", columns, rows)])

    monkeypatch.setattr(queries, "monthly_summary", monthly_summary)
    sheet = workbook_book(client, f"/reports/monthly/revenue-summary?year={YEAR}").worksheets[0]
    top = header_row(sheet, ["Month", "Aired", "Loaded", "Share %", "Change %", "Gross"])
    month, aired, loaded, share, change, gross = sheet[top + 1][:6]
    assert month.value == datetime(2026, 11, 1) and month.number_format == "mmm-yy"
    assert aired.value == datetime(2026, 11, 3) and "yy" in aired.number_format
    assert loaded.value == datetime(2026, 7, 4, 12, 0) and "hh:mm" in loaded.number_format  # PDT
    assert share.value == pytest.approx(0.125) and share.number_format == "0.0%"
    assert change.value == pytest.approx(-0.03) and "%" in change.number_format
    assert gross.value == -350.0 and "-" in gross.number_format.split(";")[1]
    assert sheet.cell(top + 2, 1).value == "Dec-26"    # a text label stays text
    records = csv_records(get(client, f"/reports/monthly/revenue-summary?year={YEAR}&format=csv"))
    assert [r[0] for r in records[1:]] == ["2026-11", "Dec-26"]
    assert records[1][3] == "12.5"


# File names ----------------------------------------------------------------------------------------

def disposition_name(client, url: str) -> str:
    found = re.fullmatch(r'attachment; filename="([a-z0-9.-]+)"', get(client, url).headers["Content-Disposition"])
    assert found, url
    return found[1]


def test_file_names_carry_the_period_and_the_filters(client):
    ae = as_json(client, f"/reports/ae-dashboard?year={YEAR}")["tables"]["aes"]["rows"][0]["ae"]
    slug = re.sub(r"[^a-z0-9]+", "-", ae.lower()).strip("-")
    base = f"/reports/revenue-dashboard-customer?year={YEAR}"
    gross = disposition_name(client, base + "&format=xlsx")
    net = disposition_name(client, base + "&measure=net&format=xlsx")
    assert gross != net
    assert net == f"customer-revenue-{YEAR}-net.xlsx"
    assert disposition_name(client, base + f"&measure=net&{urlencode({'ae': ae})}&format=xlsx") == \
        f"customer-revenue-{YEAR}-net-ae-{slug}.xlsx"
    assert disposition_name(client, base + f"&{urlencode({'q': 'Phở Hòa'})}&format=csv") == \
        f"customer-revenue-{YEAR}-gross-search-pho-hoa-customers.csv"
    summary = "/reports/monthly/revenue-summary"
    assert disposition_name(client, f"{summary}?year={YEAR}&quarter=3&format=xlsx") == \
        f"monthly-summary-{YEAR}-q3-gross.xlsx"
    assert disposition_name(client, f"{summary}?from=2026-01&to=2026-03&format=xlsx") == \
        "monthly-summary-2026-01-to-2026-03-gross.xlsx"
    assert disposition_name(client, f"{summary}?year={YEAR}&market=lax&format=csv&table=top_clients") == \
        f"monthly-summary-{YEAR}-gross-market-lax-top-clients.csv"


# Formula injection ---------------------------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://x","y")'


@pytest.fixture
def hostile(tmp_path, session_token):
    """A real Commercial Log whose bill codes are a formula and an @-function, imported."""
    path = tmp_path / "Commercial Log 261124.xlsx"
    write(path, {"Commercials": [Row(bill_code=HYPERLINK, gross=100.0, net=85.0),
                                 Row(bill_code="@SUM(1)", gross=40.0, net=30.0, line=2),
                                 Row(bill_code="Admerasia:McDonald's", gross=10.0, net=8.0, line=3)]})
    book = openpyxl.load_workbook(path)
    cell = book["Commercials"]["A2"]
    cell.value, cell.data_type = HYPERLINK, "s"       # a text in the log, as a person typed it
    book.save(path)
    assert openpyxl.load_workbook(path)["Commercials"]["A2"].data_type == "s"
    database = tmp_path / "ctvdb.db"
    import_workbook(database, path, mode="manual", auto_setup=True, today=date(2026, 11, 24))
    return app_client(database, session_token)


def test_a_formula_in_a_bill_code_is_text_in_csv_and_xlsx(hostile):
    url = f"/reports/revenue-dashboard-customer?year={YEAR}"
    records = csv_records(get(hostile, url + "&format=csv"))
    cells = {c for r in records[1:] for c in r}
    assert "'@SUM(1)" in cells and "@SUM(1)" not in cells
    assert not any(c.startswith(FORMULA_START) for c in cells if c and not re.fullmatch(r"-?[\d.]+", c))

    rows = as_json(hostile, url)["tables"]["customers"]["rows"]
    hyperlink = next(r for r in rows if r["agency"] and r["agency"].startswith("="))
    detail = f"/reports/customer/{hyperlink['customer_id']}?year={YEAR}"
    codes = csv_records(get(hostile, detail + "&format=csv&table=bill_codes"))
    assert codes[1][0] == "'" + HYPERLINK

    for book_url, text in ((url, "@SUM(1)"), (detail, HYPERLINK)):
        book = workbook_book(hostile, book_url)
        found = [c for s in book.worksheets for r in s.iter_rows() for c in r if c.value == text]
        assert found, text
        assert all(c.data_type == "s" and c.quotePrefix for c in found)
    xml = get(hostile, detail + "&format=xlsx").data
    import zipfile
    with zipfile.ZipFile(io.BytesIO(xml)) as package:
        sheets = b"".join(package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in sheets and b"<f " not in sheets
