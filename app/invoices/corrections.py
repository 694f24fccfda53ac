"""Replacing and voiding an accepted invoice. Nothing is edited in place: the original keeps its history,
a new invoice version and a new encounter carry the correction (CLM05-3 = 7 or 8 with REF*F8)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.caller import LOCAL_OPERATOR, Caller
from app.batches.models import EncounterRow
from app.invoices.models import InvoiceLineRow, InvoiceRow
from app.invoices.problems import Problem
from app.invoices.rules import RuleContext, check_invoice
from app.invoices.service import (
    IntakeConflict, IntakeRejected, _check_stored_duplicates, _new_invoice_row, check_received_date, default_policy,
    new_encounter, record_rejection,
)
from app.timeliness import service as timeliness
from app.timeliness.policy import TimelinessPolicy

SENT = ("batched", "accepted")  # the receiver has (or may have) this encounter: correct it downstream
NOT_SENT = ("queued", "held", "rejected")  # nothing downstream to correct: just change the queue


@dataclass
class CorrectionOutcome:
    invoice: InvoiceRow  # the new version (replace) or the voided original (void)
    downstream: str  # "replacement queued" | "void queued" | "queue updated"
    message: str


def latest_encounter(session: Session, invoice: InvoiceRow) -> EncounterRow | None:
    return session.scalar(
        select(EncounterRow).where(EncounterRow.invoice_id == invoice.id).order_by(EncounterRow.id.desc()).limit(1)
    )


def _current_or_conflict(session: Session, original: InvoiceRow) -> EncounterRow | None:
    if original.status != "accepted":
        current = session.scalar(select(InvoiceRow).where(InvoiceRow.replaces_invoice_id == original.id))
        where = f" by invoice {current.public_id}" if current else ""
        raise IntakeConflict(
            f"Invoice {original.public_id} was already {original.status}{where}; only the current version can be "
            "corrected.",
            [Problem("id", f"invoice_{original.status}", f"Correct the current version{where} instead.")],
            current or original,
        )
    encounter = latest_encounter(session, original)
    if encounter is not None and encounter.status == "cutting":
        raise IntakeConflict(
            "The invoice is in a batch being cut right now; retry in a minute.",
            [Problem("id", "batch_in_progress", "Retry when the current batch cut has finished.")], original,
        )
    return encounter


def _retire(session: Session, original: InvoiceRow, status: str) -> None:
    original.status = status
    timeliness.retire_claim(session, original, status)
    session.execute(update(InvoiceLineRow).where(InvoiceLineRow.invoice_id == original.id).values(active=False))


def replace_invoice(
    session: Session, original: InvoiceRow, raw: Mapping[str, Any], ctx: RuleContext, *, timezone: str,
    source: str = "api", caller: Caller = LOCAL_OPERATOR, policy: TimelinessPolicy | None = None,
) -> CorrectionOutcome:
    """The replacement is a new receipt: dated today, or by a trusted caller's received_date."""
    encounter = _current_or_conflict(session, original)
    result = check_invoice(raw, ctx)
    for field, stored in (("billing_npi", original.billing_npi), ("member_cin", original.member_cin)):
        given = getattr(result, field)
        if given and given != stored:
            loc = "billing_provider_npi" if field == "billing_npi" else "member_cin"
            result.findings.error(loc, "correction_changes_identity",
                                  f"A replacement keeps the original's {loc} ({stored}). To bill another provider "
                                  "or member, void this invoice and submit a new one.", [stored])
    received = check_received_date(result, raw, caller, timezone)
    _check_stored_duplicates(session, result, exclude_invoice_id=original.id)
    if result.findings.errors:
        record_rejection(session, result.billing_npi, result.findings.errors, source)
        raise IntakeRejected(result.findings.errors, result.findings.warnings)

    _retire(session, original, "replaced")
    session.flush()  # frees the invoice number before the new version takes it
    new = _new_invoice_row(result.invoice, result.findings, timezone, source, received, caller)
    new.replaces_invoice_id = original.id
    session.add(new)
    if encounter is not None and encounter.status in SENT:
        session.add(new_encounter(new, "7", original=encounter))
        downstream, message = "replacement queued", (
            "The original was already sent: a replacement encounter (CLM05-3 = 7, REF*F8 = "
            f"{encounter.receiver_control_number or encounter.clm01}) is queued for the next batch.")
    else:
        if encounter is not None:
            encounter.status, encounter.updated_at = "withdrawn", datetime.now(UTC)
        session.add(new_encounter(new, "1"))
        downstream, message = "queue updated", (
            "The original was never accepted downstream, so there is nothing to correct there: the queued "
            "encounter was withdrawn and the corrected invoice is queued as an original.")
    try:
        session.flush()
        timeliness.open_claim(session, new, policy or default_policy())
        session.commit()
    except IntegrityError:
        session.rollback()
        raise IntakeConflict("Another correction of this invoice was stored at the same time.",
                             [Problem("id", "concurrent_correction", "Reload the invoice and retry.")], original) from None
    return CorrectionOutcome(new, downstream, message)


def void_invoice(session: Session, original: InvoiceRow) -> CorrectionOutcome:
    encounter = _current_or_conflict(session, original)
    _retire(session, original, "voided")
    if encounter is not None and encounter.status in SENT:
        session.add(new_encounter(original, "8", original=encounter))
        downstream, message = "void queued", (
            "The original was already sent: a void encounter (CLM05-3 = 8, REF*F8 = "
            f"{encounter.receiver_control_number or encounter.clm01}) is queued for the next batch.")
    else:
        if encounter is not None:
            encounter.status, encounter.updated_at = "withdrawn", datetime.now(UTC)
        downstream, message = "queue updated", (
            "The original was never accepted downstream, so there is nothing to void there: its queued "
            "encounter was withdrawn.")
    session.commit()
    return CorrectionOutcome(original, downstream, message)
