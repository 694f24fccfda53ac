"""Response bodies of the upload endpoints."""

from pydantic import BaseModel, Field


class UploadProblemOut(BaseModel):
    severity: str = Field(description="error (the invoice was not stored) or warning (stored; worth a look).")
    loc: str = Field(description='Where in the file: row 14, column "Procedure Code" (row numbers as the '
                                 "spreadsheet shows them, the header being row 1).")
    row: int | None
    column: str | None = Field(description="The column header as written in the file.")
    column_letter: str | None = Field(description="The column's letter in the sheet (A, B, ... AA).")
    field: str | None = Field(description="The invoice field path, as in POST /v1/invoices: "
                                          "lines[2].procedure_code_modifiers.")
    code: str
    message: str
    allowed: list[str] | None = Field(default=None, description="What would be accepted, when it can be listed.")


class UploadInvoiceOut(BaseModel):
    billing_provider_npi: str | None
    invoice_number: str | None
    rows: list[int] = Field(description="The rows holding this invoice's lines, in line order.")
    status: str = Field(description="accepted | already_accepted (stored before; not duplicated) | rejected | "
                                    "not_stored (all_or_nothing: another invoice failed) | skipped (example row)")
    invoice_id: str | None = Field(description="The stored invoice (GET /v1/invoices/{id}).")


class UploadProgress(BaseModel):
    rows_total: int | None = Field(description="Data rows in the file, once it has been read through.")
    rows_estimate: int = Field(description="Rows expected, from the file's size before reading it.")
    rows_read: int
    rows_validated: int
    rows_stored: int


class UploadCounts(BaseModel):
    rows: int | None = Field(description="Invoice lines (non-blank data rows) in the file.")
    invoices: int | None
    accepted: int = Field(description="Invoices stored by this upload.")
    already_accepted: int = Field(description="Invoices identical to ones stored before (re-upload); not duplicated.")
    rejected: int
    not_stored: int = Field(description="Valid invoices not stored because the upload was all_or_nothing.")
    errors: int
    warnings: int


class UploadColumnOut(BaseModel):
    column: str
    column_letter: str
    field: str | None = Field(description="The invoice field it was read as; null when ignored.")


class UploadOut(BaseModel):
    id: str
    status: str = Field(description="queued | running | completed | failed")
    mode: str = Field(description="per_invoice | all_or_nothing")
    filename: str
    format: str = Field(description="csv | xlsx")
    sheet: str | None
    header_row: int
    created_by: str = Field(description="Internal id of the API key that uploaded the file.")
    created_at: str
    started_at: str | None
    finished_at: str | None
    failure: str | None
    progress: UploadProgress
    counts: UploadCounts
    columns: list[UploadColumnOut]
    invoices: list[UploadInvoiceOut]
    problems: list[UploadProblemOut]
    annotated_url: str = Field(description="The file's own rows with a status column and the problems beside them.")


class UploadSummaryOut(BaseModel):
    id: str
    status: str
    filename: str
    created_by: str
    created_at: str
    progress: UploadProgress
    counts: UploadCounts


class UploadList(BaseModel):
    items: list[UploadSummaryOut]
