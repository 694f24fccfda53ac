"""Encounters (an invoice on its way to an 837P), batches, and the control-number registry."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime
from app.invoices.models import InvoiceRow


class EncounterRow(Base):
    """One invoice version queued for an 837P: an original (CLM05-3 = 1), a replacement (7) or a void (8)."""

    __tablename__ = "encounters"
    __table_args__ = (Index("ix_encounters_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    frequency: Mapped[str] = mapped_column(String(1))
    original_encounter_id: Mapped[int | None] = mapped_column(ForeignKey("encounters.id"))
    original_reference: Mapped[str | None] = mapped_column(String(50))
    payer_id: Mapped[str] = mapped_column(String(80))
    # queued -> cutting -> batched -> accepted | rejected; held (pyx12 findings, needs a correction);
    # withdrawn (replaced or voided before it was ever sent).
    status: Mapped[str] = mapped_column(String(12))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"), index=True)
    clm01: Mapped[str | None] = mapped_column(String(38))
    receiver_control_number: Mapped[str | None] = mapped_column(String(50))
    findings: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    invoice: Mapped[InvoiceRow] = relationship()
    batch: Mapped["BatchRow | None"] = relationship()


class BatchRow(Base):
    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    mode: Mapped[str] = mapped_column(String(9))  # claim (BHT06 CH) or encounter (RP)
    payer_id: Mapped[str | None] = mapped_column(String(80))
    # cutting -> released | failed | abandoned (a cutter died mid-cut; its encounters went back to the queue)
    status: Mapped[str] = mapped_column(String(10), index=True)
    release_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    isa13: Mapped[int] = mapped_column(BigInteger)
    gs06: Mapped[int] = mapped_column(BigInteger)
    st02_first: Mapped[int] = mapped_column(BigInteger)
    # host:pid:process start (clock ticks since boot) of the process cutting it, so that a dead cutter's batch
    # is reclaimed at once on the same host instead of after cut_stale_after_seconds
    cutter: Mapped[str | None] = mapped_column(String(120))
    transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    claim_count: Mapped[int] = mapped_column(Integer, default=0)
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    encounter_count: Mapped[int] = mapped_column(Integer, default=0)
    total_charge: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # batches released before 0009; now batch_content_parts
    validation: Mapped[dict] = mapped_column(JSON, default=dict)
    ack_status: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    encounters: Mapped[list[EncounterRow]] = relationship(order_by=EncounterRow.id, viewonly=True)


class BatchContentPartRow(Base):
    """A released batch's bytes, in order: the file is the parts' content joined by seq (0, 1, ...). Written in
    the release's own transaction, so that a batch that is not released has none. Batches released before
    these existed keep their bytes in batches.content instead."""

    __tablename__ = "batch_content_parts"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class BatchClaimPartRow(Base):
    """A released batch's claims (encounter, CLM01, ST02, segment numbers, line control numbers, charge), one
    JSON array per transaction set in order of seq: what a 999 is mapped back to claims and lines with.
    Batches released before these existed keep the list in batches.validation["claims"]."""

    __tablename__ = "batch_claim_parts"

    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    claims: Mapped[str] = mapped_column(Text)


class ControlCounterRow(Base):
    """Next free value of each control number series. Values are handed out under a row lock and never reused."""

    __tablename__ = "control_counters"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger, server_default=text("1"))
    wraps: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class AcknowledgmentRow(Base):
    __tablename__ = "acknowledgments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    summary: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
