"""Batches for MCP encounter pipelines: cut, pull by cursor, download the exact bytes, acknowledge."""

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select

from app import cursors
from app.batches import service
from app.batches.acks import AckRefused, apply_999
from app.batches.models import BatchRow
from app.batches.schemas import AcknowledgmentOut, BatchOut, BatchPage, CutIn, EncounterStatusOut
from app.deps import SessionDep, SettingsDep
from app.errors import problem_response
from app.invoices.routes import PROBLEM

router = APIRouter(prefix="/v1/batches", tags=["batches"])


def batch_out(b: BatchRow) -> BatchOut:
    return BatchOut(
        id=b.public_id, status=b.status, mode=b.mode, payer_id=b.payer_id, release_seq=b.release_seq,
        isa13=f"{b.isa13:09d}", gs06=str(b.gs06), st02_first=f"{b.st02_first:04d}",
        transaction_count=b.transaction_count, claim_count=b.claim_count, line_count=b.line_count,
        encounter_count=b.encounter_count, total_charge=str(b.total_charge), sha256=b.sha256,
        ack_status=b.ack_status, created_at=b.created_at.isoformat(),
        released_at=b.released_at.isoformat() if b.released_at else None,
        validation={k: v for k, v in b.validation.items() if k != "claims"},
    )


@router.post("", status_code=201, response_model=BatchOut, responses={404: PROBLEM, 422: PROBLEM})
async def cut_batch(request: Request, settings: SettingsDep, body: CutIn | None = None):
    """Cut a batch from queued encounters: control numbers from the registry, rendered, validated with pyx12
    (in worker processes), stored. A batch that fails pyx12 is not released (status `failed`): its encounters
    go back to the queue, those with findings held with the findings mapped to invoice and line."""
    body = body or CutIn()
    try:
        batch = await run_in_threadpool(
            service.cut_batch, request.app.state.database.sessionmaker,
            service.CutRequest(mode=body.mode, payer_id=body.payer_id, max_claims=body.max_claims),
            settings.cut_options(),
        )
    except service.NothingToCut as exc:
        return problem_response(404, str(exc), title="Nothing to cut")
    return batch_out(batch)


def _cursor(value: str | None) -> int:
    return cursors.decode("r", value) or 0


@router.get("", response_model=BatchPage, responses={400: PROBLEM})
def list_batches(
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
):
    """Released batches in release order. Keep the last `next_cursor` and ask again later: batches released
    after it come next, and none is skipped, even when several cutters release at once."""
    after = _cursor(cursor)
    rows = list(session.scalars(
        select(BatchRow).where(BatchRow.status == "released", BatchRow.release_seq > after)
        .order_by(BatchRow.release_seq).limit(limit)
    ))
    last = rows[-1].release_seq if rows else after
    return BatchPage(items=[batch_out(b) for b in rows],
                     next_cursor=cursors.encode("r", last))


def _batch(session, batch_id: str) -> BatchRow:
    batch = session.scalar(select(BatchRow).where(BatchRow.public_id == batch_id))
    if batch is None:
        raise HTTPException(404, f"No batch {batch_id}.")
    return batch


@router.get("/{batch_id}", response_model=BatchOut, responses={404: PROBLEM})
def read_batch(batch_id: str, session: SessionDep):
    """Batch metadata: counts, totals, control numbers, sha256, status, validation outcome."""
    return batch_out(_batch(session, batch_id))


@router.get(
    "/{batch_id}/x12",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "The exact stored 837P bytes."},
               404: PROBLEM, 409: PROBLEM},
)
def download_x12(batch_id: str, session: SessionDep, request: Request):
    """The exact bytes stored at release (same bytes on every download; `ETag` is the sha256)."""
    batch = _batch(session, batch_id)
    if batch.status != "released":
        return problem_response(409, f"Batch {batch_id} is {batch.status}; only released batches can be downloaded.")
    name = f"837P_{batch.released_at:%Y%m%d}_{batch.public_id}_{batch.mode}.x12"
    size = service.content_size(session, batch)
    session.rollback()  # read only; on SQLite, let the parts be read while this request's session lives on
    # Streamed a stored part at a time, each read in a short transaction of its own session.
    return StreamingResponse(
        iterate_in_threadpool(service.iter_content(request.app.state.database.sessionmaker, batch.id)),
        media_type="text/plain; charset=us-ascii",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "ETag": f'"{batch.sha256}"',
                 "Content-Length": str(size)})


@router.post("/{batch_id}/acknowledgments", response_model=AcknowledgmentOut,
             responses={404: PROBLEM, 409: PROBLEM, 422: PROBLEM})
def acknowledge(
    batch_id: str, session: SessionDep,
    body: Annotated[str, Body(media_type="text/plain", description="The 999 as X12 text.")],
):
    """Apply a 999: accepted transactions mark their encounters accepted; rejected ones mark them rejected,
    with the IK3/IK4 findings translated to claim and line. A 999 for another batch is refused."""
    batch = _batch(session, batch_id)
    try:
        ack, encounters = apply_999(session, batch, body)
    except AckRefused as refused:
        return problem_response(422, refused.detail, refused.problems)
    return AcknowledgmentOut(
        batch_id=batch.public_id, group_accepted=ack.accepted_group,
        transactions=[{"st02": t.st02, "status": t.status, "errors": len(t.errors)} for t in ack.transactions],
        encounters=[EncounterStatusOut(encounter_id=e.id, invoice_id=e.invoice.public_id, clm01=e.clm01,
                                       status=e.status, findings=e.findings) for e in encounters],
    )
