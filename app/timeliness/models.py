"""Tables of the timeliness module: the append-only adjudication events of an invoice, and one derived row
per invoice version (``claim_timeliness``) that dashboards aggregate with GROUP BY instead of replaying events.
Money on the derived row is integer cents, so sums are exact on SQLite as well as PostgreSQL."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, Numeric, PrimaryKeyConstraint, String,
    UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class InvoiceEventRow(Base):
    __tablename__ = "invoice_events"
    __table_args__ = (
        UniqueConstraint("invoice_id", "sequence", name="uq_invoice_events_invoice_sequence"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE", name="fk_invoice_events_invoice_id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per invoice: the order events were appended
    kind: Mapped[str] = mapped_column(String(30))
    event_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    interest_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    interest_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    information_requested: Mapped[list | None] = mapped_column(JSON)
    exceeds_charge_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))  # the caller's key id


class EventIdempotencyKeyRow(Base):
    __tablename__ = "event_idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int] = mapped_column(
        ForeignKey("invoice_events.id", ondelete="CASCADE", name="fk_event_idempotency_keys_event_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


RULE_COLUMNS = (  # what app.timeliness.queries reads of a claim, grouping columns first
    "billing_npi", "billing_tin", "receipt_date", "regime", "programs", "submission_type", "excluded_reason",
    "unclean_reason", "notice_deadline", "contest_date", "info_received_date", "recon_deadline", "final_kind",
    "final_date", "prev_final_kind", "prev_final_date", "reversal_date", "charge_cents", "interest_due_cents",
    "interest_due_by", "penalty_if_missed_cents", "interest_paid_cents", "interest_paid_date", "interest_full_date")


class ClaimTimelinessRow(Base):
    """Derived from the invoice and its events (app.timeliness.claim.derive); rewritten on every event."""

    __tablename__ = "claim_timeliness"
    __table_args__ = (
        Index("ix_claim_timeliness_receipt_date", "receipt_date"),
        Index("ix_claim_timeliness_info_received_date", "info_received_date"),
        Index("ix_claim_timeliness_npi_receipt", "billing_npi", "receipt_date"),
        Index("ix_claim_timeliness_final_date", "final_date"),
        # The claims the rollup does not hold for an as_of go through the dashboards' rules: the open ones, and those
        # settled from the month of as_of on. Each set has an index with every column the rules read, as reading
        # them from the table cost more than the rules themselves (a row lookup each).
        Index("ix_claim_timeliness_settled_on", "settled_on", "receipt_date",  # (receipt_date second: _settled_late)
              *(c for c in RULE_COLUMNS if c != "receipt_date"),
              sqlite_where=text("settled_on IS NOT NULL"), postgresql_where=text("settled_on IS NOT NULL")),
        Index("ix_claim_timeliness_open", *RULE_COLUMNS, "settled_on",
              sqlite_where=text("settled_on IS NULL"), postgresql_where=text("settled_on IS NULL")),
    )

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE", name="fk_claim_timeliness_invoice_id"), primary_key=True,
        autoincrement=False)
    # slicing
    receipt_date: Mapped[date] = mapped_column(Date)
    regime: Mapped[str] = mapped_column(String(2))  # S1 (received to 2025-12-31) | S2
    programs: Mapped[str] = mapped_column(String(10))  # ECM | CS | CS,ECM
    billing_npi: Mapped[str] = mapped_column(String(10))
    billing_tin: Mapped[str] = mapped_column(String(9))
    submission_type: Mapped[str] = mapped_column(String(10))  # the invoice's source: api | upload | ...
    excluded_reason: Mapped[str | None] = mapped_column(String(30))  # voided | replaced (before a decision)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    # clean flag and contest
    clean: Mapped[bool] = mapped_column(Boolean, default=True)
    unclean_reason: Mapped[str | None] = mapped_column(String(30))
    notice_deadline: Mapped[date] = mapped_column(Date)
    contest_date: Mapped[date | None] = mapped_column(Date)
    info_received_date: Mapped[date | None] = mapped_column(Date)
    recon_deadline: Mapped[date | None] = mapped_column(Date)
    # decision in force, and the one a reversal took back
    final_kind: Mapped[str | None] = mapped_column(String(10))
    final_date: Mapped[date | None] = mapped_column(Date)
    prev_final_kind: Mapped[str | None] = mapped_column(String(10))
    prev_final_date: Mapped[date | None] = mapped_column(Date)
    reversal_date: Mapped[date | None] = mapped_column(Date)
    # money, cents
    charge_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_due_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_due_by: Mapped[date | None] = mapped_column(Date)
    penalty_if_missed_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_paid_date: Mapped[date | None] = mapped_column(Date)
    interest_full_date: Mapped[date | None] = mapped_column(Date)
    # settled figures (app.timeliness.claim.with_settled): what status_as_of gives on every day from settled_on on
    settled_on: Mapped[date | None] = mapped_column(Date)
    s_fed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_clock: Mapped[date | None] = mapped_column(Date)
    s_n30: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_n90: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_paid30: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_paid90: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_timely: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_notice_timely: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_interest_due_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    s_interest_paid_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    s_penalty_cents: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    s_late_paid_settled: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_interest_correct: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    s_days_to_pay: Mapped[int | None] = mapped_column(Integer)


class TimelinessRollupRow(Base):
    """The settled figures of settled, included claims (app.timeliness.rollup), summed per combination of what the
    dashboards filter and group on, so they sum a few rows instead of every settled claim. Maintained in the
    transaction of every write that changes a claim's settled figures; ``n`` counts the claims of the row."""

    __tablename__ = "timeliness_rollup"
    __table_args__ = {"sqlite_with_rowid": False}

    billing_npi: Mapped[str] = mapped_column(String(10), primary_key=True)
    billing_tin: Mapped[str] = mapped_column(String(9), primary_key=True)
    programs: Mapped[str] = mapped_column(String(10), primary_key=True)
    regime: Mapped[str] = mapped_column(String(2), primary_key=True)
    submission_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    receipt_date: Mapped[date] = mapped_column(Date, primary_key=True)
    # 0001-01-01 (rollup.NO_DATE) for none: key columns are never NULL, so an upsert finds its row
    info_received_date: Mapped[date] = mapped_column(Date, primary_key=True)
    s_clock: Mapped[date] = mapped_column(Date, primary_key=True)
    contest_reason: Mapped[str] = mapped_column(String(30), primary_key=True)  # '' when not contested
    settled_month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of settled_on's month
    n: Mapped[int] = mapped_column(Integer)
    charge_cents: Mapped[int] = mapped_column(BigInteger)
    s_fed: Mapped[int] = mapped_column(Integer)
    s_n30: Mapped[int] = mapped_column(Integer)
    s_n90: Mapped[int] = mapped_column(Integer)
    s_paid30: Mapped[int] = mapped_column(Integer)
    s_paid90: Mapped[int] = mapped_column(Integer)
    s_timely: Mapped[int] = mapped_column(Integer)
    s_notice_timely: Mapped[int] = mapped_column(Integer)
    s_interest_due_cents: Mapped[int] = mapped_column(BigInteger)
    s_interest_paid_cents: Mapped[int] = mapped_column(BigInteger)
    s_penalty_cents: Mapped[int] = mapped_column(BigInteger)
    s_late_paid_settled: Mapped[int] = mapped_column(Integer)
    s_interest_correct: Mapped[int] = mapped_column(Integer)


DAYS_PRIMARY_KEY = ("billing_npi", "billing_tin", "days", "programs", "regime", "submission_type", "receipt_date",
                    "settled_month")


class TimelinessRollupDaysRow(Base):
    """Settled, included, paid claims counted per receipt-to-payment day count (the providers' median)."""

    __tablename__ = "timeliness_rollup_days"
    # days third: the median's GROUP BY billing_npi, billing_tin, days then reads the key in order (no sort)
    __table_args__ = (PrimaryKeyConstraint(*DAYS_PRIMARY_KEY), {"sqlite_with_rowid": False})

    billing_npi: Mapped[str] = mapped_column(String(10))
    billing_tin: Mapped[str] = mapped_column(String(9))
    programs: Mapped[str] = mapped_column(String(10))
    regime: Mapped[str] = mapped_column(String(2))
    submission_type: Mapped[str] = mapped_column(String(10))
    receipt_date: Mapped[date] = mapped_column(Date)
    settled_month: Mapped[date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
