"""The normalised invoice as a flat JSON document with the request's own field names (and back)."""

import dataclasses
import hashlib
import json
from collections.abc import Callable
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


def _builder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A function from a dict holding every field of the frozen dataclass `cls` to an instance. A frozen
    dataclass's generated __init__ sets each field through object.__setattr__, past its own guard, and that
    was most of the cost of reading an invoice back in a batch cut (about 2 us for a ServiceLine, against
    0.5 us here with its dict). Where the __init__ does nothing else (no __post_init__, InitVar, ClassVar,
    default or slots), the fields go straight into the instance's __dict__: the same object (fields, ==, hash
    and repr read them there). Any other class is built by its __init__."""
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    plain = (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
             and not hasattr(cls, "__post_init__") and "__slots__" not in vars(cls)
             and set(cls.__annotations__) == names
             and all(f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                     for f in fields))
    if not plain:
        return lambda values: cls(**values)
    new, count = object.__new__, len(names)

    def build(values: dict[str, Any]) -> Any:
        if len(values) != count:  # what the __init__ would refuse (the callers' keys are literals)
            raise TypeError(f"{cls.__name__} needs exactly {sorted(names)}, got {sorted(values)}")
        obj = new(cls)
        obj.__dict__.update(values)
        return obj

    return build


_service_line = _builder(ServiceLine)
_invoice = _builder(Invoice)
_provider = _builder(Provider)
_member = _builder(Member)


_PROVIDER_KEYS = {prefix: tuple(f"{prefix}_provider_{name}" for name in (
    "npi", "tin", "name", "first_name", "last_name", "phone_number", "address", "city", "state", "zip"))
    for prefix in ("billing", "rendering")}


def _provider_from(document: dict[str, Any], prefix: str) -> Provider:
    k = _PROVIDER_KEYS[prefix]
    return _provider({
        "npi": document[k[0]], "tin": document[k[1]], "name": document[k[2]], "first_name": document[k[3]],
        "last_name": document[k[4]], "phone": document[k[5]], "address": document[k[6]], "city": document[k[7]],
        "state": document[k[8]], "zip": document[k[9]],
    })


def invoice_from_document(document: dict[str, Any], derived: list[dict[str, Any]]) -> Invoice:
    """The stored document back as a domain Invoice. `derived` holds, per line, what the code table added
    at intake (program, encounter_unit, encounter_units, code_table_version), so a later table change
    cannot alter an accepted invoice."""
    member = _member({
        "cin": document["member_cin"], "medical_record_number": document["medical_record_number"],
        "first_name": document["member_first_name"], "last_name": document["member_last_name"],
        "homeless": document["member_homelessness_indicator"] == "Y",
        "address": document["member_residential_address"], "city": document["member_residential_city"],
        "state": document["member_residential_state"], "zip": document["member_residential_zip"],
        "date_of_birth": date.fromisoformat(document["member_date_of_birth"]),
    })
    lines = tuple(
        _service_line({
            "line_number": i + 1, "procedure_code": ln["procedure_code"],
            "modifiers": tuple(ln["procedure_code_modifiers"]),
            "service_start_date": date.fromisoformat(ln["service_start_date"]),
            "service_end_date": date.fromisoformat(ln["service_end_date"]), "service_name": ln["service_name"],
            "unit_count": Decimal(ln["service_unit_count"]), "place_of_service": ln["place_of_service"],
            "diagnosis_codes": tuple(ln["member_diagnosis_codes"]), "unit_cost": Decimal(ln["service_unit_cost"]),
            "charge_amount": Decimal(ln["service_charge_amount"]), "program": extra["program"],
            "encounter_unit": extra["encounter_unit"], "encounter_units": Decimal(extra["encounter_units"]),
            "code_table_version": extra["code_table_version"],
        })
        for i, (ln, extra) in enumerate(zip(document["lines"], derived, strict=True))
    )
    return _invoice({
        "invoice_number": document["invoice_number"], "invoice_date": date.fromisoformat(document["invoice_date"]),
        "control_number": document["control_number"], "authorization_number": document["authorization_number"],
        "primary_payer_identifier": document["primary_payer_identifier"], "payer_name": document["payer_name"],
        "invoice_amount": Decimal(document["invoice_amount"]),
        "billing_provider": _provider_from(document, "billing"),
        "rendering_provider": _provider_from(document, "rendering"), "member": member, "lines": lines,
    })
