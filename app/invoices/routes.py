"""HTTP endpoints for invoices: thin — parse, call one service function, shape the response."""

from datetime import date
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from app import cursors
from app.auth.caller import Allow, Caller, CallerDep
from app.deps import RuleContextDep, SessionDep, SettingsDep, intake_limiter, rule_context
from app.errors import problem_response
from app.invoices import corrections, service
from app.invoices.documents import plain_number
from app.invoices.models import InvoiceRow
from app.invoices.problems import Problem
from app.invoices.schemas import (
    CorrectionOut, InvoiceIn, InvoiceOut, InvoicePage, ProblemDetail, ValidationOut,
)
from app.timeliness.deps import PolicyDep, policy_of

router = APIRouter(prefix="/v1/invoices", tags=["invoices"])
WRITERS = [Depends(Allow("provider", "finance"))]
# What ops staff see masked: the member's identity and health details (the rest is what dashboards need).
MASKED_MEMBER_FIELDS = ("member_cin", "medical_record_number", "member_first_name", "member_last_name",
                        "member_residential_address", "member_residential_city", "member_residential_zip",
                        "member_date_of_birth")
MASK = "***"

PROBLEM = {"model": ProblemDetail, "content": {"application/problem+json": {}}}


def invoice_out(row: InvoiceRow, caller: Caller | None = None) -> InvoiceOut:
    doc = row.document
    if caller is not None and not caller.sees_member_details:
        doc = {**{k: v for k, v in doc.items() if k not in MASKED_MEMBER_FIELDS},
               **{k: MASK for k in MASKED_MEMBER_FIELDS if doc.get(k) is not None},
               "lines": [dict(line, member_diagnosis_codes=[MASK]) for line in doc["lines"]]}
    lines = []
    for line, line_doc in zip(row.lines, doc["lines"], strict=True):
        lines.append({
            "line_number": line.line_number,
            "line_item_control_number": line.line_item_control_number,
            **line_doc,
            "program": line.program,
            "encounter_unit": line.encounter_unit,
            "encounter_units": plain_number(line.encounter_units),
            "code_table_version": line.code_table_version,
        })
    encounters = [
        {"id": e.id, "frequency": e.frequency, "status": e.status, "batch_id": e.batch.public_id if e.batch else None,
         "clm01": e.clm01, "original_reference": e.original_reference, "findings": e.findings}
        for e in row.encounters
    ]
    return InvoiceOut(
        id=row.public_id, status=row.status, encounter_status=encounters[-1]["status"] if encounters else None,
        replaces_invoice_id=row.replaces.public_id if row.replaces else None, encounters=encounters,
        receipt_date=row.receipt_date.isoformat(), receipt_date_set_by=row.receipt_date_set_by,
        clean=row.timeliness.clean if row.timeliness else True,
        unclean_reason=row.timeliness.unclean_reason if row.timeliness else None,
        received_at=row.received_at.isoformat(), source=row.source, programs=row.programs.split(","),
        invoice={k: v for k, v in doc.items() if k != "lines"}, lines=lines, warnings=row.warnings,
    )


@router.post(
    "",
    status_code=201,
    response_model=InvoiceOut,
    responses={200: {"model": InvoiceOut, "description": "A retry: the invoice already stored, unchanged."},
               403: PROBLEM, 409: PROBLEM, 422: PROBLEM},
    dependencies=WRITERS,
)
async def submit_invoice(
    body: InvoiceIn, request: Request, caller: CallerDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
):
    """Check one invoice and store it. 201 with the receipt date and warnings; 422 with every problem found
    (nothing stored); 200 when the same invoice (same billing NPI, invoice number and content) was already
    accepted; 409 when that invoice number was accepted with different content. Plan staff may date the
    receipt with `received_date`; any other caller sending it gets a 422. A provider key submits only for
    its own billing NPIs (403 otherwise)."""
    if (denied := out_of_scope(caller, body)) is not None:
        return denied
    state = request.app.state
    return await to_thread.run_sync(_submit, body, state, caller, idempotency_key,
                                    limiter=intake_limiter(state.settings.intake_threads))


def _submit(body: InvoiceIn, state, caller: Caller, idempotency_key: str | None) -> Response:  # noqa: ANN001
    # The busiest route reads its session, rule context and policy from the app state itself rather than
    # through dependencies: FastAPI's resolution of those four cost about a tenth of this route's CPU.
    with state.database.sessionmaker() as session:  # open until the answer is built: a retry's loads lazily
        try:
            outcome = service.submit_invoice(
                session, body.model_dump(exclude_unset=True), rule_context(state), timezone=state.settings.timezone,
                idempotency_key=idempotency_key, caller=caller, policy=policy_of(state),
            )
        except service.IntakeRejected as rejected:
            return problem_response(422, f"The invoice has {len(rejected.problems)} problem(s); nothing was "
                                    "stored.", rejected.problems, rejected.warnings)
        except service.IntakeConflict as conflict:
            if conflict.existing is None:  # an Idempotency-Key reused with another body
                return problem_response(422, conflict.detail, conflict.problems)
            return _conflict(conflict)
        # Serialized here: a returned model would be validated again against response_model on the way out.
        return Response(invoice_out(outcome.invoice).model_dump_json(), status_code=201 if outcome.created else 200,
                        media_type="application/json",
                        headers={"Location": f"/v1/invoices/{outcome.invoice.public_id}"})


