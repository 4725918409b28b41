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

Before calamine sees anything, `Workbook.open` looks at what the file claims (issue 10): what
each zip member unpacks to, and each chosen sheet's <dimension>. calamine reserves memory for
the whole claimed range, so a 38 KB file with one value in XFD1048576 once asked for 512 GiB and
aborted the process. A claim no Commercial Log can make is refused with one line; whatever still
gets through is bounded by the daily update unit's MemoryMax= and reported by the import's
supervisor (import_cli).
"""

from __future__ import annotations

import html
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
# What a workbook may claim (issue 10). The bound on the XML is configurable (CTVDB_MAX_XML_MB):
# 1 GiB is about a million rows, three years of the production log in one file.
MAX_XML_BYTES = 1 << 30
# Excel, LibreOffice, openpyxl and ctvdb's sample writer compress sheet XML 4-15 times; a member
# that unpacks to over 100 times its packed size (Apache POI's zip-bomb rule) is not a spreadsheet.
MAX_INFLATE_RATIO = 100
INFLATE_RATIO_FROM = 1 << 20   # members smaller than this may compress as they like
MAX_COLUMNS = len(COLUMNS) + 1  # A-AD: the 29 columns and an optional sheet_source
# A cell takes at least 11 bytes of XML (<c r="A1"/>): a dimension claiming more cells than
# that would fill is a stray value far below or right of the data.
MIN_CELL_BYTES = 8
MAX_BLANK_ROWS = 50_000        # between two rows of one sheet; more is a stray value far below

_HEADER_KEY = re.compile(r"[^a-z0-9]")
_DIMENSION = re.compile(rb"<dimension [^>]*/>")
_DIMENSION_REF = re.compile(rb'<dimension ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_SHARED_STRINGS = re.compile(r"sharedStrings[^/]*\.xml$", re.I)
_NUMBERED_ROW = re.compile(rb'\s*<row [^>]*?\br="\d+"')
_ROW_NUMBER = re.compile(rb'<row r="(\d+)"')
_WIDE_CELL = re.compile(rb'<c r="((?:[A-Z]{3}|A[E-Z]|[B-Z][A-Z])\d+)"')
_ERROR_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?t="e"[^>]*>(?:<f>.*?</f>)?<v>([^<]*)</v>', re.S)
# A formula cell and its saved value. openpyxl and other writers that do not calculate write
# `<c r="P5"><f>SUM(P2:P4)</f><v /></c>` or no <v> at all; calamine reads that as an empty cell,
# which would import as 0.00 (issue 10). `<f\b` leaves out <formula> of conditional formats.
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"([^>]*)>(<f\b[^>]*/>|<f\b[^>]*>([^<]*)</f>)'
                           rb'(?:<v\s*/>|<v>([^<]*)</v>)?')
_TEXT_TYPE = re.compile(rb'\bt="(?:str|s|inlineStr)"')
UNSAVED_FORMULA = "formula with no saved value: open the workbook in Excel and save it"
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
    # index in rows → (column, value, reason) of a cell calamine reads wrongly (bad_cells)
    errors: dict[int, tuple[int, str, str]] = field(default_factory=dict)


def _header_key(text) -> str:
    return _HEADER_KEY.sub("", str(text).lower())


_EXPECTED = [_header_key(name) for name in COLUMNS]


def _letters_to_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1


def choose_sheets(file_name: str, names: list[str]) -> tuple[list[str], str | None]:
    """(the sheets to import, a warning or None), by DOMAIN.md §2: the importable sheets, else
    the recap's `Data`, else the only sheet with a warning. A workbook with several sheets and
    none of the names is refused: importing its first sheet would replace whole months with
    whatever that sheet happens to hold."""
    chosen = [name for name in IMPORTABLE_SHEETS if name in names]
    if chosen:
        return chosen, None
    if RECAP_SHEET in names:
        return [RECAP_SHEET], None
    looked_for = ", ".join(repr(name) for name in IMPORTABLE_SHEETS + (RECAP_SHEET,))
    if len(names) == 1:
        return names, (f"{file_name}: no sheet has a known name ({looked_for}); imported its only "
                       f"sheet, {names[0]!r}")
    raise WorkbookError(f"{file_name}: none of its sheets ({', '.join(repr(n) for n in names)}) has a name "
                        f"the import looks for ({looked_for}): rename the sheet to import, or remove the others")


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
                 members: dict[str, str], support: dict[str, bytes], warnings: list[str] | None = None):
        self.path = path
        self.sheets = sheets
        self.warnings = warnings or []   # for the import's summary (an unnamed sheet imported)
        self._claims: dict[str, int | None] = {}   # sheet name → the last row its <dimension> claims
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
    def open(cls, path: str | Path, max_xml_bytes: int = MAX_XML_BYTES) -> Workbook:
        """Open a Commercial Log and check what it claims before anything is loaded: raises
        WorkbookError naming the file (and sheet) for anything that cannot be imported."""
        path = Path(path)
        try:
            if not path.exists():
                raise WorkbookError(f"{path}: file not found")
            if not path.is_file():
                raise WorkbookError(f"{path}: not a file")
            archive = zipfile.ZipFile(path)
        except OSError as exc:
            raise WorkbookError(f"{path}: cannot be read ({exc.strerror})") from exc
        except (zipfile.BadZipFile, ValueError) as exc:
            raise WorkbookError(f"{path.name}: not a readable .xlsx workbook (it is not a zip package: {exc})") from exc
        try:
            names, members, support = _read_package(path, archive, max_xml_bytes)
            if not names:
                raise WorkbookError(f"{path.name}: the workbook has no sheets")
            sheets, warning = choose_sheets(path.name, names)
            claims = {name: _check_dimension(path, archive, name, members[name]) for name in sheets}
        except WorkbookError:
            archive.close()
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError, ElementTree.ParseError, OSError) as exc:
            archive.close()
            raise WorkbookError(f"{path.name}: not a readable .xlsx workbook ({exc})") from exc
        book = cls(path, sheets, archive, {name: members[name] for name in sheets}, support,
                   [warning] if warning else [])
        book._claims = claims
        return book

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
            raise WorkbookError(f"{self.path.name}, sheet {name!r}: the sheet's XML is damaged or not as Excel "
                                f"writes it, so its cells cannot be read ({exc}): open it in Excel and save it "
                                f"again") from exc

    def _sheet_xml(self, name: str) -> Iterator[tuple[bytes | None, int]]:
        """The sheet's XML cut at row boundaries into parts of about `part_bytes`, each a complete
        worksheet document; (None, size) for a sheet to load whole from the original file."""
        member = self._members[name]
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
                    self._check_claim(name, buffer[:cut])
                    yield head + buffer[:cut] + b"</sheetData></worksheet>", cut
                    buffer = buffer[cut:]
                more = stream.read(part_bytes)
                if not more:
                    break
                buffer += more
            self._check_claim(name, buffer)
            yield head + buffer, len(buffer)

    def _check_claim(self, name: str, rows_xml: bytes) -> None:
        """calamine sizes a part's range from its cells: rows past what the sheet's dimension
        claimed (and was checked for) mean the claim lies."""
        claim = self._claims.get(name)
        if claim is not None and (last := _last_row_number(rows_xml)) > claim:
            raise WorkbookError(f"{self.path.name}, sheet {name!r}, row {last:,}: the sheet has rows past the "
                                f"{claim:,} its dimension says it holds; it was not saved by Excel: open it in "
                                f"Excel and save it again")

    def _load(self, name: str, xml: bytes | None) -> tuple[list[list], int, int, dict]:
        """(rows, row index of rows[0], column index of rows[0][0], error cells) of one part, or
        of the whole sheet when `xml` is None. Runs in a loader thread."""
        where = f"{self.path.name}, sheet {name!r}"
        if xml is None:  # a workbook object of its own: one cannot load two sheets at once
            if self._claims.get(name) is None:
                with zipfile.ZipFile(self.path) as archive:
                    _check_cells(where, archive.read(self._members[name]))
            book = python_calamine.CalamineWorkbook.from_path(str(self.path))
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            return rows, 0, 0, _member_bad_cells(self.path, self._members[name])
        if self._claims.get(name) is None:
            _check_cells(where, xml)
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
        return sheet.to_python(skip_empty_area=True), start[0], start[1], bad_cells(xml)


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
            if gap > MAX_BLANK_ROWS:
                raise WorkbookError(f"{self.path.name}, sheet {self.name!r}, row {first_number:,}: a cell {gap:,} "
                                    f"blank rows below the row before it: a stray value far below the data? "
                                    f"Delete it in Excel and save")
            if gap:
                rows = [[""] * self.width for _ in range(gap)] + rows
                first_number = self.next_row
        if rows and len(rows[0]) < self.width:
            rows = [row + [""] * (self.width - len(row)) for row in rows]
        self.next_row = first_number + len(rows)
        part = Part(self.name, first_number, rows)
        for (row_number, column), (value, reason) in sorted(errors.items()):
            index = row_number - first_number
            if 0 <= index < len(rows) and column < len(rows[index]):
                rows[index][column] = value
                part.errors.setdefault(index, (column, value, reason))
        yield part

    def finish(self) -> None:
        if self.next_row == 1:
            raise WorkbookError(f"{self.path.name}, sheet {self.name!r}, row 1: the sheet is empty (no header row)")


def bad_cells(xml: bytes) -> dict[tuple[int, int], tuple[str, str]]:
    """{(row number, column index): (value, reason)} for the cells of a part's (or sheet's) XML
    that calamine reads wrongly: an Excel error value such as #REF! (read as '') and a formula
    with no saved value (read as an empty cell). Each kind is looked for only where a plain
    search finds its mark, so a sheet with neither costs two scans at memory speed."""
    found = {}
    if b't="e"' in xml:
        for m in _ERROR_CELL.finditer(xml):
            text = m.group(3).decode()
            found[(int(m.group(2)), _letters_to_index(m.group(1)))] = (text, f"Excel error value {text}")
    at = xml.find(b"<f")
    while at >= 0:
        m = _FORMULA_CELL.match(xml, xml.rfind(b"<c ", 0, at))
        if m and m.start(4) == at and _unsaved(m):
            formula = "=" + html.unescape(m.group(5).decode()) if m.group(5) else "(shared formula)"
            found[(int(m.group(2)), _letters_to_index(m.group(1)))] = (formula, UNSAVED_FORMULA)
        at = xml.find(b"<f", at + 2)
    return found


def _unsaved(cell: re.Match) -> bool:
    """No <v>, or an empty one where only a text result may be empty."""
    value = cell.group(6)
    return value is None or (value == b"" and not _TEXT_TYPE.search(cell.group(3)))


def _member_bad_cells(path: Path, member: str) -> dict[tuple[int, int], tuple[str, str]]:
    """`bad_cells` of a sheet read whole: its XML is streamed through once, and held in memory
    only when it has the mark of a bad cell (the main thread reads the Workbook's own ZipFile)."""
    marks = (b't="e"', b"<f")
    overlap = max(len(mark) for mark in marks) - 1
    with zipfile.ZipFile(path) as archive:
        with archive.open(member) as stream:
            tail = b""
            while chunk := stream.read(PART_BYTES):
                window = tail + chunk
                if any(mark in window for mark in marks):
                    break
                tail = chunk[-overlap:]
            else:
                return {}
        return bad_cells(archive.read(member))


def _read_package(path: Path, archive: zipfile.ZipFile,
                  max_xml_bytes: int) -> tuple[list[str], dict[str, str], dict[str, bytes]]:
    """(sheet names in workbook order, sheet name → its XML member, the members a one-sheet
    copy of the package needs), once every member's size has been checked."""
    for small in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
        if small not in archive.NameToInfo:
            raise WorkbookError(f"{path.name}: not a readable .xlsx workbook ({small} is missing)")
        _check_member(path, archive.getinfo(small), small, max_xml_bytes)
    book_xml = archive.read("xl/workbook.xml")
    rels_xml = archive.read("xl/_rels/workbook.xml.rels")
    book = ElementTree.fromstring(book_xml)
    rels = ElementTree.fromstring(rels_xml)
    targets, support_members = {}, []
    for rel in rels.findall("rel:Relationship", _NS):
        target = rel.get("Target", "")
        member = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        targets[rel.get("Id")] = member
        if rel.get("Type", "").rsplit("/", 1)[-1] in _SUPPORT_TYPES and member in archive.NameToInfo:
            support_members.append(member)
    names, members = [], {}
    for sheet in book.findall("m:sheets/m:sheet", _NS):
        name = sheet.get("name") or ""
        names.append(name)
        members[name] = targets.get(sheet.get(f"{{{_NS['r']}}}id"), "")
    labels = {member: f"sheet {name!r} ({member})" for name, member in members.items()}
    total = 0
    for info in archive.infolist():
        _check_member(path, info, labels.get(info.filename) or _label(info.filename), max_xml_bytes)
        total += info.file_size
    if total > max_xml_bytes:
        raise WorkbookError(f"{path.name}: unpacks to {total / 2**20:,.0f} MB, more than the "
                            f"{max_xml_bytes / 2**20:,.0f} MB a workbook may (CTVDB_MAX_XML_MB)")
    support = {member: archive.read(member) for member in support_members}
    for member in ("[Content_Types].xml", "_rels/.rels"):
        if member in archive.NameToInfo:
            support[member] = archive.read(member)
    support["xl/workbook.xml"], support["xl/_rels/workbook.xml.rels"] = book_xml, rels_xml
    return names, members, support


def _label(member: str) -> str:
    return "the shared-strings table" if _SHARED_STRINGS.search(member) else member


def _check_member(path: Path, info: zipfile.ZipInfo, label: str, max_xml_bytes: int) -> None:
    """A member that unpacks past the bound, or far more than XML compresses, is refused before
    anything reads it."""
    if info.file_size > max_xml_bytes:
        raise WorkbookError(f"{path.name}: {label} unpacks to {info.file_size / 2**20:,.0f} MB, more than "
                            f"the {max_xml_bytes / 2**20:,.0f} MB a workbook may (CTVDB_MAX_XML_MB)")
    if info.file_size > INFLATE_RATIO_FROM and info.file_size > MAX_INFLATE_RATIO * max(info.compress_size, 1):
        raise WorkbookError(
            f"{path.name}: {label} unpacks from {info.compress_size / 1024:,.0f} KB to "
            f"{info.file_size / 2**20:,.0f} MB, {info.file_size / max(info.compress_size, 1):,.0f} times its "
            f"packed size: no spreadsheet compresses like that (a zip bomb?); not imported")


def _check_dimension(path: Path, archive: zipfile.ZipFile, name: str, member: str) -> int | None:
    """The sheet's XML exists, and its <dimension> (the range it says it holds, which calamine
    reserves memory for) fits a Commercial Log: no column beyond AD, and no more cells than its
    XML could hold. Returns the last row it claims, or None for a sheet that does not say."""
    where = f"{path.name}, sheet {name!r}"
    if not member or member not in archive.NameToInfo:
        raise WorkbookError(f"{where}: the sheet's data ({member or 'its XML part'}) is missing from the file; "
                            f"the workbook is damaged: open it in Excel and save it again")
    with archive.open(member) as stream:
        head = stream.read(1 << 16)
    found = _DIMENSION_REF.search(head)
    if not found or not found.group(3):
        return None
    first_col, first_row, last_col, last_row = found.groups()
    last = _letters_to_index(last_col)
    if last >= MAX_COLUMNS:
        raise WorkbookError(
            f"{where}: the sheet holds cells up to {last_col.decode()}{last_row.decode()}, beyond column "
            f"{column_letter(MAX_COLUMNS - 1)}; a Commercial Log has {MAX_COLUMNS} columns at most "
            f"(A–{column_letter(MAX_COLUMNS - 1)}): delete the columns to the right of them in Excel and save")
    rows = int(last_row) - int(first_row or b"1") + 1
    cells = rows * (last - _letters_to_index(first_col or b"A") + 1)
    size = archive.getinfo(member).file_size
    if cells * MIN_CELL_BYTES > size + (1 << 20) and rows > MAX_BLANK_ROWS:
        raise WorkbookError(
            f"{where}: the sheet says it holds rows down to {int(last_row):,} ({found.group(0)[16:-1].decode()}) "
            f"but its {size / 1024:,.0f} KB of cells cannot fill them: a stray value far below the data? "
            f"Delete the rows below the data in Excel and save")
    return int(last_row)


def _check_cells(where: str, xml: bytes) -> None:
    """What a sheet that does not state its size (no <dimension>) holds, before calamine sizes
    its range from the cells: none beyond column AD, no long run of blank rows. Excel always
    writes the dimension, so only other writers' files pay for this scan."""
    wide = _WIDE_CELL.search(xml)
    if wide:
        raise WorkbookError(f"{where}, cell {wide.group(1).decode()}: a cell beyond column "
                            f"{column_letter(MAX_COLUMNS - 1)}; a Commercial Log has {MAX_COLUMNS} columns "
                            f"at most: delete the columns to the right of them in Excel and save")
    previous = 0
    for number in map(int, _ROW_NUMBER.findall(xml)):
        if number - previous > MAX_BLANK_ROWS + 1:
            raise WorkbookError(f"{where}, row {number:,}: a cell {number - previous - 1:,} blank rows below the "
                                f"row before it: a stray value far below the data? Delete it in Excel and save")
        previous = number


def _last_row_number(xml: bytes) -> int:
    found = _ROW_NUMBER.search(xml, max(xml.rfind(b"<row "), 0))
    return int(found.group(1)) if found else 0
