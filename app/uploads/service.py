"""Uploads: take a file in (refusing what cannot be read, storing nothing then), and read records back."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from app.auth.caller import Caller
from app.invoices.problems import Problem
from app.uploads.assemble import Located, locate_text
from app.uploads.columns import LABELS, Column, column_letter
from app.uploads.job import file_problem_row, now
from app.uploads.models import UploadFileRow, UploadInvoiceRow, UploadProblemRow, UploadRow
from app.uploads.reading import FileRefused, Sheet, open_sheet

MODES = ("per_invoice", "all_or_nothing")


@dataclass
class NewUpload:
    upload: UploadRow
    background: bool


def _refuse_headers(sheet: Sheet) -> None:
    headers = sheet.headers
    problems = [
        Problem("header", "missing_column",
                f'The required column "{LABELS[name]}" is missing from the header row (row {sheet.header_row}).',
                [LABELS[name], name])
        for name in headers.missing_required
    ]
    for name, cols in headers.repeated.items():
        problems.append(Problem(
            "header", "repeated_column",
            f"{len(cols)} columns are all read as \"{LABELS[name]}\": "
            + ", ".join(f'"{c.header}" (column {column_letter(c.index)})' for c in cols)
            + ". Keep one of them, or rename the others so they are not taken for it.", [LABELS[name]]))
    if problems:
        raise FileRefused(422, f"The header row (row {sheet.header_row}) cannot be used: "
                               f"{len(problems)} problem(s). Nothing was stored.", problems)


def create_upload(session: Session, *, filename: str, content: bytes, mode: str, caller: Caller,
                  sync_max_rows: int, max_rows: int, worker_id: str) -> NewUpload:
    """Check that the file is a readable table of invoice lines and store it with its upload record.
    Raises FileRefused (nothing stored). A file of at most `sync_max_rows` rows is marked as taken by
    `worker_id` (the caller processes it at once); a larger one is queued for the background worker."""
    sheet, file_warnings = open_sheet(filename, content)
    _refuse_headers(sheet)
    if sheet.rows_estimate is not None and sheet.rows_estimate > max_rows * 1.1 + 10:
        raise FileRefused(413, f"The file has about {sheet.rows_estimate} rows; at most {max_rows} are accepted "
                               "in one upload.", [Problem("file", "too_many_rows",
                                                         "Split the file into several uploads.")])
    background = sheet.rows_estimate is None or sheet.rows_estimate > sync_max_rows
    at = now()
    upload = UploadRow(
        public_id=str(uuid.uuid4()), created_by=caller.key_id, caller_role=caller.role,
        caller_npis=sorted(caller.npis), filename=(filename or "upload")[:255],
        file_format=sheet.file_format, mode=mode, status="queued" if background else "running",
        worker_id=None if background else worker_id, heartbeat_at=None if background else at,
        attempts=0 if background else 1, created_at=at, started_at=None if background else at,
        sheet_name=sheet.sheet_name, header_row=sheet.header_row,
        columns=[c.as_dict() for c in sheet.headers.columns], rows_estimate=sheet.rows_estimate or 0,
        rows_read=0, rows_validated=0, rows_stored=0, accepted=0, already_accepted=0, rejected=0, not_stored=0,
        errors=0, warnings=0,
    )
    session.add(upload)
    session.flush()
    session.add(UploadFileRow(upload_id=upload.id, content=content))
    notes = [Located("warning", None, None, "file", p.code, p.message, p.allowed) for p in file_warnings]
    notes += [Located("warning", sheet.header_row, c, None, "unknown_column",
                      f'Column "{c.header}" is not an invoice field and was ignored.', None)
              for c in sheet.headers.unknown]
    if notes:
        upload.warnings = len(notes)
        session.execute(insert(UploadProblemRow), [file_problem_row(upload.id, p) for p in notes])
    session.commit()
    return NewUpload(upload, background)


def visible_to(caller: Caller, upload: UploadRow) -> bool:
    # A provider-scoped key sees only what it uploaded; plan roles see every upload.
    return caller.role != "provider" or upload.created_by == caller.key_id


def get_upload(session: Session, public_id: str, caller: Caller) -> UploadRow | None:
    upload = session.scalar(select(UploadRow).where(UploadRow.public_id == public_id))
    if upload is None or not visible_to(caller, upload):
        return None
    return upload


def list_uploads(session: Session, caller: Caller, limit: int) -> list[UploadRow]:
    query = select(UploadRow).order_by(UploadRow.id.desc()).limit(limit)
    if caller.role == "provider":
        query = query.where(UploadRow.created_by == caller.key_id)
    return list(session.scalars(query))


_p, _i = UploadProblemRow, UploadInvoiceRow
_PROBLEMS = (select(_p.severity, _p.row_number, _p.column_index, _p.column_header, _p.field, _p.code, _p.message,
                    _p.allowed)
             .where(_p.upload_id == bindparam("upload_id"))
             .order_by(_p.row_number.is_not(None), _p.row_number, _p.id))
_OUTCOMES = (select(_i.billing_npi, _i.invoice_number, _i.rows, _i.status, _i.invoice_public_id)
             .where(_i.upload_id == bindparam("upload_id")).order_by(_i.group_index))
# Fetched in batches (a server-side cursor on PostgreSQL, where the driver would otherwise hold the whole
# result; SQLite steps through rows anyway), so a poll never holds 50,000 rows at once.
_STREAM = {"stream_results": True, "max_row_buffer": 2000}
_PROBLEMS = _PROBLEMS.execution_options(**_STREAM)
_OUTCOMES = _OUTCOMES.execution_options(**_STREAM)


def problems_of(session: Session, upload_id: int) -> list[dict]:
    return list(iter_problems(session, upload_id))


def iter_problems(session: Session, upload_id: int) -> Iterator[dict]:
    """Every problem of an upload as the API shows it (file-level ones first, then by row).

    Read as plain column tuples, not ORM objects: a 50,000-line file can carry 50,000 problems and clients poll
    the upload record while the job runs, so this is on the hot path. Read through the connection: the ORM's
    row loading cost as much again as the query. The route reads in a read-only transaction (app.db.reading),
    so on SQLite a poll does not hold the write lock the job needs."""
    rows = session.connection().execute(_PROBLEMS, {"upload_id": upload_id})
    letters: dict[int, str] = {}
    for severity, row, index, header, field, code, message, allowed in rows:
        if index is None:
            letter = header = None
        elif (letter := letters.get(index)) is None:
            letter = letters[index] = column_letter(index)
        yield {"severity": severity, "loc": locate_text(row, header), "row": row, "column": header,
               "column_letter": letter, "field": field, "code": code, "message": message, "allowed": allowed}


def problem_from_row(p: UploadProblemRow) -> Located:
    column = Column(p.column_index, p.column_header, None) if p.column_index is not None else None
    return Located(p.severity, p.row_number, column, p.field, p.code, p.message, p.allowed)


def invoice_outcomes(session: Session, upload_id: int) -> list[dict]:
    return list(iter_invoice_outcomes(session, upload_id))


def iter_invoice_outcomes(session: Session, upload_id: int) -> Iterator[dict]:
    """Each invoice's outcome as the API shows it, in file order (column tuples: this is polled, see above)."""
    rows = session.connection().execute(_OUTCOMES, {"upload_id": upload_id})
    for npi, number, numbers, status, public_id in rows:
        yield {"billing_provider_npi": npi, "invoice_number": number, "rows": numbers, "status": status,
               "invoice_id": public_id}


def invoices_of(session: Session, upload_id: int) -> list[UploadInvoiceRow]:
    return list(session.scalars(select(UploadInvoiceRow).where(UploadInvoiceRow.upload_id == upload_id)
                                .order_by(UploadInvoiceRow.group_index)))


def problem_rows(session: Session, upload_id: int) -> list[UploadProblemRow]:
    return list(session.scalars(select(UploadProblemRow).where(UploadProblemRow.upload_id == upload_id)
                                .order_by(UploadProblemRow.id)))
