"""Reading a Commercial Log: which sheets, is the layout right, and the raw cell values.

python-calamine reads the cells (about ten times openpyxl's speed) but reports an Excel error
value such as #REF! as an empty string, so the sheet XML is scanned once for error cells and they
are put back as their error text.
"""

from __future__ import annotations

import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import python_calamine

from ctvdb.codes import COLUMNS, IMPORTABLE_SHEETS, RECAP_SHEET, column_letter

_HEADER_KEY = re.compile(r"[^a-z0-9]")
_CELL_REF = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f>.*?</f>)?<v>([^<]*)</v>', re.S)
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


class WorkbookError(Exception):
    """A workbook that cannot be imported; the message names file, sheet, row and column."""


@dataclass
class Sheet:
    name: str
    rows: list[list]          # data rows (row 2 onwards), each padded to at least 29 values
    errors: dict[int, tuple[int, str]] = field(default_factory=dict)  # row index → (column, '#REF!')
    first_row_number: int = 2


def _header_key(text) -> str:
    return _HEADER_KEY.sub("", str(text).lower())


_EXPECTED = [_header_key(name) for name in COLUMNS]


def _letters_to_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def _error_cells(path: Path, sheet_names: list[str]) -> dict[str, dict[tuple[int, int], str]]:
    """{sheet: {(row_number, column_index): '#REF!'}} for every error cell of the given sheets."""
    found: dict[str, dict[tuple[int, int], str]] = {}
    with zipfile.ZipFile(path) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {rel.get("Id"): rel.get("Target") for rel in rels.findall("rel:Relationship", _NS)}
        for sheet in book.findall("m:sheets/m:sheet", _NS):
            name = sheet.get("name")
            if name not in sheet_names:
                continue
            target = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
            member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
            data = archive.read(member)
            if b't="e"' not in data:
                continue
            cells = found.setdefault(name, {})
            for m in _CELL_REF.finditer(data):
                cells[(int(m.group(2)), _letters_to_index(m.group(1)))] = m.group(3).decode()
    return found


def choose_sheets(names: list[str]) -> list[str]:
    chosen = [name for name in IMPORTABLE_SHEETS if name in names]
    if chosen:
        return chosen
    if RECAP_SHEET in names:
        return [RECAP_SHEET]
    return names[:1]


def check_header(path: Path, sheet: str, header: list) -> None:
    where = f"{path.name}, sheet {sheet!r}, row 1"
    if len(header) < len(COLUMNS) or not any(str(v).strip() for v in header[len(COLUMNS) - 1:len(COLUMNS)]):
        width = len([v for v in header if str(v).strip()])
        raise WorkbookError(
            f"{where}: expected {len(COLUMNS)} columns A–AC (Bill Code … Market), found {width}"
        )
    for index, expected in enumerate(_EXPECTED):
        if _header_key(header[index]) != expected:
            raise WorkbookError(
                f"{where}, column {column_letter(index)}: expected header {COLUMNS[index]!r}, "
                f"found {str(header[index]).strip()!r} (is a column missing or shifted?)"
            )


def read(path: str | Path) -> list[Sheet]:
    """Every importable sheet of the workbook, with its layout checked."""
    path = Path(path)
    try:
        if not path.exists():
            raise WorkbookError(f"{path}: file not found")
        if not path.is_file():
            raise WorkbookError(f"{path}: not a file")
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise WorkbookError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        names = list(book.sheet_names)
    except Exception as exc:  # calamine raises several types for corrupt input
        raise WorkbookError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    if not names:
        raise WorkbookError(f"{path.name}: the workbook has no sheets")
    chosen = choose_sheets(names)
    # The error scan is mostly zlib, which releases the GIL, and so does calamine: run them together.
    with ThreadPoolExecutor(max_workers=1) as pool:
        scan = pool.submit(_error_cells, path, chosen)
        sheets = _read_sheets(path, book, chosen)
        try:
            errors = scan.result()
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as exc:
            raise WorkbookError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
    for sheet in sheets:
        for (row_number, column), text in sorted(errors.get(sheet.name, {}).items()):
            if row_number >= 2 and column <= len(COLUMNS):
                sheet.rows[row_number - 2][column] = text
                sheet.errors.setdefault(row_number - 2, (column, text))
    return sheets


def _read_sheets(path: Path, book, chosen: list[str]) -> list[Sheet]:
    sheets = []
    for name in chosen:
        try:
            values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise WorkbookError(f"{path.name}, sheet {name!r}: cannot be read ({exc})") from exc
        if not values:
            raise WorkbookError(f"{path.name}, sheet {name!r}, row 1: the sheet is empty (no header row)")
        check_header(path, name, values[0])
        sheets.append(Sheet(name, values[1:]))
    return sheets
