"""Reading an uploaded CSV or XLSX file row by row, without holding the parsed sheet in memory: the CSV is
streamed, the workbook opened read-only. Cells come back as the text the invoice rules take (the same
lenient scalars the JSON API accepts); nothing is guessed here — the rules decide what a value means."""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import PurePath

from app.invoices.problems import Problem
from app.uploads.columns import HeaderMatch, match_headers

HEADER_SEARCH_ROWS = 20  # a title or a note may sit above the header row
MIN_KNOWN_HEADERS = 3
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # Excel 97-2003 .xls


class FileRefused(Exception):
    """The file as a whole cannot be read as invoice lines; nothing is stored."""

    def __init__(self, status: int, detail: str, problems: list[Problem]):
        super().__init__(detail)
        self.status, self.detail, self.problems = status, detail, problems


def file_format(filename: str, content: bytes) -> str:
    """'csv' or 'xlsx', by content first (a renamed file is still what it is), then by name."""
    name = (filename or "").lower()
    if not content.strip():
        raise FileRefused(422, "The file is empty.", [Problem("file", "empty_file", "The uploaded file has no content.",
                                                             ["a .csv or .xlsx file with a header row"])])
    if content.startswith(ZIP_MAGIC):
        return "xlsx"
    if content.startswith(OLE_MAGIC) or name.endswith(".xls"):
        raise FileRefused(415, "Excel 97-2003 (.xls) workbooks are not accepted.", [Problem(
            "file", "unsupported_file_type",
            "This is an old-format Excel workbook (.xls). In Excel choose File > Save As > Excel Workbook (.xlsx) "
            "or CSV UTF-8, and upload that file.", [".xlsx", ".csv"])])
    suffix = PurePath(name).suffix
    if b"\x00" in content:
        # A binary file, or UTF-16 text (Excel's "Unicode Text"); NUL cannot be stored in a text column either.
        raise FileRefused(415, "The file contains NUL bytes: it is not a CSV text file.", [Problem(
            "file", "unsupported_file_type",
            "The file is binary or UTF-16 text. In Excel choose File > Save As > CSV UTF-8 or Excel Workbook "
            "(.xlsx), and upload that file.", [".xlsx", ".csv"])])
    if content.startswith(b"%PDF") or suffix not in ("", ".csv", ".txt"):
        raise FileRefused(415, "Only CSV and Excel (.xlsx) files are accepted.", [Problem(
            "file", "unsupported_file_type",
            f"'{filename}' is not a CSV or an .xlsx workbook.", [".xlsx", ".csv"])])
    return "csv"


