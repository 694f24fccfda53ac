"""Tables of the uploads module: the upload record (job state and counts), the file as sent, one outcome per
invoice found in the file, and every problem located to a row and column."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class UploadRow(Base):
    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("public_id", name="uq_uploads_public_id"),
        Index("ix_uploads_status_heartbeat", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36))
    created_by: Mapped[str] = mapped_column(String(64), index=True)  # Caller.key_id, never a person's name
    # The uploader's role and billing-NPI scope, so a background job checks each invoice as the caller's own
    # POST /v1/invoices would be checked.
    caller_role: Mapped[str] = mapped_column(String(20))
    caller_npis: Mapped[list] = mapped_column(JSON)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(4))  # csv | xlsx
    mode: Mapped[str] = mapped_column(String(20))  # per_invoice | all_or_nothing
    # queued | running | completed | failed. A running upload whose heartbeat stops is resumed by a worker.
    status: Mapped[str] = mapped_column(String(12))
    worker_id: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # how many times a worker took the job up
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the data is in the file and what each column means, fixed when the upload is accepted.
    sheet_name: Mapped[str | None] = mapped_column(String(100))
    header_row: Mapped[int] = mapped_column(Integer)
    columns: Mapped[list] = mapped_column(JSON)
    rows_estimate: Mapped[int] = mapped_column(Integer)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_validated: Mapped[int] = mapped_column(Integer, default=0)
    rows_stored: Mapped[int] = mapped_column(Integer, default=0)
    invoices_total: Mapped[int | None] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    already_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    not_stored: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str | None] = mapped_column(Text)  # an internal failure, in words without PHI


class UploadFileRow(Base):
    """The bytes as uploaded, kept so a job can be resumed and the annotated workbook built from them."""

    __tablename__ = "upload_files"

    upload_id: Mapped[int] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE", name="fk_upload_files_upload_id"), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class UploadInvoiceRow(Base):
    """What happened to one invoice of the file (the rows sharing a billing NPI + invoice number)."""

    __tablename__ = "upload_invoices"
    __table_args__ = (UniqueConstraint("upload_id", "group_index", name="uq_upload_invoices_group"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE", name="fk_upload_invoices_upload_id"), index=True)
    group_index: Mapped[int] = mapped_column(Integer)  # order of first appearance in the file
    billing_npi: Mapped[str | None] = mapped_column(String(20))
    invoice_number: Mapped[str | None] = mapped_column(String(40))
    rows: Mapped[list] = mapped_column(JSON)  # spreadsheet row numbers of its lines, in line order
    # accepted | already_accepted | rejected | not_stored | skipped
    status: Mapped[str] = mapped_column(String(20))
    invoice_public_id: Mapped[str | None] = mapped_column(String(36))


class UploadProblemRow(Base):
    __tablename__ = "upload_problems"
    __table_args__ = (Index("ix_upload_problems_upload_row", "upload_id", "row_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(
        ForeignKey("uploads.id", ondelete="CASCADE", name="fk_upload_problems_upload_id"))
    group_index: Mapped[int | None] = mapped_column(Integer)  # None: about the file (e.g. an unknown column)
    severity: Mapped[str] = mapped_column(String(7))  # error | warning
    row_number: Mapped[int | None] = mapped_column(Integer)
    column_index: Mapped[int | None] = mapped_column(Integer)  # 0-based position in the provider's sheet
    column_header: Mapped[str | None] = mapped_column(String(255))
    field: Mapped[str | None] = mapped_column(String(120))  # the invoice field path, e.g. lines[2].modifiers
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    allowed: Mapped[list | None] = mapped_column(JSON)
