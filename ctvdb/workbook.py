"""Reading a Commercial Log: which sheets, is the layout right, and the raw cell values.

python-calamine reads the cells (about ten times openpyxl's speed). Two things are done around it:

- It reports an Excel error value such as #REF! as an empty string, so the sheet XML is scanned
  for error cells and they are put back as their error text.
- It parses a sheet in one call that holds one core for over a second on a big Commercials
  sheet, but releases the GIL while it does. So a big sheet's XML is cut at row boundaries into
  parts of about PART_BYTES, each part is wrapped in a small in-memory workbook with the original
  shared strings and styles, and two threads load the parts while the caller checks the rows of
  the parts already loaded. Row numbers come from the XML, so a part's rows keep their places.
  A sheet a cut would misplace (rows without r= numbers, tags with a namespace prefix), and every
  sheet of a workbook whose shared-strings table is big, is loaded whole, still by a loader thread.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from xml.etree import ElementTree

import python_calamine

from ctvdb.codes import COLUMNS, IMPORTABLE_SHEETS, RECAP_SHEET, column_letter

PART_BYTES = 8 << 20           # sheet XML per calamine load; a 100,000-row sheet makes about 10
LOADERS = 2                    # threads loading parts (the machine has two cores)
MAX_SHARED_STRINGS = 2 << 20   # above this, sheets are read whole (see Workbook.__init__)

_HEADER_KEY = re.compile(r"[^a-z0-9]")
_DIMENSION = re.compile(rb"<dimension [^>]*/>")
_SHARED_STRINGS = re.compile(r"sharedStrings[^/]*\.xml$", re.I)
_NUMBERED_ROW = re.compile(rb'\s*<row [^>]*?\br="\d+"')
_ERROR_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f>.*?</f>)?<v>([^<]*)</v>', re.S)
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}
# The package parts calamine needs besides the sheet itself (rels types, by their last word).
_SUPPORT_TYPES = ("styles", "sharedStrings")


class WorkbookError(Exception):
    """A workbook that cannot be imported; the message names file, sheet, row and column."""


@dataclass
class Part:
    """Consecutive data rows of one sheet, each padded to at least the header's width."""
    sheet: str
    first_row_number: int      # the Excel row number of rows[0]
    rows: list[list]
    errors: dict[int, tuple[int, str]] = field(default_factory=dict)  # index in rows → (column, '#REF!')


def _header_key(text) -> str:
    return _HEADER_KEY.sub("", str(text).lower())


_EXPECTED = [_header_key(name) for name in COLUMNS]


def _letters_to_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


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


