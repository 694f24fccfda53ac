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

import functools
import gc
import hashlib
import json
import tempfile
import os
import socket
import logging
import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Row, Text, cast, column, func, select, true, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from app.batches.models import BatchClaimPartRow, BatchContentPartRow, BatchRow, EncounterRow
from app.batches.registry import allocate
from app.db import id_in, reading
from app.invoices.documents import invoice_from_document
from app.invoices.models import InvoiceLineRow, InvoiceRow, line_item_control_number
from app.x12.loops837p import ClaimRef, ControlNumbers, EncounterInput, Envelope, Stream837, sort_key
from app.x12.pyx12_check import TransactionValidator, findings_by_claim

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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block that allocates many objects that live on (and make no
    cycles): each collection it would trigger rescans them all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    table = EncounterRow.__table__
    for start in range(0, len(picked), 5000):  # the same values for every row: one UPDATE ... IN per slice
        session.execute(table.update().where(id_in(table.c.id, picked[start:start + 5000], session.get_bind().dialect))
                        .values(status="cutting", batch_id=batch.id, updated_at=now))
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
        line_control_numbers=tuple(line_item_control_number(invoice_id, ln.line_number) for ln in lines),
        encounter_id=str(encounter_id),
        frequency=frequency,
        original_reference=original_reference,
    )


def encounter_input(encounter: EncounterRow) -> EncounterInput:
    invoice = encounter.invoice
    return _input(encounter.id, encounter.frequency, encounter.original_reference, invoice.id, invoice.invoice_number,
                  invoice.document, invoice.lines)


LOAD_CHUNK = 1000  # encounters read per query in phase 2
DECODE_SLICE = 100  # of which decoded and rebuilt at a time
_BILLING_FIELDS = ("npi", "tin", "name", "first_name", "last_name", "address", "city", "state", "zip", "phone_number")


def _cut_order(session: Session, batch_id: int) -> list[tuple[int, tuple]]:
    """(encounter id, sort key) for the batch's encounters in the order the 837P writes them (sort_key: the
    billing provider's fields, then the member CIN; ties in id order). Only those fields are read, from the
    stored documents by the database's JSON operators, and equal provider keys share one tuple, so this stays
    small; each invoice's full key is checked against it when the invoice is loaded (_ordered_inputs).

    PostgreSQL stores `json` as text and parses it again for each ->> operator: eleven parses of every
    document took most of a 100k cut's time there (5.6 s of server time against 0.8 s for one parse), so
    there the fields come from one json_to_record per document, which gives the same text values (JSON
    strings unescaped, JSON null as NULL). SQLite's json_extract is cheap enough to keep the operators."""
    document = InvoiceRow.document
    names = ["member_cin", *(f"billing_provider_{name}" for name in _BILLING_FIELDS)]
    query = select(EncounterRow.id).join(InvoiceRow, InvoiceRow.id == EncounterRow.invoice_id)
    if session.get_bind().dialect.name == "postgresql":
        fields = (func.json_to_record(document).table_valued(*(column(name, Text) for name in names))
                  .render_derived(name="fields", with_types=True))
        query = query.join(fields, true()).add_columns(*(fields.c[name] for name in names))
    else:
        query = query.add_columns(*(document[name].as_string() for name in names))
    query = query.where(EncounterRow.batch_id == batch_id).order_by(EncounterRow.id)
    providers: dict[tuple, tuple] = {}
    order = []
    with _gc_paused():  # a tuple per encounter, no cycles: collections would rescan the growing list
        for row in session.execute(query, execution_options={"yield_per": 5000}):
            provider = tuple(row[2:])
            order.append((row[0], (providers.setdefault(provider, provider), row[1])))
    order.sort(key=lambda item: item[1])  # stable: id order within equal keys, as render_837p's sort
    return order