def cell_text(value: object) -> str | None:
    """A cell as the text the invoice rules read; None when blank."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.replace("\u00a0", " ").strip()
        return text or None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, float):
        # Excel keeps 15 significant digits; beyond that a float is binary noise (3 x 1.1 = 3.3000000000000003).
        return format(value, ".15g")
    return str(value).strip() or None


@dataclass
class Sheet:
    """One table of the file: where its header is and how to walk its rows."""

    file_format: str
    content: bytes
    sheet_name: str | None
    header_row: int  # 1-based
    headers: HeaderMatch
    rows_estimate: int | None  # data rows, from the file's own size hints; None when unknown
    encoding: str = "utf-8-sig"
    delimiter: str = ","

    def all_rows(self) -> Iterator[tuple[int, tuple]]:
        """Every row from row 1, numbered as a spreadsheet program shows them, cells as stored."""
        if self.file_format == "csv":
            yield from _csv_rows(self.content, self.encoding, self.delimiter)
        else:
            yield from _xlsx_rows(self.content, self.sheet_name)

    def data_rows(self) -> Iterator[tuple[int, tuple]]:
        for number, cells in self.all_rows():
            if number > self.header_row:
                yield number, cells


def _csv_rows(content: bytes, encoding: str, delimiter: str) -> Iterator[tuple[int, tuple]]:
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
    # Numbered by record, as a spreadsheet program opening the CSV shows them (a quoted cell may span lines).
    for number, cells in enumerate(csv.reader(stream, delimiter=delimiter), start=1):
        yield number, tuple(cells)


def _sheet_size_from_header(self) -> None:
    """ReadOnlyWorksheet._get_size, reading only up to <sheetData>. openpyxl's own version iterates *end*
    events and stops at the end of </sheetData>: a sheet without a <dimension> element (openpyxl's write-only
    mode, some exporters) was parsed through once more just to learn that it has none — every time the workbook
    was opened (measured: 13 s of a 50,000-line upload's POST, and as much again in the job)."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.constants import SHEET_MAIN_NS

    src = self._get_source()
    try:
        for _event, element in iterparse(src, events=("start",)):
            if element.tag == f"{{{SHEET_MAIN_NS}}}dimension":
                boundaries = SheetDimension.from_tree(element).boundaries
                if boundaries is not None:
                    self._min_column, self._min_row, self._max_column, self._max_row = boundaries
                return
            if element.tag == f"{{{SHEET_MAIN_NS}}}sheetData":
                return  # no dimension recorded: the sheet is unsized, as openpyxl would leave it
    finally:
        src.close()


def _open_workbook(content: bytes):
    import openpyxl
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    ReadOnlyWorksheet._get_size = _sheet_size_from_header  # same result, without the extra pass (see above)
    try:
        # data_only: a formula cell (=B2*C2) is read as the value Excel last calculated.
        return openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zipfile, XML and openpyxl errors all mean "not a workbook we can read"
        raise FileRefused(422, "The workbook cannot be opened.", [Problem(
            "file", "unreadable_workbook",
            "The file looks like an .xlsx workbook but cannot be read (damaged, password-protected or not "
            "really a workbook). Open it in Excel, save it again as .xlsx, and upload that file.",
            [".xlsx", ".csv"])]) from None


def _xlsx_rows(content: bytes, sheet_name: str | None) -> Iterator[tuple[int, tuple]]:
    wb = _open_workbook(content)
    try:
        ws = wb[sheet_name] if sheet_name else wb.worksheets[0]
        ws.reset_dimensions()  # some writers record a wrong sheet size; read what is really there
        for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, cells
    finally:
        wb.close()


def _find_header(rows: Iterator[tuple[int, tuple]]) -> tuple[int, HeaderMatch] | None:
    for number, cells in rows:
        if number > HEADER_SEARCH_ROWS:
            return None
        match = match_headers(list(cells))
        if match.known >= MIN_KNOWN_HEADERS:
            return number, match
    return None


def _decode_choice(content: bytes) -> tuple[str, list[Problem]]:
    try:
        content.decode("utf-8-sig")
        return "utf-8-sig", []
    except UnicodeDecodeError:
        # Excel's plain "CSV" on Windows writes Windows-1252, which decodes any byte.
        return "cp1252", [Problem("file", "decoded_as_windows_1252",
                                  "The CSV is not UTF-8; it was read as Windows-1252 (Excel's \"CSV\" on Windows). "
                                  "Check names with accents, or save as \"CSV UTF-8\".")]


def _delimiter(content: bytes, encoding: str) -> str:
    first = content[:65536].decode(encoding, errors="replace").splitlines()[:HEADER_SEARCH_ROWS]
    counts = {d: sum(line.count(d) for line in first) for d in (",", ";", "\t")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def open_sheet(filename: str, content: bytes) -> tuple[Sheet, list[Problem]]:
    """The table of invoice lines in the file, with file-level warnings. Raises FileRefused."""
    fmt = file_format(filename, content)
    warnings: list[Problem] = []
    if fmt == "csv":
        encoding, warnings = _decode_choice(content)
        delimiter = _delimiter(content, encoding)
        sheet = Sheet(fmt, content, None, 0, match_headers([]), None, encoding, delimiter)
        found = _find_header(sheet.all_rows())
        if found:
            sheet.header_row, sheet.headers = found
            lines = content.count(b"\n") + (0 if content.endswith(b"\n") else 1)
            sheet.rows_estimate = max(lines - sheet.header_row, 0)
    else:
        sheet, found = _workbook_sheet(content)
    if not found:
        raise FileRefused(422, "No header row with invoice columns was found.", [Problem(
            "file", "header_row_not_found",
            f"None of the first {HEADER_SEARCH_ROWS} rows{' of any sheet' if fmt == 'xlsx' else ''} names at "
            f"least {MIN_KNOWN_HEADERS} invoice columns. The first row should hold the column headers of the "
            "template (GET /v1/uploads/template.xlsx), e.g. Billing Provider NPI, Invoice Number, "
            "Procedure Code.")])
    return sheet, warnings


def _workbook_sheet(content: bytes) -> tuple[Sheet, bool]:
    wb = _open_workbook(content)
    try:
        for ws in wb.worksheets:
            if getattr(ws, "sheet_state", "visible") != "visible":
                continue
            estimate = ws.max_row  # from the sheet's recorded dimension; None when the writer left it out
            found = _find_header(enumerate(ws.iter_rows(values_only=True, max_row=HEADER_SEARCH_ROWS), start=1))
            if found:
                number, match = found
                rows = max(estimate - number, 0) if estimate else None
                return Sheet("xlsx", content, ws.title, number, match, rows), True
    finally:
        wb.close()
    return Sheet("xlsx", content, None, 0, match_headers([]), None), False


def reopen(file_format: str, content: bytes, sheet_name: str | None, header_row: int) -> Sheet:
    """The sheet of a stored upload, as it was found when the upload was accepted."""
    if file_format == "csv":
        encoding, _ = _decode_choice(content)
        return Sheet("csv", content, None, header_row, match_headers([]), None, encoding,
                     _delimiter(content, encoding))
    return Sheet("xlsx", content, sheet_name, header_row, match_headers([]), None)
