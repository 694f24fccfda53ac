"""The normalised invoice as a flat JSON document with the request's own field names (and back)."""

import hashlib
import json
from datetime import date
from decimal import Decimal
from typing import Any

from app.invoices.domain import Invoice, Member, Provider, ServiceLine


def _provider_fields(prefix: str, p: Provider) -> dict[str, Any]:
    return {
        f"{prefix}_provider_npi": p.npi, f"{prefix}_provider_tin": p.tin, f"{prefix}_provider_name": p.name,
        f"{prefix}_provider_first_name": p.first_name, f"{prefix}_provider_last_name": p.last_name,
        f"{prefix}_provider_phone_number": p.phone, f"{prefix}_provider_address": p.address,
        f"{prefix}_provider_city": p.city, f"{prefix}_provider_state": p.state, f"{prefix}_provider_zip": p.zip,
    }


def _member_fields(m: Member) -> dict[str, Any]:
    return {
        "member_cin": m.cin, "medical_record_number": m.medical_record_number,
        "member_first_name": m.first_name, "member_last_name": m.last_name,
        "member_homelessness_indicator": "Y" if m.homeless else "N",
        "member_residential_address": m.address, "member_residential_city": m.city,
        "member_residential_state": m.state, "member_residential_zip": m.zip,
        "member_date_of_birth": m.date_of_birth.isoformat(),
    }


def plain_number(value: Decimal) -> str:
    """1.500 -> '1.5', 10 -> '10' (never '1E+1')."""
    return format(value.normalize(), "f")


def line_document(line: ServiceLine) -> dict[str, Any]:
    return {
        "procedure_code": line.procedure_code,
        "procedure_code_modifiers": list(line.modifiers),
        "service_start_date": line.service_start_date.isoformat(),
        "service_end_date": line.service_end_date.isoformat(),
        "service_name": line.service_name,
        "service_unit_count": plain_number(line.unit_count),
        "place_of_service": line.place_of_service,
        "member_diagnosis_codes": list(line.diagnosis_codes),
        "service_unit_cost": str(line.unit_cost),
        "service_charge_amount": str(line.charge_amount),
    }


def invoice_document(inv: Invoice) -> dict[str, Any]:
    return {
        **_provider_fields("billing", inv.billing_provider),
        **_provider_fields("rendering", inv.rendering_provider),
        **_member_fields(inv.member),
        "primary_payer_identifier": inv.primary_payer_identifier,
        "payer_name": inv.payer_name,
        "invoice_amount": str(inv.invoice_amount),
        "invoice_date": inv.invoice_date.isoformat(),
        "invoice_number": inv.invoice_number,
        "control_number": inv.control_number,
        "authorization_number": inv.authorization_number,
        "lines": [line_document(line) for line in inv.lines],
    }


def _default(value: Any) -> str:
    if isinstance(value, Decimal | date):
        return str(value)
    raise TypeError(type(value).__name__)


def content_hash(document: Any) -> str:
    """Same content, same hash: keys sorted, no whitespace."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=_default, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def invoice_from_document(document: dict[str, Any], derived: list[dict[str, Any]]) -> Invoice:
    """The stored document back as a domain Invoice. `derived` holds, per line, what the code table added
    at intake (program, encounter_unit, encounter_units, code_table_version), so a later table change
    cannot alter an accepted invoice."""

    def provider(prefix: str) -> Provider:
        return Provider(
            npi=document[f"{prefix}_provider_npi"], tin=document[f"{prefix}_provider_tin"],
            name=document[f"{prefix}_provider_name"], first_name=document[f"{prefix}_provider_first_name"],
            last_name=document[f"{prefix}_provider_last_name"], phone=document[f"{prefix}_provider_phone_number"],
            address=document[f"{prefix}_provider_address"], city=document[f"{prefix}_provider_city"],
            state=document[f"{prefix}_provider_state"], zip=document[f"{prefix}_provider_zip"],
        )

    member = Member(
        cin=document["member_cin"], medical_record_number=document["medical_record_number"],
        first_name=document["member_first_name"], last_name=document["member_last_name"],
        homeless=document["member_homelessness_indicator"] == "Y", address=document["member_residential_address"],
        city=document["member_residential_city"], state=document["member_residential_state"],
        zip=document["member_residential_zip"], date_of_birth=date.fromisoformat(document["member_date_of_birth"]),
    )
    lines = tuple(
        ServiceLine(
            line_number=i + 1, procedure_code=ln["procedure_code"], modifiers=tuple(ln["procedure_code_modifiers"]),
            service_start_date=date.fromisoformat(ln["service_start_date"]),
            service_end_date=date.fromisoformat(ln["service_end_date"]), service_name=ln["service_name"],
            unit_count=Decimal(ln["service_unit_count"]), place_of_service=ln["place_of_service"],
            diagnosis_codes=tuple(ln["member_diagnosis_codes"]), unit_cost=Decimal(ln["service_unit_cost"]),
            charge_amount=Decimal(ln["service_charge_amount"]), program=extra["program"],
            encounter_unit=extra["encounter_unit"], encounter_units=Decimal(extra["encounter_units"]),
            code_table_version=extra["code_table_version"],
        )
        for i, (ln, extra) in enumerate(zip(document["lines"], derived, strict=True))
    )
    return Invoice(
        invoice_number=document["invoice_number"], invoice_date=date.fromisoformat(document["invoice_date"]),
        control_number=document["control_number"], authorization_number=document["authorization_number"],
        primary_payer_identifier=document["primary_payer_identifier"], payer_name=document["payer_name"],
        invoice_amount=Decimal(document["invoice_amount"]), billing_provider=provider("billing"),
        rendering_provider=provider("rendering"), member=member, lines=lines,
    )