class Workbook:
    """An opened Commercial Log: `sheets` to import, `xml_bytes` to read, `parts()` to read them.

        book = Workbook.open(path)
        for part in book.parts(progress):   # sheet by sheet, in row order
            ...
    """

    def __init__(self, path: Path, sheets: list[str], archive: zipfile.ZipFile | None,
                 members: dict[str, str], support: dict[str, bytes]):
        self.path = path
        self.sheets = sheets
        self._archive = archive
        self._members = members      # sheet name → its XML member in the zip ('' when not found)
        self._support = support      # member → bytes: what a part's little workbook carries
        self.xml_bytes = sum(archive.getinfo(m).file_size for m in members.values() if m) if archive else 0
        # Every part's workbook carries the shared strings, which calamine parses (and holds) once
        # per part: with a big table (free text on every row) parts would cost more time and
        # memory than they save, and each sheet is read whole.
        shared_strings = sum(len(data) for member, data in support.items() if _SHARED_STRINGS.search(member))
        self.part_bytes = PART_BYTES if shared_strings <= MAX_SHARED_STRINGS else 0

    @classmethod
    def open(cls, path: str | Path) -> Workbook:
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
        sheets = choose_sheets(names)
        try:
            archive = zipfile.ZipFile(path)
            members, support = _package_map(archive, sheets)
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as exc:
            raise WorkbookError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
        return cls(path, sheets, archive, members, support)

    def close(self) -> None:
        if self._archive is not None:
            self._archive.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Reading ------------------------------------------------------------------------------------

    def parts(self, progress: Callable[[str, int, int], None] | None = None) -> Iterator[Part]:
        """Every data row of every chosen sheet, in parts, in sheet and row order.

        LOADERS threads load the next parts (across sheet boundaries) while the caller works on
        the one it was given. Raises WorkbookError for a sheet that cannot be read, is empty or has
        the wrong header, sheets in order.
        """
        assemblers = [_SheetAssembler(self.path, name) for name in self.sheets]
        position = {name: index for index, name in enumerate(self.sheets)}
        pending: deque = deque()
        done_bytes = 0
        finished = 0   # assemblers[:finished] have had all their parts

        def settle() -> Iterator[Part]:
            nonlocal done_bytes, finished
            name, future, size = pending.popleft()
            while finished < position[name]:   # the sheets before this one are complete
                assemblers[finished].finish()
                finished += 1
            yield from assemblers[position[name]].add(*self._result(name, future))
            done_bytes += size
            if progress:
                progress("reading", min(done_bytes, self.xml_bytes), self.xml_bytes)

        with ThreadPoolExecutor(max_workers=LOADERS, thread_name_prefix="calamine") as pool:
            try:
                for name in self.sheets:
                    for xml, size in self._checked(name, self._sheet_xml(name)):
                        pending.append((name, pool.submit(self._load, name, xml), size))
                        while len(pending) > LOADERS:
                            yield from settle()
                while pending:
                    yield from settle()
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        for assembler in assemblers[finished:]:
            assembler.finish()
        if progress:
            progress("reading", self.xml_bytes, self.xml_bytes)

    def _checked(self, name: str, parts: Iterator) -> Iterator:
        """The sheet's XML parts, with a damaged zip member reported as a WorkbookError."""
        try:
            yield from parts
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise WorkbookError(f"{self.path.name}, sheet {name!r}: not a readable .xlsx workbook ({exc})") from exc

    def _result(self, name: str, future) -> tuple[list[list], int, int, dict]:
        try:
            return future.result()
        except WorkbookError:
            raise
        except Exception as exc:  # calamine raises several types for corrupt input
            raise WorkbookError(f"{self.path.name}, sheet {name!r}: cannot be read ({exc})") from exc

    def _sheet_xml(self, name: str) -> Iterator[tuple[bytes | None, int]]:
        """The sheet's XML cut at row boundaries into parts of about `part_bytes`, each a complete
        worksheet document; (None, size) for a sheet to load whole from the original file."""
        member = self._members.get(name)
        if not member:
            yield None, 0
            return
        size, part_bytes = self._archive.getinfo(member).file_size, self.part_bytes
        if not part_bytes:
            yield None, size
            return
        with self._archive.open(member) as stream:
            buffer = stream.read(max(part_bytes, 1 << 16))
            while (start := buffer.find(b"<sheetData>")) < 0 and (more := stream.read(part_bytes)):
                buffer += more
            if start < 0:  # an empty sheet, or a writer that prefixes its tags: calamine reads it whole
                yield None, size
                return
            if len(buffer) - start < 1 << 16:  # the first row's tag whole, to check it below
                buffer += stream.read(1 << 16)
            head, buffer = buffer[:start + len(b"<sheetData>")], buffer[start + len(b"<sheetData>"):]
            if not _NUMBERED_ROW.match(buffer):  # rows numbered by position only: a part would restart at 1
                yield None, size
                return
            # The whole sheet's size, which would make calamine reserve it for every part.
            head = _DIMENSION.sub(b"", head, count=1)
            while True:
                while len(buffer) > part_bytes:
                    cut = buffer.rfind(b"<row ", 1, part_bytes)
                    if cut < 0:  # one enormous row: cut after it, once the next one has turned up
                        cut = buffer.find(b"<row ", 1)
                        if cut < 0:
                            break
                    if buffer.find(b">", cut) < 0:
                        break  # the row's tag is not all here yet
                    if not _NUMBERED_ROW.match(buffer, cut):
                        raise WorkbookError(f"{self.path.name}, sheet {name!r}: a row without its row "
                                            f"number (r=) after numbered rows; cannot place the rows")
                    yield head + buffer[:cut] + b"</sheetData></worksheet>", cut
                    buffer = buffer[cut:]
                more = stream.read(part_bytes)
                if not more:
                    break
                buffer += more
            yield head + buffer, len(buffer)

    def _load(self, name: str, xml: bytes | None) -> tuple[list[list], int, int, dict]:
        """(rows, row index of rows[0], column index of rows[0][0], error cells) of one part, or
        of the whole sheet when `xml` is None. Runs in a loader thread."""
        if xml is None:  # a workbook object of its own: one cannot load two sheets at once
            book = python_calamine.CalamineWorkbook.from_path(str(self.path))
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            member = self._members.get(name)
            if not member:
                return rows, 0, 0, {}
            return rows, 0, 0, _member_error_cells(self.path, member)
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w", zipfile.ZIP_STORED) as out:
            for member, data in self._support.items():
                out.writestr(member, data)
            out.writestr(self._members[name], xml)
        package.seek(0)
        sheet = python_calamine.CalamineWorkbook.from_object(package).get_sheet_by_name(name)
        start = sheet.start
        if start is None:
            return [], 0, 0, {}
        return sheet.to_python(skip_empty_area=True), start[0], start[1], _error_cells(xml)