@router.post("/validate", response_model=ValidationOut, responses={403: PROBLEM, 422: PROBLEM},
             dependencies=WRITERS)
def validate_invoice(body: InvoiceIn, session: SessionDep, ctx: RuleContextDep, caller: CallerDep,
                     settings: SettingsDep):
    """Run every check `POST /v1/invoices` runs and store nothing. Always 200 for a well-formed request:
    `valid` says whether the invoice would be accepted."""
    if (denied := out_of_scope(caller, body)) is not None:
        return denied
    result = service.validate(session, body.model_dump(exclude_unset=True), ctx, caller=caller,
                              timezone=settings.timezone)
    return ValidationOut(
        valid=not result.findings.errors,
        problems=[p.as_dict() for p in result.findings.errors],
        warnings=[w.as_dict() for w in result.findings.warnings],
    )


@router.get("/{invoice_id}", response_model=InvoiceOut, responses={404: PROBLEM})
def read_invoice(invoice_id: str, session: SessionDep, caller: CallerDep):
    """One invoice as stored, with its lines and line item control numbers (member details masked for ops)."""
    return invoice_out(_current(session, invoice_id, caller), caller)


def _current(session, invoice_id: str, caller: Caller) -> InvoiceRow:
    row = service.get_invoice(session, invoice_id)
    if row is None or not caller.may_act_for(row.billing_npi):  # another provider's invoice does not exist
        raise HTTPException(404, f"No invoice {invoice_id}.")
    return row


def out_of_scope(caller: Caller, body: InvoiceIn):
    """A provider key submits only for its own billing NPIs: the 403 to return, or None."""
    if caller.may_act_for(str(body.billing_provider_npi or "").strip()):
        return None
    return problem_response(
        403, "This API key may not submit invoices for that billing provider.",
        [Problem("billing_provider_npi", "npi_not_in_key_scope",
                 "The billing provider NPI must be one this key was issued for.", sorted(caller.npis))])


def _conflict(conflict: service.IntakeConflict):
    extra = {"existing_invoice_id": conflict.existing.public_id} if conflict.existing else {}
    return problem_response(409, conflict.detail, conflict.problems, **extra)


@router.post("/{invoice_id}/replace", status_code=201, response_model=CorrectionOut,
             responses={403: PROBLEM, 404: PROBLEM, 409: PROBLEM, 422: PROBLEM}, dependencies=WRITERS)
def replace_invoice(invoice_id: str, body: InvoiceIn, session: SessionDep, ctx: RuleContextDep,
                    settings: SettingsDep, caller: CallerDep, policy: PolicyDep):
    """Send the full corrected invoice. The original is kept (status `replaced`); the new version gets a new
    receipt date. If the original was already sent downstream, a replacement encounter (CLM05-3 = 7, REF*F8)
    is queued; if not, the queue is simply updated — the response says which."""
    original = _current(session, invoice_id, caller)
    if (denied := out_of_scope(caller, body)) is not None:
        return denied
    try:
        outcome = corrections.replace_invoice(session, original, body.model_dump(exclude_unset=True), ctx,
                                              timezone=settings.timezone, caller=caller, policy=policy)
    except service.IntakeRejected as rejected:
        return problem_response(422, f"The corrected invoice has {len(rejected.problems)} problem(s); nothing "
                                     "was changed.", rejected.problems, rejected.warnings)
    except service.IntakeConflict as conflict:
        return _conflict(conflict)
    return CorrectionOut(invoice=invoice_out(service.get_invoice(session, outcome.invoice.public_id)),
                         downstream=outcome.downstream, message=outcome.message)


@router.post("/{invoice_id}/void", response_model=CorrectionOut, responses={404: PROBLEM, 409: PROBLEM},
             dependencies=WRITERS)
def void_invoice(invoice_id: str, session: SessionDep, caller: CallerDep):
    """Void an accepted invoice. If it was already sent downstream, a void encounter (CLM05-3 = 8, REF*F8) is
    queued; if not, its queued encounter is withdrawn — the response says which."""
    original = _current(session, invoice_id, caller)
    try:
        outcome = corrections.void_invoice(session, original)
    except service.IntakeConflict as conflict:
        return _conflict(conflict)
    return CorrectionOut(invoice=invoice_out(service.get_invoice(session, outcome.invoice.public_id)),
                         downstream=outcome.downstream, message=outcome.message)


@router.get("", response_model=InvoicePage, responses={400: PROBLEM})
def list_invoices(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    billing_npi: Annotated[str | None, Query(max_length=10)] = None,
    member_cin: Annotated[str | None, Query(max_length=9)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    received_from: Annotated[date | None, Query(description="Receipt date on or after (YYYY-MM-DD).")] = None,
    received_to: Annotated[date | None, Query(description="Receipt date on or before (YYYY-MM-DD).")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
):
    """Invoices oldest first, filtered; follow `next_cursor` for the next page."""
    size = min(limit or settings.page_size_default, settings.page_size_max)
    filters = service.InvoiceFilters(
        billing_npi=billing_npi, member_cin=member_cin.upper() if member_cin else None, status=status,
        received_from=received_from, received_to=received_to,
        billing_npis=caller.npis if caller.is_provider else None,
    )
    rows = service.list_invoices(session, filters, cursors.decode("i", cursor), size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return InvoicePage(items=[invoice_out(r, caller) for r in rows],
                       next_cursor=cursors.encode("i", rows[-1].id) if more else None)
