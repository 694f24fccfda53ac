"""Accepted, normalised invoices as plain data. Produced by the rules, consumed by storage and the X12 writer."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class Provider:
    npi: str | None
    tin: str
    name: str
    first_name: str | None
    last_name: str | None
    phone: str
    address: str
    city: str
    state: str
    zip: str

    @property
    def is_person(self) -> bool:
        return bool(self.last_name)


@dataclass(frozen=True)
class Member:
    cin: str
    medical_record_number: str | None
    first_name: str
    last_name: str
    homeless: bool
    address: str
    city: str
    state: str
    zip: str
    date_of_birth: date


@dataclass(frozen=True)
class ServiceLine:
    line_number: int  # 1-based position on the invoice
    procedure_code: str
    modifiers: tuple[str, ...]  # in the code table's order
    service_start_date: date
    service_end_date: date
    service_name: str | None
    unit_count: Decimal
    place_of_service: str
    diagnosis_codes: tuple[str, ...]  # ICD-10-CM with the dot, in the order given
    unit_cost: Decimal
    charge_amount: Decimal
    program: str  # ECM or CS, from the code table row
    encounter_unit: str
    encounter_units: Decimal
    code_table_version: str

    @property
    def duplicate_key(self) -> tuple:
        return (self.procedure_code, " ".join(sorted(self.modifiers)), self.service_start_date,
                self.service_end_date)


@dataclass(frozen=True)
class Invoice:
    invoice_number: str
    invoice_date: date
    control_number: str | None
    authorization_number: str | None
    primary_payer_identifier: str
    payer_name: str
    invoice_amount: Decimal
    billing_provider: Provider
    rendering_provider: Provider
    member: Member
    lines: tuple[ServiceLine, ...]

    @property
    def programs(self) -> tuple[str, ...]:
        return tuple(sorted({line.program for line in self.lines}))
