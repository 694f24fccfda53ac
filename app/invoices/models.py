"""ORM rows for accepted invoices, their lines, idempotency keys and counted rejections."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        # One current invoice per billing NPI + invoice number; replaced and voided versions stay beside it.
        Index("uq_invoices_current_number", "billing_npi", "invoice_number", unique=True,
              sqlite_where=text("status = 'accepted'"), postgresql_where=text("status = 'accepted'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    billing_npi: Mapped[str] = mapped_column(String(10), index=True)
    invoice_number: Mapped[str] = mapped_column(String(20))
    member_cin: Mapped[str] = mapped_column(String(9), index=True)
    # accepted (current) | replaced (a later version exists) | voided
    status: Mapped[str] = mapped_column(String(20), index=True)
    replaces_invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("invoices.id", name="fk_invoices_replaces_invoice_id")
    )
    source: Mapped[str] = mapped_column(String(10))
    programs: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    receipt_date: Mapped[date] = mapped_column(Date, index=True)
    # Key id of the trusted caller who stated the receipt date (paper, fax, history import); None: the clock.
    receipt_date_set_by: Mapped[str | None] = mapped_column(String(64))
    invoice_date: Mapped[date] = mapped_column(Date)
    invoice_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    content_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[dict] = mapped_column(JSON)
    warnings: Mapped[list] = mapped_column(JSON)

    lines: Mapped[list["InvoiceLineRow"]] = relationship(
        back_populates="invoice", order_by="InvoiceLineRow.line_number", cascade="all, delete-orphan"
    )
    replaces: Mapped["InvoiceRow | None"] = relationship(remote_side="InvoiceRow.id")
    encounters: Mapped[list["EncounterRow"]] = relationship(  # noqa: F821 - app.batches.models
        order_by="EncounterRow.id", viewonly=True
    )
    timeliness: Mapped["ClaimTimelinessRow | None"] = relationship(  # noqa: F821 - app.timeliness.models
        viewonly=True, uselist=False
    )


def line_item_control_number(invoice_id: int, line_number: int) -> str:
    """Stable line identity for REF*6R, so a 999, 277 or payment traces back to this line."""
    return f"E{invoice_id}-{line_number}"


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "line_number", name="uq_invoice_lines_invoice_line"),
        # The state denies an encounter for a duplicate line, so two active lines may never share this key.
        Index(
            "uq_invoice_lines_active_service", "member_cin", "billing_npi", "procedure_code", "modifiers_key",
            "service_start_date", "service_end_date", unique=True,
            sqlite_where=text("active"), postgresql_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    line_number: Mapped[int] = mapped_column(Integer)
    billing_npi: Mapped[str] = mapped_column(String(10))
    member_cin: Mapped[str] = mapped_column(String(9))
    procedure_code: Mapped[str] = mapped_column(String(5))
    modifiers: Mapped[str] = mapped_column(String(11))
    modifiers_key: Mapped[str] = mapped_column(String(11))
    service_start_date: Mapped[date] = mapped_column(Date)
    service_end_date: Mapped[date] = mapped_column(Date)
    unit_count: Mapped[Decimal] = mapped_column(Numeric(15, 3))
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    charge_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    place_of_service: Mapped[str] = mapped_column(String(2))
    program: Mapped[str] = mapped_column(String(3))
    encounter_unit: Mapped[str] = mapped_column(String(20))
    encounter_units: Mapped[Decimal] = mapped_column(Numeric(15, 3))
    code_table_version: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    invoice: Mapped[InvoiceRow] = relationship(back_populates="lines")

    @property
    def line_item_control_number(self) -> str:
        return line_item_control_number(self.invoice_id, self.line_number)


class IdempotencyKeyRow(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IntakeRejectionRow(Base):
    """One row per error code of one rejected submission. Provider NPI and codes only: never PHI."""

    __tablename__ = "intake_rejections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rejected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    billing_npi: Mapped[str | None] = mapped_column(String(10), index=True)
    source: Mapped[str] = mapped_column(String(10))
    code: Mapped[str] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(Integer)
