"""Tiny Commercial Logs for the import tests, written with openpyxl from rows the test controls.

The expected figures in a test come from these rows (plain Python sums), never from ctvdb code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import openpyxl

HEADER = [
    "Bill Code", "Start Date", "End Date", "Day(s)", "Time In", "Time Out", "Length",
    "Media/Name/Program", "Comments", "Language", "Format", "Units-Spot count", "Line", "Type",
    "Agency/Episode# or cut number", "Unit rate Gross", "Make Good", "Spot Value", "Month",
    "Broker Fees", "Sales/rep com: revenue sharing", "Station Net", "Sales Person",
    "Revenue Type", "Billing Type", "Agency?", "Affidavit?", "Notarize?", "Market",
]


@dataclass(frozen=True)
class Row:
    bill_code: str = "Admerasia:McDonald's"
    air_date: object = dt.date(2026, 11, 3)
    month: object = dt.date(2026, 11, 1)
    gross: object = 100.0
    net: object = 85.0
    spot_type: str = "Com"
    language: str = "M"
    sales_person: str = "Alice Nguyen"
    revenue_type: str = "Internal Ad Sales"
    market: str = "SFO"
    line: int = 1

    def cells(self) -> list:
        air = self.air_date
        return [
            self.bill_code, air, air, "Tuesday", dt.time(6, 0), dt.time(7, 0),
            dt.time(0, 0, 30), "Morning News", "aired 06:12", self.language, "News", 1,
            self.line, self.spot_type, "EST-1", self.gross, None, self.gross, self.month,
            0.0, 1, self.net, self.sales_person, self.revenue_type, "Broadcast", "Agency", "Y",
            1001, self.market,
        ]

    def with_(self, **changes) -> "Row":
        return replace(self, **changes)


def write(path, sheets: dict[str, list], header=HEADER, month_format="mmm-yy"):
    """Write {sheet name: [Row or raw list or None (blank row)]} with openpyxl."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(list(header))
        for row in rows:
            if row is None:
                sheet.append([])
                continue
            cells = row.cells() if isinstance(row, Row) else list(row)
            sheet.append(cells)
            if isinstance(row, Row) and isinstance(row.month, dt.date):
                sheet.cell(sheet.max_row, 19).number_format = month_format
    book.save(path)
    return path


def month_rows(month: dt.date, count: int, **fields) -> list[Row]:
    """`count` rows in one broadcast month with varied gross, customers and AEs."""
    customers = ["Admerasia:McDonald's", "IW Group:State Farm", "Phở Hòa", "WorldLink:Tempur Sealy"]
    aes = ["Alice Nguyen", "Brandon Wu", "House"]
    rows = []
    for i in range(count):
        air = month + dt.timedelta(days=i % 25)
        rows.append(Row(
            bill_code=customers[i % len(customers)], air_date=air, month=month,
            gross=float(50 + (i * 37) % 900), net=float(40 + (i * 37) % 900 * 0.85),
            sales_person=aes[i % len(aes)], line=i + 1, **fields))
    return rows


def rewrite(source, target, changes: dict):
    """Copy an xlsx with some members changed: {member: new bytes, or a function of the old
    bytes, or None to leave it out}. For the hostile workbooks, made by the tests, a few KB each."""
    import zipfile

    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename in changes:
                change = changes[item.filename]
                if change is None:
                    continue
                data = change(data) if callable(change) else change
            new.writestr(item.filename, data, compresslevel=9)
    return target


def set_dimension(ref: str | None):
    """A change for `rewrite`: the sheet's <dimension> set to `ref`, or removed (None)."""
    import re

    def change(xml: bytes) -> bytes:
        new = b"" if ref is None else b'<dimension ref="%s"/>' % ref.encode()
        return re.sub(rb'<dimension ref="[^"]*" ?/>', new, xml, count=1)
    return change


def with_cell(path, coordinate: str, month: dt.date = dt.date(2026, 11, 1)):
    """A 20-row Commercial Log written by openpyxl with one more value at `coordinate` (a cell
    far right or below, for the workbooks that claim too much)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Commercials"
    sheet.append(HEADER)
    for row in month_rows(month, 20):
        sheet.append(row.cells())
    sheet[coordinate] = "x"
    book.save(path)
    return path
