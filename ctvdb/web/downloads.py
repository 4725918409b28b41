"""CSV, XLSX and JSON versions of a report: the same `Table`s the page shows.

CSV holds one table (the first, or the one named by `?table=`); XLSX holds every table, one sheet
each; JSON holds every table with the filters that produced it. Money stays a number everywhere.
"""

from __future__ import annotations

import csv
import io
import json

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from werkzeug.exceptions import NotFound

from ctvdb.web.queries import Report, Table

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_NUMBER_FORMATS = {"money": "#,##0.00", "int": "#,##0", "pct": "0.0"}


def _records(table: Table) -> list[list]:
    rows = [[row.get(c.key) for c in table.columns] for row in table.rows]
    if table.totals:
        rows.append([table.totals.get(c.key) for c in table.columns])
    return rows


def to_csv(report: Report, table_name: str | None) -> bytes:
    try:
        table = report.table(table_name) if table_name else report.tables[0]
    except StopIteration:
        names = ", ".join(t.name for t in report.tables)
        raise NotFound(f"This report has no table “{table_name}”; it has {names}.") from None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in table.columns])
    writer.writerows(_records(table))
    return out.getvalue().encode("utf-8")


def _cell(sheet, value, number_format: str | None):
    if number_format is None or not isinstance(value, (int, float)):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def to_xlsx(report: Report) -> bytes:
    book = Workbook(write_only=True)
    for table in report.tables:
        sheet = book.create_sheet(table.name[:31])
        sheet.append([c.label for c in table.columns])
        formats = [_NUMBER_FORMATS.get(c.kind) for c in table.columns]
        for record in _records(table):
            sheet.append([_cell(sheet, v, f) for v, f in zip(record, formats)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_json(report: Report, data_version: tuple) -> bytes:
    return json.dumps({
        "report": report.name,
        "filters": report.filters,
        "data_version": list(data_version),
        "tables": {
            t.name: {"title": t.title,
                     "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in t.columns],
                     "rows": t.rows, "totals": t.totals}
            for t in report.tables
        },
    }, default=str).encode("utf-8")


def filename(report: Report, fmt: str) -> str:
    year = report.filters.get("year")
    return f"{report.name}{'-' + str(year) if year else ''}.{fmt}"
