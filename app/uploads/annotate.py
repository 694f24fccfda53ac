"""The checked file: the provider's own rows, at their own row numbers and in their own columns, with an
"Upload Status" and an "Upload Problems" column added at the end, and each cell with an error (or a warning)
filled and commented. Written in streaming mode, so a 50,000-row file is never held as a workbook."""

import io
from collections import defaultdict
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill

from app.uploads.assemble import Located
from app.uploads.columns import PROBLEMS_HEADER, STATUS_HEADER, squash
from app.uploads.models import UploadInvoiceRow, UploadRow
from app.uploads.reading import reopen

ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
WARNING_FILL = PatternFill("solid", fgColor="FFEB9C")
ACCEPTED_FILL = PatternFill("solid", fgColor="C6EFCE")
STATUS_TEXT = {"accepted": "accepted", "already_accepted": "already accepted", "rejected": "rejected",
               "not_stored": "not stored", "skipped": "skipped (example)"}
STATUS_FILL = {"accepted": ACCEPTED_FILL, "already_accepted": ACCEPTED_FILL, "rejected": ERROR_FILL,
               "not_stored": WARNING_FILL}
AUTHOR = "encounter-service"


def _status_text(outcome: UploadInvoiceRow) -> str:
    text = STATUS_TEXT.get(outcome.status, outcome.status)
    if outcome.invoice_public_id:
        text += f" (invoice {outcome.invoice_public_id})"
    return text


def _problem_text(p: Located) -> str:
    where = f"{p.column.header}: " if p.column else ""
    return f"{'Error' if p.severity == 'error' else 'Warning'} - {where}{p.message}"


def _value_cell(ws, value: object, fill: PatternFill | None, comment: str | None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, datetime | date):
        cell.number_format = "mm/dd/yyyy"
    if fill is not None:
        cell.fill = fill
    if comment:
        cell.comment = Comment(comment[:30000], AUTHOR, width=400, height=160)
    return cell


def annotated_workbook(upload: UploadRow, content: bytes, problems: list[Located],
                       outcomes: list[UploadInvoiceRow]) -> bytes:
    sheet = reopen(upload.file_format, content, upload.sheet_name, upload.header_row)
    status_of = {n: o for o in outcomes for n in o.rows}
    by_row: dict[int, list[Located]] = defaultdict(list)
    for p in problems:
        if p.row is not None:
            by_row[p.row].append(p)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet.sheet_name or "Invoice Lines")
    width = 0
    for number, cells in sheet.all_rows():
        cells = list(cells)
        if number == upload.header_row:
            # A file that was annotated before carries our two columns already: replace them, do not add more.
            keep = [i for i, c in enumerate(cells) if squash(c) not in (squash(STATUS_HEADER), squash(PROBLEMS_HEADER))]
            width = (max(keep) + 1) if keep else len(cells)
            header = [_value_cell(ws, v, None, None) for v in cells[:width]]
            for title in (STATUS_HEADER, PROBLEMS_HEADER):
                cell = WriteOnlyCell(ws, value=title)
                cell.font = Font(bold=True)
                header.append(cell)
            ws.append(header)
            continue
        if number < upload.header_row:
            ws.append(cells)
            continue
        ws.append(_annotated_row(ws, cells, width, status_of.get(number), by_row.get(number, [])))
    _summary(wb, upload, [p for p in problems if p.row is None or p.row == upload.header_row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _annotated_row(ws, cells: list, width: int, outcome: UploadInvoiceRow | None, problems: list[Located]) -> list:
    cells = (cells + [None] * width)[:width]
    notes: dict[int, list[Located]] = defaultdict(list)
    for p in problems:
        if p.column is not None:
            notes[p.column.index].append(p)
    row = []
    for i, value in enumerate(cells):
        here = notes.get(i)
        if not here:
            row.append(_value_cell(ws, value, None, None) if isinstance(value, datetime | date) else value)
            continue
        fill = ERROR_FILL if any(p.severity == "error" for p in here) else WARNING_FILL
        row.append(_value_cell(ws, value, fill, "\n".join(_problem_text(p) for p in here)))
    if outcome is None:
        return row
    status = WriteOnlyCell(ws, value=_status_text(outcome))
    if outcome.status in STATUS_FILL:
        status.fill = STATUS_FILL[outcome.status]
    text = WriteOnlyCell(ws, value="\n".join(_problem_text(p) for p in problems) or None)
    text.alignment = Alignment(wrap_text=True, vertical="top")
    return row + [status, text]


def _summary(wb: Workbook, upload: UploadRow, file_problems: list[Located]) -> None:
    ws = wb.create_sheet("Upload Summary")
    ws.append(["Upload", upload.public_id])
    ws.append(["File", upload.filename])
    ws.append(["Rows", upload.rows_total])
    ws.append(["Invoices", upload.invoices_total])
    for label, value in (("Accepted", upload.accepted), ("Already accepted", upload.already_accepted),
                         ("Rejected", upload.rejected), ("Not stored", upload.not_stored),
                         ("Errors", upload.errors), ("Warnings", upload.warnings)):
        ws.append([label, value])
    for p in file_problems:
        ws.append(["Note", p.loc, p.message])