def _load(connection, encounter_ids: Sequence[int]) -> tuple[dict[int, Row], dict[int, tuple[list, list]]]:
    """The given encounters' rows (id, invoice_id, frequency, original_reference, invoice_number, document as
    text) by id, and their invoices' lines by invoice id (the code table's values for each line, and its line
    control number, in line-number order): two plain column queries (no ORM objects: identity map, loader
    state, expiry snapshots), each fetched at once. Rows are unpacked as tuples, not read by attribute name
    (a Row's attribute access was a tenth of the time spent rebuilding an invoice)."""
    heads = {row[0]: row for row in connection.execute(
        select(EncounterRow.id, EncounterRow.invoice_id, EncounterRow.frequency, EncounterRow.original_reference,
               InvoiceRow.invoice_number, cast(InvoiceRow.document, Text))
        .join(InvoiceRow, InvoiceRow.id == EncounterRow.invoice_id)
        .where(id_in(EncounterRow.id, encounter_ids, connection.dialect))
    ).all()}
    lines: dict[int, tuple[list, list]] = {}  # invoice id -> (derived values, line control numbers)
    for invoice_id, line_number, program, unit, units, version in connection.execute(
        select(InvoiceLineRow.invoice_id, InvoiceLineRow.line_number, InvoiceLineRow.program,
               InvoiceLineRow.encounter_unit, InvoiceLineRow.encounter_units, InvoiceLineRow.code_table_version)
        .where(id_in(InvoiceLineRow.invoice_id, sorted({head[1] for head in heads.values()}), connection.dialect))
        .order_by(InvoiceLineRow.invoice_id, InvoiceLineRow.line_number)
    ).all():
        derived, controls = lines.setdefault(invoice_id, ([], []))
        derived.append({"program": program, "encounter_unit": unit, "encounter_units": units,
                        "code_table_version": version})
        controls.append(line_item_control_number(invoice_id, line_number))
    return heads, lines


