"""CSV, XLSX and JSON versions of a report: the same `Table`s the page shows.

CSV holds one table (the first, or the one named by `?table=`), in UTF-8 with a byte-order mark:
without it Excel reads the file as Windows-1252 and shows "Nguyá»…n" for Nguyễn. XLSX holds every
table, one sheet each, under a block saying what the report is, its filters and when it was made;
its cells are typed (months and dates are dates, percentages percentages, money numbers). JSON
holds every table with the filters that produced it.

A text Excel would take for a formula (=, +, -, @, tab or CR first) never becomes one: a bill code
is whatever a person typed into the Commercial Log.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from datetime import date, datetime, timezone

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from werkzeug.exceptions import NotFound

from ctvdb.web.queries import Report, Table, describe

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Excel number formats by column kind. Negatives carry a minus and show red.
_FORMATS = {
    "money": "#,##0.00;[Red]-#,##0.00",
    "change": "+#,##0.00;[Red]-#,##0.00;0.00",
    "int": "#,##0",
    "pct": "0.0%",
    "change_pct": "+0.0%;[Red]-0.0%;0.0%",
    "month": "mmm-yy",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
_WIDEST = 60            # characters: a long error text or bill code wraps nothing, it is cut off
_BOLD = Font(bold=True)


def _table(report: Report, name: str | None) -> Table:
    if not name:
        return report.tables[0]
    try:
        return report.table(name)
    except StopIteration:
        names = ", ".join(t.name for t in report.tables)
        raise NotFound(f"This report has no table “{name}”; its tables are {names}.") from None


def _records(table: Table) -> list[dict]:
    return table.rows + ([table.totals] if table.totals else [])


# CSV ---------------------------------------------------------------------------------------------

def _csv_value(value, kind: str):
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if kind == "month" and isinstance(value, int):
        # 2026-11, not Nov-26: Excel opens "Nov-26" as 26 November of this year, "2026-11" as
        # 1 November 2026; and as text it sorts in time order.
        return f"{value // 100}-{value % 100:02d}"
    return value  # numbers stay numbers; None is an empty cell


def to_csv(report: Report, table_name: str | None) -> bytes:
    table = _table(report, table_name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_value(c.label, "text") for c in table.columns])
    for record in _records(table):
        writer.writerow([_csv_value(record.get(c.key), c.kind) for c in table.columns])
    return out.getvalue().encode("utf-8-sig")


# XLSX --------------------------------------------------------------------------------------------

def _typed(value, kind: str, tz):
    """(the value Excel should hold, its number format) for a value of a column kind. A text that
    is not what its kind expects (a 'Nov-26' label, a 'Total') stays text."""
    if isinstance(value, bool) or value is None:
        return value, None
    if kind == "month" and isinstance(value, int):
        return datetime(value // 100, value % 100, 1), _FORMATS["month"]
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value), _FORMATS["date"]
        except ValueError:
            return value, None
    if kind == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value, None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.astimezone(tz).replace(tzinfo=None), _FORMATS["datetime"]
    if isinstance(value, (int, float)):
        if kind in ("pct", "change_pct"):
            return value / 100, _FORMATS[kind]
        return value, _FORMATS.get(kind)
    return value, None


def _cell(sheet, value, number_format: str | None = None, bold: bool = False):
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # openpyxl writes a str starting with "=" as a formula; Excel re-reads any of the others
        # as one when a person edits the cell, unless it carries the quote prefix.
        cell.data_type = "s"
        cell.quotePrefix = value.startswith(_FORMULA_START)
    if number_format:
        cell.number_format = number_format
    if bold:
        cell.font = _BOLD
    return cell


def _shown_length(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "month" and isinstance(value, int):
        return 6
    if kind in ("money", "change") and isinstance(value, (int, float)):
        return len(f"{value:+,.2f}")
    if kind == "int" and isinstance(value, (int, float)):
        return len(f"{value:,}")
    if kind in ("pct", "change_pct") and isinstance(value, (int, float)):
        return len(f"{value:+.1f}%")
    if kind == "datetime":
        return 16
    return len(str(value))


_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def sheet_name(title: str, fallback: str, taken: set[str]) -> str:
    """A sheet name a person reads: the table's title without the characters Excel refuses,
    at most 31 characters, unique (Excel compares them ignoring case)."""
    name = " ".join(_NOT_IN_SHEET_NAMES.sub(" ", title).split()).strip("'")[:31].rstrip()
    name = name or fallback[:31]
    base, n = name, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
    taken.add(name.lower())
    return name


def _version_text(version) -> str:
    if isinstance(version, (tuple, list)) and len(version) == 5:   # v16: and the planning history's newest row
        return f"{_version_text(version[:4])}, plan change {version[4]}"
    if isinstance(version, (tuple, list)) and len(version) == 4:
        batch, load, closed, change = version
        return f"import batch {batch}, reference load {load}, {closed} months closed, change {change}"
    return str(version)


def _heading(sheet, report: Report, table: Table, about: dict) -> list[list]:
    """The first block of a sheet: what it is, the filters, the data it was made from and when."""
    title = _cell(sheet, about["title"])
    title.font = Font(bold=True, size=14)
    facts = describe(report) + [("Data version", _version_text(about["data_version"])),
                                ("Made", about["made"])]
    if any(c.kind == "datetime" for c in table.columns):
        facts.append(("Times", f"Pacific ({about['tz'].key})"))
    return ([[title], [_cell(sheet, table.title, bold=True)]]
            + [[_cell(sheet, label, bold=True), _cell(sheet, text)] for label, text in facts] + [[]])


def _write_sheet(book: Workbook, report: Report, table: Table, about: dict, taken: set[str]) -> None:
    sheet = book.create_sheet(sheet_name(table.title, table.name, taken))
    heading = _heading(sheet, report, table, about)
    header_row = len(heading) + 1
    records = _records(table)
    # A write-only sheet takes its widths and frozen pane before its first row.
    for i, c in enumerate(table.columns, 1):
        longest = max([_shown_length(r.get(c.key), c.kind) for r in records], default=0)
        # The header also holds the filter's drop-down button: two characters more.
        width = max(len(c.label) + 4, longest + 2)
        sheet.column_dimensions[get_column_letter(i)].width = min(width, _WIDEST)
    sheet.column_dimensions["A"].width = max(sheet.column_dimensions["A"].width, 14)  # "Data version"
    sheet.freeze_panes = f"A{header_row + 1}"

    for line in heading:
        sheet.append(line)
    sheet.append([_cell(sheet, c.label, bold=True) for c in table.columns])
    tz = about["tz"]
    for row in table.rows:
        sheet.append([_cell(sheet, *_typed(row.get(c.key), c.kind, tz)) for c in table.columns])
    last = get_column_letter(max(len(table.columns), 1))
    # The filter covers the header and the rows, not the totals under them: sorting must not
    # move the totals in among the rows.
    sheet.auto_filter.ref = f"A{header_row}:{last}{header_row + max(len(table.rows), 1)}"
    if table.totals:
        sheet.append([_cell(sheet, *_typed(table.totals.get(c.key), c.kind, tz), bold=True)
                      for c in table.columns])


def to_xlsx(report: Report, about: dict) -> bytes:
    """`about`: the report's title, the data version, when it was made (Pacific text) and the
    time zone (`tz`) timestamps are shown in."""
    book = Workbook(write_only=True)
    taken: set[str] = set()
    for table in report.tables:
        _write_sheet(book, report, table, about, taken)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# JSON --------------------------------------------------------------------------------------------

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


# File names --------------------------------------------------------------------------------------

# Letters NFKD does not take apart into an ASCII letter and an accent.
_FOLD = str.maketrans({"đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss",
                       "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"})


def _slug(text) -> str:
    folded = unicodedata.normalize("NFKD", str(text).translate(_FOLD)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")


def _period(filters: dict) -> str | None:
    """2026, 2026-q3, 2026-11 or 2026-01-to-2026-03: the months the report covers, as asked."""
    first, last = filters.get("first_month"), filters.get("last_month")
    if not (first and last):
        return str(filters["year"]) if filters.get("year") else None
    if filters.get("quarter") and not (filters.get("from_month") or filters.get("to_month")):
        return f"{first // 100}-q{filters['quarter']}"
    if first // 100 == last // 100 and first % 100 == 1 and last % 100 == 12:
        return str(first // 100)
    if first == last:
        return f"{first // 100}-{first % 100:02d}"
    return f"{first // 100}-{first % 100:02d}-to-{last // 100}-{last % 100:02d}"


def filename(report: Report, fmt: str, table_name: str | None = None) -> str:
    """customer-revenue-2026-net-ae-carmen-reyes.xlsx: the report, its period and its filters,
    in lower-case ASCII and dashes (safe in a Content-Disposition header). A CSV holds one
    table, so it ends with that table's name."""
    f = report.filters
    parts = [report.name]
    if report.name == "customer_detail":
        customer = report.extra.get("customer", {})
        parts += [customer.get("id"), customer.get("name")]
    parts += [_period(f), f.get("measure")]
    for key, prefix in (("ae", "ae"), ("revenue_type", "type"), ("market", "market"),
                        ("sector", "sector"), ("q", "search"), ("status", "status")):
        if f.get(key):
            parts.append(f"{prefix} {'unassigned' if key == 'sector' and f[key] == 'NONE' else f[key]}")
    if fmt == "csv":
        parts.append(_table(report, table_name).name)
    stem = "-".join(s for s in (_slug(p) for p in parts if p) if s)[:150].rstrip("-")
    return f"{stem or 'report'}.{fmt}"
