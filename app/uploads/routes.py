"""HTTP endpoints for spreadsheet uploads: thin — read the request, call the uploads service, shape the record."""

import io
import json
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, Response, UploadFile
from sqlalchemy import select, update

from app.auth.caller import Allow, CallerDep
from app.db import Database, reading
from app.deps import RuleContextDep, SettingsDep
from app.errors import problem_response
from app.invoices.problems import Problem
from app.invoices.schemas import ProblemDetail
from app.uploads import service
from app.uploads.annotate import annotated_workbook
from app.uploads.columns import column_letter
from app.uploads.job import run_upload
from app.uploads.models import UploadFileRow, UploadRow
from app.uploads.reading import FileRefused
from app.uploads.schemas import UploadList, UploadOut, UploadSummaryOut
from app.uploads.template import template_csv, template_workbook
from app.uploads.worker import job_context, new_worker_id

router = APIRouter(prefix="/v1/uploads", tags=["uploads"])

PROBLEM = {"model": ProblemDetail, "content": {"application/problem+json": {}}}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Mode = Literal["per_invoice", "all_or_nothing"]


def _database(request: Request) -> Database:
    return request.app.state.database


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _progress(u: UploadRow) -> dict:
    return {"rows_total": u.rows_total, "rows_estimate": u.rows_estimate, "rows_read": u.rows_read,
            "rows_validated": u.rows_validated, "rows_stored": u.rows_stored}


def _counts(u: UploadRow) -> dict:
    return {"rows": u.rows_total, "invoices": u.invoices_total, "accepted": u.accepted,
            "already_accepted": u.already_accepted, "rejected": u.rejected, "not_stored": u.not_stored,
            "errors": u.errors, "warnings": u.warnings}


def upload_out(session, u: UploadRow) -> dict:
    """The upload record in the shape of UploadOut, as plain data: GET /v1/uploads/{id} is polled while a large
    file runs and may list tens of thousands of problems, so it is not built from (or checked as) models."""
    return {**_head(u), "invoices": service.invoice_outcomes(session, u.id),
            "problems": service.problems_of(session, u.id), "annotated_url": _annotated_url(u)}


# JSONResponse's encoding (starlette: json.dumps(ensure_ascii=False, allow_nan=False, indent=None,
# separators=(",", ":")).encode("utf-8")), applied one invoice and one problem at a time.
_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")).encode


def upload_json(session, u: UploadRow) -> bytes:
    """The bytes JSONResponse(upload_out(session, u)) sends, built item by item: near the end of a 50,000-line
    upload a poll is 27 MB of JSON, and holding all its dicts, the encoder's chunks, the str and the bytes at
    once took about 230 MB of the server's peak RSS. Here only the result is held, written as it is encoded."""
    out = io.BytesIO()
    out.write(_ENCODE(_head(u))[:-1].encode())
    for name, items in (("invoices", service.iter_invoice_outcomes(session, u.id)),
                        ("problems", service.iter_problems(session, u.id))):
        out.write(f',"{name}":['.encode())
        for n, item in enumerate(items):
            if n:
                out.write(b",")
            out.write(_ENCODE(item).encode())
        out.write(b"]")
    out.write(b',"annotated_url":' + _ENCODE(_annotated_url(u)).encode() + b"}")
    return out.getvalue()


def _annotated_url(u: UploadRow) -> str:
    return f"/v1/uploads/{u.public_id}/annotated.xlsx"


def _head(u: UploadRow) -> dict:
    """The record's fields before its invoices and problems, in UploadOut's order."""
    return {
        "id": u.public_id, "status": u.status, "mode": u.mode, "filename": u.filename, "format": u.file_format,
        "sheet": u.sheet_name, "header_row": u.header_row, "created_by": u.created_by,
        "created_at": u.created_at.isoformat(), "started_at": _iso(u.started_at), "finished_at": _iso(u.finished_at),
        "failure": u.failure, "progress": _progress(u), "counts": _counts(u),
        "columns": [{"column": c["header"], "column_letter": column_letter(c["index"]), "field": c["field"]}
                    for c in u.columns],
    }


