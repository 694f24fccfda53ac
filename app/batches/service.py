"""Cutting batches: queue -> rendered -> validated -> stored, and the pull and acknowledgment side.

A cut runs in three steps so that no lock is held while pyx12 works:
1. claim queued encounters (row locks, SKIP LOCKED on PostgreSQL) and reserve control numbers; commit;
2. render the 837P and validate it with pyx12 (in worker processes);
3. release the batch (exact bytes + sha256, a release sequence number for the pull cursor) or, when pyx12
   found problems, put the encounters back in the queue with the findings mapped to invoice and line.
A cutter that dies between 1 and 3 leaves a batch in `cutting`; the next cut abandons it (at once when the
dead cutter was on the same host, else after `cut_stale_after_seconds`) and its encounters go back to the
queue. Step 3 first re-reads the batch under a row lock and finishes it only if it is still `cutting`, so a
cutter whose batch was abandoned under it (it was too slow, or judged dead) changes nothing. Control numbers
are never reused."""

import hashlib
import os
import socket
import logging
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.batches.models import BatchRow, EncounterRow
from app.batches.registry import allocate
from app.invoices.documents import invoice_from_document
from app.invoices.models import InvoiceLineRow, InvoiceRow
from app.x12.loops837p import ClaimRef, ControlNumbers, EncounterInput, Envelope, render_837p
from app.x12.pyx12_check import findings_by_claim, validate_837_parallel

log = logging.getLogger("encounter_service.batches")
MAX_LINES_PER_CLAIM = 50
MAX_CLAIMS_PER_ST = 5000


@dataclass(frozen=True)
class CutRequest:
    mode: str = "encounter"  # encounter (BHT06 RP) or claim (CH)
    payer_id: str | None = None
    max_claims: int = 5000


@dataclass(frozen=True)
class CutOptions:
    envelope: Envelope
    validate: bool = True
    validate_processes: int = 0  # 0: every core
    stale_after: timedelta = timedelta(minutes=15)


class NothingToCut(Exception):
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_cutter() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start(os.getpid()) or '?'}"


def _cutter_is_dead(cutter: str | None) -> bool:
    """True only when we can tell: same host, and no process with that pid and start time exists."""
    if not cutter:
        return False
    host, _, rest = cutter.partition(":")
    pid, _, started = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or started == "?" or not os.path.exists("/proc/self/stat"):
        return False
    return _process_start(int(pid)) != started


def reclaim_abandoned(session: Session, stale_after: timedelta) -> int:
    """Batches stuck in `cutting` are abandoned and their encounters return to the queue: at once when their
    cutter was on this host and has died (killed, crashed, restarted), else after `stale_after`."""
    cutoff = _now() - stale_after
    cutting = list(session.scalars(select(BatchRow).where(BatchRow.status == "cutting").with_for_update()))
    stale = [b for b in cutting if b.created_at < cutoff or _cutter_is_dead(b.cutter)]
    for batch in stale:
        batch.status = "abandoned"
        session.execute(
            update(EncounterRow).where(EncounterRow.batch_id == batch.id, EncounterRow.status == "cutting")
            .values(status="queued", batch_id=None, updated_at=_now())
        )
    return len(stale)


def _claims_needed(lines: int) -> int:
    return max(1, math.ceil(lines / MAX_LINES_PER_CLAIM))


def _claim_encounters(session: Session, request: CutRequest, stale_after: timedelta) -> BatchRow:
    reclaim_abandoned(session, stale_after)
    # Ids and line counts only: the invoices themselves are read in phase 2, a chunk at a time.
    line_count = (select(func.count(InvoiceLineRow.id)).where(InvoiceLineRow.invoice_id == EncounterRow.invoice_id)
                  .correlate(EncounterRow).scalar_subquery())
    query = (
        select(EncounterRow.id, line_count)
        .where(EncounterRow.status == "queued").order_by(EncounterRow.id)
        .limit(request.max_claims).with_for_update(skip_locked=True, of=EncounterRow)
    )
    if request.payer_id:
        query = query.where(EncounterRow.payer_id == request.payer_id)
    picked, claims, worst_case_claims = [], 0, 0
    for encounter_id, lines in session.execute(query):
        need = _claims_needed(lines)
        if picked and claims + need > request.max_claims:
            break
        picked.append(encounter_id)
        claims += need
        worst_case_claims += lines  # a line per claim is the most any split makes
    if not picked:
        raise NothingToCut("No queued encounters match.")
    now = _now()
    batch = BatchRow(
        public_id=str(uuid.uuid4()), mode=request.mode, payer_id=request.payer_id, status="cutting", cutter=this_cutter(),
        isa13=allocate(session, "isa13"), gs06=allocate(session, "gs06"),
        st02_first=allocate(session, "st02", math.ceil(worst_case_claims / MAX_CLAIMS_PER_ST)),
        encounter_count=len(picked), validation={}, created_at=now,
    )
    session.add(batch)
    session.flush()
    session.execute(update(EncounterRow), [  # one executemany by primary key
        {"id": encounter_id, "status": "cutting", "batch_id": batch.id, "updated_at": now} for encounter_id in picked
    ])
    session.commit()
    return batch


