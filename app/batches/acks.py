"""Applying a 999 to a released batch: accepted transactions mark their encounters accepted, rejected ones
mark them rejected with the IK3/IK4 findings translated to invoice, line and field."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.batches.models import AcknowledgmentRow, BatchRow, EncounterRow
from app.batches.service import batch_claims, read_content
from app.invoices.problems import Problem
from app.invoices.elements import LABELS
from app.x12.ack_reader import Ack999, Ack999Error, SegmentError, read_999
from app.x12.field_locator import field_path, locate, parse_element_position


class AckRefused(Exception):
    def __init__(self, detail: str, problems: list[Problem]):
        super().__init__(detail)
        self.detail, self.problems = detail, problems


def apply_999(session: Session, batch: BatchRow, text: str) -> tuple[Ack999, list[EncounterRow]]:
    if batch.status != "released":
        raise AckRefused(f"Batch {batch.public_id} is {batch.status}; only released batches are acknowledged.",
                         [Problem("batch", "batch_not_released", "Acknowledge a released batch.")])
    try:
        ack = read_999(text)
    except Ack999Error as exc:
        raise AckRefused("The body is not a readable 999.", [Problem("body", "ack_unreadable", str(exc))]) from None
    if str(ack.group_control_number).lstrip("0") != str(batch.gs06):
        raise AckRefused(
            f"This 999 acknowledges group {ack.group_control_number} (AK1-02), but batch {batch.public_id} was sent "
            f"as group {batch.gs06}.",
            [Problem("AK1-02", "ack_group_mismatch", "Post the 999 to the batch whose GS06 it names.",
                     [str(batch.gs06)])],
        )
    claims = batch_claims(session, batch)
    sent_st02 = {c["st02"] for c in claims}
    unknown = [t.st02 for t in ack.transactions if t.st02 not in sent_st02]
    if unknown:
        raise AckRefused(
            f"This 999 acknowledges transaction(s) {', '.join(unknown)} (AK2-02) that batch {batch.public_id} "
            "does not contain.",
            [Problem("AK2-02", "ack_transaction_mismatch", "The 999 does not belong to this batch.",
                     sorted(sent_st02))],
        )
    encounters = {str(e.id): e for e in session.scalars(
        select(EncounterRow).where(EncounterRow.batch_id == batch.id))}
    starts = {c["st02"]: c["st_segment"] for c in claims}
    segments = [s.strip() for s in read_content(session, batch).decode("ascii").split("~")]
    now = datetime.now(UTC)
    statuses = []
    for txn in ack.transactions:
        in_st = [c for c in claims if c["st02"] == txn.st02]
        accepted = txn.status in ("A", "E")
        statuses.append(txn.status)
        reasons: dict[str, list[dict]] = {}
        for err in txn.errors:
            segment_no = starts[txn.st02] - 1 + err.position_in_st if err.position_in_st else None
            owner = next((c for c in in_st if segment_no and c["first_segment"] <= segment_no <= c["last_segment"]),
                         None)
            for claim in [owner] if owner else _member_loop_claims(in_st, segment_no) or in_st:
                reasons.setdefault(claim["encounter_id"], []).append(_reason(claim, err, segments, segment_no))
        for claim in in_st:
            encounter = encounters.get(claim["encounter_id"])
            if encounter is None or encounter.status not in ("batched", "accepted", "rejected"):
                continue
            encounter.status = "accepted" if accepted else "rejected"
            encounter.findings = reasons.get(claim["encounter_id"], []) if not accepted else []
            encounter.updated_at = now
    batch.ack_status = ("accepted" if all(s in ("A", "E") for s in statuses)
                        else "rejected" if all(s == "R" for s in statuses) else "partial")
    session.add(AcknowledgmentRow(batch_id=batch.id, kind="999", content=text.encode("utf-8", "replace"),
                                  summary={"transactions": {t.st02: t.status for t in ack.transactions}},
                                  received_at=now))
    session.commit()
    return ack, list(encounters.values())


def _reason(claim: dict, err: SegmentError, segments: list[str], segment_no: int | None) -> dict:
    reason = {"clm01": claim["clm01"], "segment": err.segment_id, "position_in_st": err.position_in_st,
              "element": err.element_position, "error_code": err.element_error_code or err.segment_error_code,
              "message": err.describe(), "line_number": None, "field": None}
    if segment_no is None:
        return reason
    element, component = parse_element_position(err.element_position)
    ref = locate(segments, (claim["first_segment"], claim["last_segment"]), segment_no, element, component)
    if ref.line_index is not None and ref.line_index < len(claim["line_control_numbers"]):
        reason["line_number"] = int(claim["line_control_numbers"][ref.line_index].rsplit("-", 1)[1])
    reason["field"] = field_path(ref, reason["line_number"])
    if ref.field:
        label = LABELS.get(ref.field) or ref.field.replace("_", " ")
        where = f"line {reason['line_number']}, " if reason["line_number"] else ""
        reason["message"] = f"{where}{label}: {reason['message']}"
    return reason


def _member_loop_claims(claims: list[dict], segment_no: int | None) -> list[dict]:
    """A finding in a member loop's own segments (2000B-2010BB) concerns every claim of that loop."""
    if not segment_no:
        return []
    loops = [c["member_loop_segment"] for c in claims
             if c.get("member_loop_segment") and c["member_loop_segment"] <= segment_no < c["first_segment"]]
    return [c for c in claims if loops and c.get("member_loop_segment") == max(loops)]
