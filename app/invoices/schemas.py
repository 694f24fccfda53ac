"""Request and response bodies. Scalars arrive leniently (numbers or text, the common human spellings);
the rules module does every check, so JSON and spreadsheet intake share one code path."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS


def _scalar_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int | float | Decimal):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value


Text = Annotated[str | None, BeforeValidator(_scalar_to_text)]
Number = Annotated[
    str | None,
    BeforeValidator(_scalar_to_text),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]}),
]
Codes = Annotated[
    list[Text] | str | None,
    WithJsonSchema({"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}, {"type": "null"}]}),
]

_EXAMPLES = {
    "billing_provider_npi": "1999999992", "billing_provider_tin": "12-3456789",
    "billing_provider_name": "Sunny Days Care Coordination", "billing_provider_phone_number": "(916) 555-0100",
    "billing_provider_address": "100 Main St", "billing_provider_city": "Sacramento",
    "billing_provider_state": "CA", "billing_provider_zip": "95814-1234",
    "member_cin": "91234567A", "member_date_of_birth": "01/15/1980", "member_homelessness_indicator": "N",
    "invoice_date": "03/10/2024", "invoice_number": "INV1001", "primary_payer_identifier": "FAKEPLAN01",
    "procedure_code": "G9008", "procedure_code_modifiers": ["U1"], "place_of_service": "11",
    "member_diagnosis_codes": ["F32.9"], "service_start_date": "03/05/2024", "service_end_date": "03/05/2024",
    "service_unit_count": 1, "service_unit_cost": "100.00", "service_charge_amount": "100.00",
    "invoice_amount": "100.00",
}
_NUMBERS = {"service_unit_count", "service_unit_cost", "service_charge_amount", "invoice_amount"}
_CODE_LISTS = {"procedure_code_modifiers", "member_diagnosis_codes"}


def _field(element) -> tuple[Any, Any]:
    kind = Codes if element.name in _CODE_LISTS else Number if element.name in _NUMBERS else Text
    description = f"{element.label} (DHCS Table {element.table}, {'required' if element.required else 'optional'})"
    if element.description:
        description += f": {element.description}"
    examples = [_EXAMPLES[element.name]] if element.name in _EXAMPLES else None
    return kind, Field(default=None, description=description, examples=examples)


class ServiceLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    __annotations__ = {e.name: _field(e)[0] for e in LINE_ELEMENTS}
    locals().update({e.name: _field(e)[1] for e in LINE_ELEMENTS})


class InvoiceIn(BaseModel):
    """One ECM or Community Supports invoice: the DHCS minimum data elements, one or more service lines."""

    model_config = ConfigDict(extra="forbid")
    __annotations__ = {**{e.name: _field(e)[0] for e in INVOICE_ELEMENTS}, "lines": list[ServiceLineIn] | None}
    locals().update({e.name: _field(e)[1] for e in INVOICE_ELEMENTS})
    lines: list[ServiceLineIn] | None = Field(default=None, description="One or more service lines.")
    received_date: Text = Field(
        default=None, examples=["2026-01-05"],
        description="The date the plan actually received the invoice (its date stamp), for invoices keyed in from "
                    "paper, fax or e-mail or imported from history. Only callers allowed to date receipts (plan "
                    "staff) may send it; never in the future, never before the last service date. Left out: the "
                    "day it arrives here (America/Los_Angeles).")


class ProblemOut(BaseModel):
    loc: str = Field(description="Where: a JSON path such as lines[2].procedure_code_modifiers.")
    code: str = Field(description="Stable machine-readable code, e.g. modifier_combination_not_allowed.")
    message: str = Field(description="What was wrong, in words a billing clerk can act on.")
    allowed: list[str] | None = Field(default=None, description="What would be accepted, when it can be listed.")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details, with every problem found."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    problems: list[ProblemOut] = []
    warnings: list[ProblemOut] = []


class ServiceLineOut(BaseModel):
    line_number: int
    line_item_control_number: str = Field(description="Stable line ID carried as REF*6R in the 837P.")
    procedure_code: str
    procedure_code_modifiers: list[str]
    service_start_date: str
    service_end_date: str
    service_name: str | None
    service_unit_count: str
    place_of_service: str
    member_diagnosis_codes: list[str]
    service_unit_cost: str
    service_charge_amount: str
    program: str = Field(description="ECM or CS, from the code table row.")
    encounter_unit: str
    encounter_units: str
    code_table_version: str


class EncounterOut(BaseModel):
    id: int
    frequency: str = Field(description="CLM05-3: 1 original, 7 replacement, 8 void.")
    status: str = Field(description="queued | cutting | batched | accepted | rejected | held | withdrawn")
    batch_id: str | None
    clm01: str | None
    original_reference: str | None = Field(description="REF*F8 for a replacement or void.")
    findings: list[dict] = Field(description="Why it was rejected (999) or held (pyx12), by claim and line.")


class InvoiceOut(BaseModel):
    id: str
    status: str = Field(description="accepted (current) | replaced | voided")
    encounter_status: str | None = Field(description="Status of the latest encounter built from this invoice.")
    replaces_invoice_id: str | None
    encounters: list[EncounterOut]
    receipt_date: str = Field(description="America/Los_Angeles calendar date the invoice first arrived.")
    receipt_date_set_by: str | None = Field(
        default=None, description="Key id of the caller who stated the receipt date (received_date); null when it "
                                  "is the day the invoice arrived here.")
    clean: bool = Field(default=True, description="True at intake; false once the plan contests the claim.")
    unclean_reason: str | None = Field(
        default=None, description="Why the plan contested it: missing_info | fraud_investigation | "
                                  "med_necessity_review | other.")
    received_at: str = Field(description="UTC instant of first arrival.")
    source: str
    programs: list[str]
    invoice: dict[str, Any] = Field(description="The invoice as stored, normalised (same field names as the request).")
    lines: list[ServiceLineOut]
    warnings: list[ProblemOut]


class CorrectionOut(BaseModel):
    invoice: InvoiceOut
    downstream: str = Field(description="replacement queued | void queued | queue updated")
    message: str


class InvoicePage(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page; null on the last page.")


class ValidationOut(BaseModel):
    valid: bool
    problems: list[ProblemOut]
    warnings: list[ProblemOut]
