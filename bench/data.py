"""Realistic synthetic invoices: ECM and Community Supports rows of the code table in force, 1-6 lines per
invoice (or a fixed count), many billing providers and members, single days and ranges."""

import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from app.codetable import CodeTables

REPO = Path(__file__).resolve().parents[1]
DIAGNOSES = ["F32.9", "E11.9", "Z59.01", "I10", "J45.909", "F41.9", "F20.9", "E66.9", "N18.9", "K21.9", "Z59.00",
             "F10.20", "F17.210", "I50.9", "J44.9"]
FIRST = ["MARIA", "JOSE", "LINDA", "JAMES", "MAI", "DEVON", "ROSA", "TUAN", "AISHA", "PETER", "ELENA", "SAM"]
LAST = ["GARCIA", "NGUYEN", "SMITH", "JOHNSON", "LOPEZ", "KIM", "PATEL", "BROWN", "DAVIS", "MARTINEZ"]
STREETS = ["MAIN ST", "ELM ST", "OAK AVE", "J ST", "BROADWAY", "FOLSOM BLVD", "STOCKTON BLVD", "FRUITRIDGE RD"]


def luhn_npi(base9: str) -> str:
    digits = [int(d) for d in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base9 + str((10 - total % 10) % 10)


def providers(n: int, rng: random.Random) -> list[dict]:
    out = []
    for i in range(n):
        npi = luhn_npi(f"1{i:08d}")
        out.append({"npi": npi, "tin": f"{rng.randrange(10**8, 10**9)}", "name": f"COMMUNITY CARE PARTNERS {i}",
                    "address": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}", "zip": f"958{rng.randrange(10, 99)}1234"})
    return out


def members(n: int, rng: random.Random) -> list[dict]:
    return [{"cin": f"{90000000 + i}{'ABCDEFGH'[i % 8]}", "first": rng.choice(FIRST), "last": rng.choice(LAST),
             "dob": date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25000)),
             "address": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}", "zip": f"958{rng.randrange(10, 99)}"}
            for i in range(n)]


def invoices(count: int, *, seed: int = 7, lines: int | None = None, providers_n: int = 200,
             members_n: int = 20000, on: date = date(2026, 10, 1)):
    """Yield raw invoice dicts in the shape POST /v1/invoices takes. Invoice numbers are unique per provider,
    and no line repeats another for the same member (the intake would refuse it as a duplicate)."""
    rng = random.Random(seed)
    tables = CodeTables.load(REPO / "codes" / "allowed_codes")
    rows = [r for r in tables.in_force(on).rows]
    provs, mems = providers(providers_n, rng), members(members_n, rng)
    for n in range(count):
        p, m = provs[n % len(provs)], mems[n % len(mems)]
        k = lines or rng.randint(1, 6)
        day0 = on - timedelta(days=rng.randrange(60, 200))
        body = []
        for j in range(k):
            row = rng.choice(rows)
            start = day0 + timedelta(days=j * 7 + (n // len(mems)) * 2)  # distinct dates per member and round
            end = start + timedelta(days=rng.choice([0, 0, 0, 2, 4])) if row.encounter_unit == "per diem" else start
            units = 1 if end == start else (end - start).days + 1
            if row.max_units_per_line:
                units = min(units, int(row.max_units_per_line))
                end = start + timedelta(days=units - 1) if row.encounter_unit == "per diem" else start
            body.append(line_body(row, start, end, units, rng))
        yield invoice_body(p, m, body, rng, invoice_date=on, invoice_number=f"B{seed}-{n}")


def line_body(row, start: date, end: date, units: int, rng: random.Random) -> dict:  # noqa: ANN001 - a code row
    """One service line as a caller sends it (draws cost, place of service and diagnoses from rng, in that order)."""
    cost = Decimal(rng.randrange(2000, 40000)) / 100
    telehealth = "GQ" in row.modifiers
    return {
        "procedure_code": row.hcpcs, "procedure_code_modifiers": list(row.modifiers),
        "service_start_date": start.strftime("%m/%d/%Y"), "service_end_date": end.strftime("%m/%d/%Y"),
        "service_unit_count": units, "place_of_service": "02" if telehealth else rng.choice(["11", "12", "99"]),
        "member_diagnosis_codes": rng.sample(DIAGNOSES, rng.randint(1, 3)),
        "service_unit_cost": str(cost), "service_charge_amount": str(cost * units),
    }


def invoice_body(p: dict, m: dict, lines: list[dict], rng: random.Random, *, invoice_date: date,
                 invoice_number: str) -> dict:
    """The invoice around `lines` for provider p and member m (draws the homelessness indicator from rng)."""
    return {
        "billing_provider_npi": p["npi"], "billing_provider_tin": p["tin"], "billing_provider_name": p["name"],
        "billing_provider_phone_number": "9165550100", "billing_provider_address": p["address"],
        "billing_provider_city": "SACRAMENTO", "billing_provider_state": "CA", "billing_provider_zip": p["zip"],
        "rendering_provider_npi": p["npi"], "rendering_provider_tin": p["tin"],
        "rendering_provider_name": p["name"], "rendering_provider_phone_number": "9165550100",
        "rendering_provider_address": p["address"], "rendering_provider_city": "SACRAMENTO",
        "rendering_provider_state": "CA", "rendering_provider_zip": p["zip"][:5],
        "member_cin": m["cin"], "member_first_name": m["first"], "member_last_name": m["last"],
        "member_homelessness_indicator": rng.choice("YN"), "member_residential_address": m["address"],
        "member_residential_city": "SACRAMENTO", "member_residential_zip": m["zip"],
        "member_date_of_birth": m["dob"].strftime("%m/%d/%Y"),
        "primary_payer_identifier": "MCPTEST01", "payer_name": "TEST MEDI-CAL PLAN",
        "invoice_amount": str(sum(Decimal(x["service_charge_amount"]) for x in lines)),
        "invoice_date": invoice_date.strftime("%m/%d/%Y"), "invoice_number": invoice_number,
        "lines": lines,
    }
