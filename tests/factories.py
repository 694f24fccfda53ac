"""Realistic invoices for tests: a valid ECM invoice and a valid Community Supports invoice, built fresh."""

import copy
from datetime import date, timedelta

# The bootstrap admin key the test settings carry (tests/conftest.py); role tests make their own keys.
ADMIN_KEY = "test-bootstrap-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

BILLING_NPI = "1999999992"
RENDERING_NPI = "1234567893"
OTHER_NPI = "1245319599"


def us_date(d: date) -> str:
    return d.strftime("%m/%d/%Y")


def ecm_invoice(number: str = "INV1001", service_day: date = date(2024, 3, 5), cin: str = "91234567A") -> dict:
    return {
        "billing_provider_npi": BILLING_NPI,
        "billing_provider_tin": "12-3456789",
        "billing_provider_name": "Sunny Days Care Coordination",
        "billing_provider_phone_number": "(916) 555-0100",
        "billing_provider_address": "100 Main St",
        "billing_provider_city": "Sacramento",
        "billing_provider_state": "CA",
        "billing_provider_zip": "95814-1234",
        "rendering_provider_npi": RENDERING_NPI,
        "rendering_provider_tin": "123456789",
        "rendering_provider_name": "Alex Smith",
        "rendering_provider_first_name": "Alex",
        "rendering_provider_last_name": "Smith",
        "rendering_provider_phone_number": "916-555-0101",
        "rendering_provider_address": "100 Main St",
        "rendering_provider_city": "Sacramento",
        "rendering_provider_state": "CA",
        "rendering_provider_zip": "95814",
        "member_cin": cin,
        "medical_record_number": "MRN0042",
        "member_first_name": "Jane",
        "member_last_name": "Doe",
        "member_homelessness_indicator": "N",
        "member_residential_address": "200 Elm St Apt 3",
        "member_residential_city": "Sacramento",
        "member_residential_zip": "95814",
        "member_date_of_birth": "01/15/1980",
        "primary_payer_identifier": "FAKEPLAN01",
        "payer_name": "Fake Medi-Cal Health Plan",
        "invoice_amount": "175.25",
        "invoice_date": us_date(service_day + timedelta(days=5)),
        "invoice_number": number,
        "control_number": "CTL-0001",
        "authorization_number": "AUTH556677",
        "lines": [
            {
                "procedure_code": "G9008", "procedure_code_modifiers": ["U1"],
                "service_start_date": us_date(service_day), "service_end_date": us_date(service_day),
                "service_name": "ECM care coordination", "service_unit_count": 1, "place_of_service": "11",
                "member_diagnosis_codes": ["F32.9"], "service_unit_cost": "100.00",
                "service_charge_amount": "100.00",
            },
            {
                "procedure_code": "G9008", "procedure_code_modifiers": ["U1", "GQ"],
                "service_start_date": us_date(service_day), "service_end_date": us_date(service_day),
                "service_unit_count": 1, "place_of_service": "02",
                "member_diagnosis_codes": ["F32.9", "E11.9"], "service_unit_cost": "75.25",
                "service_charge_amount": "75.25",
            },
        ],
    }


def cs_invoice(number: str = "INV2002", start: date = date(2024, 3, 1), cin: str = "98765432B") -> dict:
    inv = ecm_invoice(number, start, cin)
    inv.update({
        "member_first_name": "John", "member_last_name": "Roe", "member_homelessness_indicator": "Y",
        "member_residential_address": "1 Shelter Way", "member_residential_zip": "95811",
        "member_date_of_birth": "12/30/1975", "invoice_amount": "300.00",
        "invoice_date": us_date(start + timedelta(days=10)),
    })
    inv["lines"] = [{
        "procedure_code": "H0043", "procedure_code_modifiers": ["U6"],
        "service_start_date": us_date(start), "service_end_date": us_date(start + timedelta(days=4)),
        "service_name": "Housing transition navigation", "service_unit_count": 5, "place_of_service": "04",
        "member_diagnosis_codes": ["Z59.01"], "service_unit_cost": "60.00", "service_charge_amount": "300.00",
    }]
    return inv


def variant(base: dict, **changes) -> dict:
    """A deep copy with top-level fields changed; `lines__0__field=value` changes a line field."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if key.startswith("lines__"):
            _, index, field = key.split("__", 2)
            out["lines"][int(index)][field] = value
        elif value is ...:
            out.pop(key, None)
        else:
            out[key] = value
    return out