def _decode(texts: list[str]) -> list[dict]:
    """The JSON documents decoded by one json.loads of them as an array, which shares the keys' strings across
    documents: a quarter faster than one call each, and the same values (each text is one stored JSON value;
    the count is checked by the caller's zip(strict=True)). The text comes from the database (the column cast
    to text), not through the JSON type's per-row decoding."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []


def _ordered_inputs(session: Session, order: Sequence[tuple[int, tuple]]) -> Iterator[EncounterInput]:
    """The encounters as writer input in `order`: read LOAD_CHUNK at a time as the writer asks for them, then
    decoded and rebuilt DECODE_SLICE at a time in that order, just before the writer takes them (a slice's
    documents and objects are still in the CPU's caches then; a whole chunk's are not)."""
    connection = session.connection()  # Core: column rows need none of the ORM's result processing
    for start in range(0, len(order), LOAD_CHUNK):
        chunk = order[start:start + LOAD_CHUNK]
        heads, lines = _load(connection, [encounter_id for encounter_id, _ in chunk])
        for at in range(0, len(chunk), DECODE_SLICE):
            part = chunk[at:at + DECODE_SLICE]
            rows = [heads.pop(encounter_id) for encounter_id, _ in part]
            for (encounter_id, key), (_, invoice_id, frequency, original_reference, invoice_number, _), document in (
                    zip(part, rows, _decode([row[5] for row in rows]), strict=True)):
                derived, controls = lines.get(invoice_id, ((), ()))
                encounter = EncounterInput(
                    invoice=invoice_from_document(document, derived), claim_id_base=invoice_number,
                    line_control_numbers=tuple(controls), encounter_id=str(encounter_id), frequency=frequency,
                    original_reference=original_reference)
                if sort_key(encounter) != key:  # the JSON operators read the document differently: never guess
                    raise RuntimeError(f"encounter {encounter_id}: stored sort key does not match its invoice")
                yield encounter


class _ClaimLog:
    """What the cut keeps of each claim: its JSON (as _claims_json writes it), one JSON array per transaction
    set, a line each in an unnamed temporary file (not in memory: only the current set's claims are held); and
    counts (claims, lines, encounters)."""

    __slots__ = ("spool", "current", "encounters", "last_encounter", "count", "lines")

    def __init__(self, spool: BinaryIO) -> None:
        self.spool = spool
        self.current: list[ClaimRef] = []
        self.encounters = 0
        self.last_encounter: str | None = None
        self.count = self.lines = 0

    def __call__(self, claim: ClaimRef) -> None:
        self.current.append(claim)
        if claim.encounter_id != self.last_encounter:  # an encounter's claims are written one after another
            if not claim.clm01.endswith("-01"):  # _release sets each encounter's CLM01 as "<invoice number>-01"
                raise RuntimeError(f"encounter {claim.encounter_id}: its first claim is {claim.clm01}")
            self.encounters += 1
            self.last_encounter = claim.encounter_id
        self.count += 1
        self.lines += len(claim.line_control_numbers)

    def end_transaction(self) -> None:
        if self.current:  # one json.dumps of the set's list: the same text as its claims' joined by ", "
            with _gc_paused():  # thousands of new dicts and lists, no cycles: see render_837p
                text = json.dumps(_claims_json(self.current))
            self.spool.write((text + "\n").encode("ascii"))  # json.dumps: ASCII
            self.current = []

    def json_parts(self) -> Iterator[str]:
        """Each transaction set's claims as a JSON array, in order."""
        self.end_transaction()
        self.spool.seek(0)
        for line in self.spool:
            yield line.decode("ascii").rstrip("\n")

    def claims(self) -> list[ClaimRef]:
        return [ClaimRef(encounter_id=c["encounter_id"], clm01=c["clm01"], st02=c["st02"],
                         line_control_numbers=tuple(c["line_control_numbers"]), first_segment=c["first_segment"],
                         last_segment=c["last_segment"], member_loop_segment=c["member_loop_segment"],
                         st_segment=c["st_segment"], total_charge=Decimal(c["total_charge"]))
                for part in self.json_parts() for c in json.loads(part)]


PART_BYTES = 1 << 20  # batch_content_parts: the file in pieces of this size (the last may be shorter)


def cut_batch(factory: sessionmaker, request: CutRequest, options: CutOptions) -> BatchRow:
    with factory() as session:
        batch = _claim_encounters(session, request, options.stale_after)
    with factory() as session, tempfile.TemporaryFile() as spool, tempfile.TemporaryFile() as claim_spool:
        # The file is written to `spool` (an unnamed temporary file: gone with the process, whatever happens)
        # and hashed as it is rendered, a transaction set at a time; each set also goes to pyx12 at once. Only
        # the release copies it into batch_content_parts, in its own transaction: a cut that fails, is
        # abandoned or dies writes no part.
        batch = session.get(BatchRow, batch.id)
        order = _cut_order(session, batch.id)
        log_ = _ClaimLog(claim_spool)
        stream = Stream837(
            _ordered_inputs(session, order), envelope=options.envelope,
            control=ControlNumbers(isa13=batch.isa13, gs06=batch.gs06, st02_first=batch.st02_first),
            mode=request.mode, created=batch.created_at, batch_id=batch.public_id, on_claim=log_,
        )
        digest = hashlib.sha256()

        def write(text: str) -> None:
            data = text.encode("ascii")
            digest.update(data)
            spool.write(data)

        validator = (TransactionValidator(stream.header, group_control=batch.gs06, interchange_control=batch.isa13,
                                          processes=options.validate_processes) if options.validate else None)
        try:
            write(stream.header)
            for transaction in stream.transactions():
                write(transaction.text)
                if validator is not None:
                    validator.add(transaction.text, transaction.first_segment, transaction.segment_count)
                log_.end_transaction()
                del transaction
            write(stream.trailer)
            del order
            session.rollback()  # nothing to write yet; don't hold a transaction while pyx12 finishes
            report = validator.finish(stream.segment_count) if validator is not None else None
        except BaseException:
            if validator is not None:
                validator.abandon()
            raise
        if not _still_cutting(session, batch):
            log.warning("batch abandoned while being cut; nothing written", extra={"batch_id": batch.public_id})
            session.commit()
            return batch
        if report is not None and not report.ok:
            return _fail(session, batch, log_.claims(), report)
        spool.seek(0)
        return _release(session, batch, spool, digest.hexdigest(), stream, log_, report is not None)


def content_size(session: Session, batch: BatchRow) -> int:
    """The released file's length in bytes."""
    if batch.content is not None:
        return len(batch.content)
    return session.scalar(select(func.coalesce(func.sum(func.length(BatchContentPartRow.content)), 0))
                          .where(BatchContentPartRow.batch_id == batch.id)) or 0


def iter_content(factory: sessionmaker, batch_id: int) -> Iterator[bytes]:
    """The released file's bytes, a part at a time (a session of its own, so a streaming response can use it
    after the request's session is gone)."""
    with factory() as session:
        with reading(session):  # SQLite: a read transaction (DEFERRED), which neither waits for nor blocks a writer
            legacy = session.scalar(select(BatchRow.content).where(BatchRow.id == batch_id))
            seqs = list(session.scalars(select(BatchContentPartRow.seq)
                                        .where(BatchContentPartRow.batch_id == batch_id)
                                        .order_by(BatchContentPartRow.seq)))
        if legacy is not None:
            yield bytes(legacy)
            return
        del legacy
        for seq in seqs:  # one part per read transaction: no snapshot is held while the client reads
            with reading(session):
                part = session.scalar(select(BatchContentPartRow.content)
                                      .where(BatchContentPartRow.batch_id == batch_id, BatchContentPartRow.seq == seq))
            yield bytes(part)
            del part


def batch_claims(session: Session, batch: BatchRow) -> list[dict]:
    """The batch's claims as _claims_json wrote them (batches released before 0009: in batch.validation)."""
    if "claims" in batch.validation:
        return batch.validation["claims"]
    return [c for part in session.scalars(select(BatchClaimPartRow.claims).where(BatchClaimPartRow.batch_id == batch.id)
                                          .order_by(BatchClaimPartRow.seq)) for c in json.loads(part)]


def read_content(session: Session, batch: BatchRow) -> bytes:
    """The released file's bytes at once (the 999 path, which reads the segments)."""
    if batch.content is not None:
        return bytes(batch.content)
    return b"".join(bytes(c) for c in session.scalars(
        select(BatchContentPartRow.content).where(BatchContentPartRow.batch_id == batch.id)
        .order_by(BatchContentPartRow.seq)))


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


def _release(session: Session, batch: BatchRow, spool: BinaryIO, sha256: str, stream: Stream837, claims: _ClaimLog,
             validated: bool) -> BatchRow:
    batch.release_seq = allocate(session, "release_seq", maximum=None)  # row lock: releases commit in order
    batch.status, batch.released_at = "released", _now()
    batch.sha256 = sha256
    parts = BatchContentPartRow.__table__
    connection = session.connection()
    for seq, data in enumerate(iter(functools.partial(spool.read, PART_BYTES), b"")):
        connection.execute(parts.insert(), {"batch_id": batch.id, "seq": seq, "content": data})
        del data
    batch.transaction_count, batch.claim_count = stream.transaction_count, claims.count
    batch.line_count = claims.lines
    batch.total_charge = stream.total_charge
    pyx12 = "clean" if validated else "skipped"
    batch.validation = {"pyx12": pyx12}
    session.flush()
    # Each claim's place in the file (what a 999 is mapped back with) as JSON arrays, one per transaction set,
    # read back one at a time from the cut's spool.
    claim_parts = BatchClaimPartRow.__table__
    for seq, part in enumerate(claims.json_parts()):
        connection.execute(claim_parts.insert(), {"batch_id": batch.id, "seq": seq, "claims": part})
        del part
    # Every encounter wrote at least one claim (split_claims never returns none), and its first is CLM01
    # "<invoice number>-01" (_ClaimLog checks the suffix as it is written; claim_id_base is the invoice number):
    # so one UPDATE sets every encounter of the batch, taking the CLM01 from its invoice in the database.
    if claims.encounters != batch.encounter_count:
        raise RuntimeError(f"{claims.encounters} encounters written, {batch.encounter_count} in the batch")
    table = EncounterRow.__table__
    first_clm01 = (select(InvoiceRow.invoice_number + "-01").where(InvoiceRow.id == table.c.invoice_id)
                   .scalar_subquery())
    updated = session.execute(table.update().where(table.c.batch_id == batch.id, table.c.status == "cutting")
                              .values(status="batched", updated_at=_now(), clm01=first_clm01)).rowcount
    if updated != batch.encounter_count:
        raise RuntimeError(f"{updated} encounters updated, {batch.encounter_count} in the batch")
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