def _input(encounter_id: int, frequency: str, original_reference: str | None, invoice_id: int, invoice_number: str,
           document: dict, lines: Sequence) -> EncounterInput:
    """`lines`: the invoice's lines in line-number order, each with line_number, program, encounter_unit,
    encounter_units and code_table_version."""
    derived = [{"program": ln.program, "encounter_unit": ln.encounter_unit,
                "encounter_units": str(ln.encounter_units), "code_table_version": ln.code_table_version}
               for ln in lines]
    return EncounterInput(
        invoice=invoice_from_document(document, derived),
        claim_id_base=invoice_number,
        # as InvoiceLineRow.line_item_control_number
        line_control_numbers=tuple(f"E{invoice_id}-{ln.line_number}" for ln in lines),
        encounter_id=str(encounter_id),
        frequency=frequency,
        original_reference=original_reference,
    )


def encounter_input(encounter: EncounterRow) -> EncounterInput:
    invoice = encounter.invoice
    return _input(encounter.id, encounter.frequency, encounter.original_reference, invoice.id, invoice.invoice_number,
                  invoice.document, invoice.lines)


LOAD_CHUNK = 1000  # encounters read per query in phase 2


def _encounter_inputs(session: Session, batch_id: int) -> tuple[list[EncounterInput], list[int]]:
    """The batch's encounters as writer input, in id order, read with plain column queries a chunk at a time:
    no ORM objects (identity map, loader state, expiry snapshots) are kept for the whole batch."""
    heads = session.execute(
        select(EncounterRow.id, EncounterRow.invoice_id, EncounterRow.frequency, EncounterRow.original_reference)
        .where(EncounterRow.batch_id == batch_id).order_by(EncounterRow.id)
    ).all()
    inputs = []
    for start in range(0, len(heads), LOAD_CHUNK):
        chunk = heads[start:start + LOAD_CHUNK]
        invoice_ids = sorted({h.invoice_id for h in chunk})
        invoices = {row.id: row for row in session.execute(
            select(InvoiceRow.id, InvoiceRow.invoice_number, InvoiceRow.document).where(InvoiceRow.id.in_(invoice_ids))
        )}
        lines: dict[int, list] = {}
        for ln in session.execute(
            select(InvoiceLineRow.invoice_id, InvoiceLineRow.line_number, InvoiceLineRow.program,
                   InvoiceLineRow.encounter_unit, InvoiceLineRow.encounter_units, InvoiceLineRow.code_table_version)
            .where(InvoiceLineRow.invoice_id.in_(invoice_ids))
            .order_by(InvoiceLineRow.invoice_id, InvoiceLineRow.line_number)
        ):
            lines.setdefault(ln.invoice_id, []).append(ln)
        for h in chunk:
            invoice = invoices[h.invoice_id]
            inputs.append(_input(h.id, h.frequency, h.original_reference, h.invoice_id, invoice.invoice_number,
                                 invoice.document, lines.get(h.invoice_id, [])))
    return inputs, [h.id for h in heads]