def _attachment(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/template.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The template workbook."}})
def download_template_workbook(request: Request):
    """The invoice-lines workbook: one row per service line, a column per DHCS data element, drop-down lists
    for the closed value sets (procedure codes and modifiers from the code table in force, place of service,
    state, homelessness Y/N), date and money formats, an instructions sheet and two example rows."""
    state = request.app.state
    content = template_workbook(state.code_tables, state.places_of_service, state.us_states)
    return _attachment(content, XLSX, "invoice-upload-template.xlsx")


@router.get("/template.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "The template as CSV."}})
def download_template_csv():
    """The same columns as CSV: the header row and an ECM and a Community Supports example row."""
    return _attachment(template_csv(), "text/csv; charset=utf-8", "invoice-upload-template.csv")


@router.post(
    "",
    dependencies=[Depends(Allow("provider", "finance"))],  # ops reads uploads but does not send them
    status_code=201,
    response_model=UploadOut,
    responses={202: {"model": UploadOut, "description": "A large file: queued as a background job; poll "
                                                        "GET {Location}/status for progress."},
               413: PROBLEM, 415: PROBLEM, 422: PROBLEM},
)
def create_upload(
    request: Request, response: Response, caller: CallerDep, settings: SettingsDep, ctx: RuleContextDep,
    file: Annotated[UploadFile, File(description="The .csv or .xlsx file: one row per service line.")],
    mode_form: Annotated[Mode | None, Form(alias="mode")] = None,
    mode_query: Annotated[Mode | None, Query(alias="mode", description=(
        "per_invoice (default): every valid invoice is stored even if others fail. all_or_nothing: nothing "
        "is stored unless every invoice in the file is valid."))] = None,
):
    """Upload invoice lines. Rows with the same Billing Provider NPI + Invoice Number are one invoice; each
    goes through exactly the checks of `POST /v1/invoices`. A small file is processed at once (201, the
    upload record with every problem located by row and column); a large one is queued (202) and
    `GET /v1/uploads/{id}` shows its progress. A file that cannot be read at all (wrong type, empty,
    required columns missing) gets problem+json and nothing is stored."""
    content = file.file.read(settings.upload_max_bytes + 1)
    if len(content) > settings.upload_max_bytes:
        return problem_response(413, f"The file is larger than {settings.upload_max_bytes} bytes.", [Problem(
            "file", "file_too_large", "Split the file into several uploads.")])
    database = _database(request)
    worker_id = new_worker_id("request")
    with database.sessionmaker() as session:
        try:
            new = service.create_upload(
                session, filename=file.filename or "", content=content, mode=mode_form or mode_query or "per_invoice",
                caller=caller, sync_max_rows=settings.upload_sync_max_rows, max_rows=settings.upload_max_rows,
                worker_id=worker_id)
        except FileRefused as refused:
            return problem_response(refused.status, refused.detail, refused.problems)
        upload_id, public_id = new.upload.id, new.upload.public_id
    del content
    if new.background:
        worker = getattr(request.app.state, "upload_worker", None)
        if worker is not None:
            worker.notify()
        response.status_code = 202
    else:
        run_upload(job_context(database, settings, lambda: ctx, worker_id), upload_id)
    response.headers["Location"] = f"/v1/uploads/{public_id}"
    with database.sessionmaker() as session:
        return upload_out(session, session.get(UploadRow, upload_id))


@router.get("", response_model=UploadList)
def list_uploads(request: Request, caller: CallerDep,
                 limit: Annotated[int, Query(ge=1, le=500)] = 50):
    """The most recent uploads first (a provider key sees only its own), with counts and progress."""
    with _database(request).sessionmaker() as session, reading(session):
        return UploadList(items=[_summary(u) for u in service.list_uploads(session, caller, limit)])


def _summary(u: UploadRow) -> UploadSummaryOut:
    return UploadSummaryOut(id=u.public_id, status=u.status, filename=u.filename, created_by=u.created_by,
                            created_at=u.created_at.isoformat(), progress=_progress(u), counts=_counts(u))


def _visible(session, upload_id: str, caller) -> UploadRow:
    upload = service.get_upload(session, upload_id, caller)
    if upload is None:
        raise HTTPException(404, f"No upload {upload_id}.")
    return upload


@router.get("/{upload_id}", response_model=UploadOut, responses={404: PROBLEM})
def read_upload(upload_id: str, request: Request, caller: CallerDep):
    """The upload record: status, progress (rows read / validated / stored), counts, each invoice's outcome
    and every problem located as `row N, column "Header"` with the field path, code and message."""
    # A read-only transaction: on SQLite a session's transaction would otherwise take the write lock
    # (BEGIN IMMEDIATE) and a poll of a large upload would hold up the job it is watching.
    with _database(request).sessionmaker() as session, reading(session):
        body = upload_json(session, _visible(session, upload_id, caller))
    # Already in UploadOut's shape (tests/uploads check it against the schema); encoded directly.
    return Response(body, media_type="application/json")


@router.get("/{upload_id}/status", response_model=UploadSummaryOut, responses={404: PROBLEM})
def read_upload_status(upload_id: str, request: Request, caller: CallerDep):
    """Status, progress and counts only: what to poll while a large file runs. The full record (every invoice's
    outcome and every problem, tens of megabytes for a large file) is for once it has completed."""
    with _database(request).sessionmaker() as session, reading(session):
        return _summary(_visible(session, upload_id, caller))


@router.get("/{upload_id}/annotated.xlsx", response_class=Response,
            responses={200: {"content": {XLSX: {}}, "description": "The annotated workbook."}, 404: PROBLEM,
                       409: PROBLEM})
def download_annotated(upload_id: str, request: Request, caller: CallerDep):
    """The provider's own rows (same row numbers) with an "Upload Status" and an "Upload Problems" column
    added, and every cell with an error highlighted and commented: the file to fix and upload again
    (invoices already accepted are not stored twice)."""
    with _database(request).sessionmaker() as session:
        with reading(session):  # read-only; the workbook is built after the transaction has ended
            upload = _visible(session, upload_id, caller)
            if upload.status != "completed":
                return problem_response(409, f"The upload is {upload.status}; the annotated workbook is ready "
                                             "when it has completed.")
            content = session.scalar(select(UploadFileRow.content).where(UploadFileRow.upload_id == upload.id))
            problems = [service.problem_from_row(p) for p in service.problem_rows(session, upload.id)]
            invoices = service.invoices_of(session, upload.id)
        name = upload.filename.rsplit(".", 1)[0]
        body = annotated_workbook(upload, content, problems, invoices)
    return _attachment(body, XLSX, f"{name}-checked.xlsx")


@router.post("/{upload_id}/resume", response_model=UploadOut, status_code=202, responses={404: PROBLEM, 409: PROBLEM},
             dependencies=[Depends(Allow("provider", "finance"))])
def resume_upload(upload_id: str, request: Request, caller: CallerDep, settings: SettingsDep):
    """Queue an upload again that failed or whose worker died; invoices it already stored are not stored
    twice. A running upload with a live worker, or a completed one, is left alone (409)."""
    database = _database(request)
    with database.sessionmaker() as session:
        upload = _visible(session, upload_id, caller)
        stale = upload.heartbeat_at is None or \
            upload.heartbeat_at < datetime.now(upload.heartbeat_at.tzinfo) - timedelta(
                seconds=settings.upload_stale_after_seconds)
        if upload.status == "completed" or (upload.status == "running" and not stale):
            return problem_response(409, f"The upload is {upload.status}; there is nothing to resume.")
        session.execute(update(UploadRow).where(UploadRow.id == upload.id)
                        .values(status="queued", worker_id=None, failure=None, finished_at=None))
        session.commit()
        worker = getattr(request.app.state, "upload_worker", None)
        if worker is not None:
            worker.notify()
        session.refresh(upload)
        return upload_out(session, upload)