class _SheetAssembler:
    """Turns one sheet's loaded parts into data-row Parts: checks the header, fills the blank rows
    the XML leaves out between parts, pads short rows, and puts the error cells back."""

    def __init__(self, path: Path, name: str):
        self.path, self.name = path, name
        self.next_row = 1        # the Excel row number the next row will have
        self.width = 0

    def add(self, rows: list[list], first_index: int, first_column: int, errors: dict) -> Iterator[Part]:
        """The data rows of one loaded part: its rows from row index `first_index` (0 = row 1),
        column index `first_column`, and its error cells."""
        if not rows:
            return
        if first_column:  # every row of this part starts after column A
            rows = [[""] * first_column + row for row in rows]
        first_number = first_index + 1
        if first_number < self.next_row:
            raise WorkbookError(f"{self.path.name}, sheet {self.name!r}, row {first_number}: "
                                f"rows are out of order in the sheet XML")
        if self.next_row == 1:
            if first_number > 1:  # blank rows above everything: no header in row 1
                check_header(self.path, self.name, [])
            check_header(self.path, self.name, rows[0])
            self.width = max(len(rows[0]), len(COLUMNS))
            rows, first_number = rows[1:], 2
        else:
            gap = first_number - self.next_row
            if gap:
                rows = [[""] * self.width for _ in range(gap)] + rows
                first_number = self.next_row
        if rows and len(rows[0]) < self.width:
            rows = [row + [""] * (self.width - len(row)) for row in rows]
        self.next_row = first_number + len(rows)
        part = Part(self.name, first_number, rows)
        for (row_number, column), text in sorted(errors.items()):
            index = row_number - first_number
            if 0 <= index < len(rows) and column < len(rows[index]):
                rows[index][column] = text
                part.errors.setdefault(index, (column, text))
        yield part

    def finish(self) -> None:
        if self.next_row == 1:
            raise WorkbookError(f"{self.path.name}, sheet {self.name!r}, row 1: the sheet is empty (no header row)")


def _error_cells(xml: bytes) -> dict[tuple[int, int], str]:
    """{(row number, column index): '#REF!'} for every error cell of a part's (or sheet's) XML."""
    if b't="e"' not in xml:
        return {}
    return {(int(m.group(2)), _letters_to_index(m.group(1))): m.group(3).decode()
            for m in _ERROR_CELL.finditer(xml)}


def _member_error_cells(path: Path, member: str) -> dict[tuple[int, int], str]:
    """`_error_cells` of a sheet read whole: its XML is streamed through once, and held in
    memory only when it has an error cell (the main thread reads the Workbook's own ZipFile)."""
    marker = b't="e"'
    with zipfile.ZipFile(path) as archive:
        with archive.open(member) as stream:
            tail = b""
            while chunk := stream.read(PART_BYTES):
                if marker in tail + chunk[:len(marker)] or marker in chunk:
                    break
                tail = chunk[-len(marker):]
            else:
                return {}
        return _error_cells(archive.read(member))


def _package_map(archive: zipfile.ZipFile, sheet_names: list[str]) -> tuple[dict[str, str], dict[str, bytes]]:
    """(sheet name → XML member, the members a one-sheet copy of the package needs)."""
    book_xml = archive.read("xl/workbook.xml")
    rels_xml = archive.read("xl/_rels/workbook.xml.rels")
    book = ElementTree.fromstring(book_xml)
    rels = ElementTree.fromstring(rels_xml)
    targets, support = {}, {}
    for rel in rels.findall("rel:Relationship", _NS):
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = member
        if rel.get("Type", "").rsplit("/", 1)[-1] in _SUPPORT_TYPES and member in archive.NameToInfo:
            support[member] = archive.read(member)
    for member in ("[Content_Types].xml", "_rels/.rels"):
        if member in archive.NameToInfo:
            support[member] = archive.read(member)
    support["xl/workbook.xml"], support["xl/_rels/workbook.xml.rels"] = book_xml, rels_xml
    members = {}
    for sheet in book.findall("m:sheets/m:sheet", _NS):
        name = sheet.get("name")
        if name in sheet_names:
            member = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
            members[name] = member if member in archive.NameToInfo else ""
    return members, support