def cut_batch(factory: sessionmaker, request: CutRequest, options: CutOptions) -> BatchRow:
    with factory() as session:
        batch = _claim_encounters(session, request, options.stale_after)
    with factory() as session:
        batch = session.get(BatchRow, batch.id)
        inputs, encounter_ids = _encounter_inputs(session, batch.id)
        rendered = render_837p(
            inputs, envelope=options.envelope,
            control=ControlNumbers(isa13=batch.isa13, gs06=batch.gs06, st02_first=batch.st02_first),
            mode=request.mode, created=batch.created_at, batch_id=batch.public_id,
        )
        del inputs
        session.rollback()  # nothing to write yet; don't hold a transaction while pyx12 runs
        report = validate_837_parallel(rendered.text, options.validate_processes) if options.validate else None
        if not _still_cutting(session, batch):
            log.warning("batch abandoned while being cut; nothing written", extra={"batch_id": batch.public_id})
            session.commit()
            return batch
        if report is not None and not report.ok:
            return _fail(session, batch, rendered.claims, report)
        return _release(session, batch, encounter_ids, rendered, report is not None)


def _still_cutting(session: Session, batch: BatchRow) -> bool:
    """Lock the batch row (SQLite: the write lock, BEGIN IMMEDIATE) and tell whether it is still ours to finish;
    reclaim_abandoned takes the same lock, so a batch is either finished or abandoned, never both."""
    session.refresh(batch, with_for_update=True)
    return batch.status == "cutting"


def _claims_json(claims: Sequence[ClaimRef]) -> list[dict]:
    return [{"encounter_id": c.encounter_id, "clm01": c.clm01, "st02": c.st02,
             "first_segment": c.first_segment, "last_segment": c.last_segment, "st_segment": c.st_segment,
             "member_loop_segment": c.member_loop_segment,
             "line_control_numbers": list(c.line_control_numbers), "total_charge": str(c.total_charge)}
            for c in claims]


def _release(session: Session, batch: BatchRow, encounter_ids: Sequence[int], rendered, validated: bool) -> BatchRow:
    data = rendered.text.encode("ascii")
    batch.release_seq = allocate(session, "release_seq", maximum=None)  # row lock: releases commit in order
    batch.status, batch.released_at = "released", _now()
    batch.content, batch.sha256 = data, hashlib.sha256(data).hexdigest()
    batch.transaction_count, batch.claim_count = rendered.transaction_count, len(rendered.claims)
    batch.line_count = sum(len(c.line_control_numbers) for c in rendered.claims)
    batch.total_charge = rendered.total_charge
    batch.validation = {"pyx12": "clean" if validated else "skipped", "claims": _claims_json(rendered.claims)}
    first_clm01: dict[str, str] = {}
    for claim in rendered.claims:
        first_clm01.setdefault(claim.encounter_id, claim.clm01)
    # One executemany by primary key: setting attributes on the (expired) ORM objects would reload each row,
    # and autoflush the previous one, a round trip or two per encounter.
    now = _now()
    session.execute(update(EncounterRow), [
        {"id": encounter_id, "status": "batched", "updated_at": now, "clm01": first_clm01.get(str(encounter_id))}
        for encounter_id in encounter_ids
    ])
    session.commit()
    log.info("batch released", extra={"batch_id": batch.public_id, "claims": batch.claim_count})
    return batch


def _fail(session: Session, batch: BatchRow, claims, report) -> BatchRow:
    by_encounter = findings_by_claim(report, claims)
    encounters = session.scalars(  # still this batch's: _still_cutting has just confirmed it under the lock
        select(EncounterRow).options(selectinload(EncounterRow.invoice)).where(EncounterRow.batch_id == batch.id)
        .order_by(EncounterRow.id)
    ).all()
    batch.status = "failed"
    batch.validation = {"pyx12": "findings", "findings": [_finding_dict(f) for f in report.findings][:1000],
                        "crashed": report.crashed, "claims": _claims_json(claims)}
    for encounter in encounters:
        found = by_encounter.get(str(encounter.id), [])
        encounter.batch_id = None
        encounter.updated_at = _now()
        if found:
            encounter.status = "held"
            encounter.findings = [{"batch_id": batch.public_id, "invoice_id": encounter.invoice.public_id,
                                   **_finding_dict(f)} for f in found]
        else:
            encounter.status = "queued"
    session.commit()
    log.warning("batch failed validation", extra={"batch_id": batch.public_id, "findings": len(report.findings)})
    return batch


def _finding_dict(finding) -> dict:
    return {k: v for k, v in vars(finding).items() if not k.startswith("_")}
