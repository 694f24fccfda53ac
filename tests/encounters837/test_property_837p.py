"""Property: any valid set of invoices — ECM and Community Supports codes from the table, 1-60 lines,
several members and billing providers, single days and ranges, originals, replacements and voids — renders
to an 837P that pyx12 accepts with zero findings, with every invoice line present exactly once and intact."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.invoices.rules import check_invoice
from app.x12.loops837p import EncounterInput
from app.x12.pyx12_check import validate_837
from encounters837.test_loops837p import CTX, render, segs
from factories import ecm_invoice, us_date

TABLE = CTX.code_tables.in_force(date(2024, 6, 1))
ROWS = [r for r in TABLE.rows if not r.max_units_per_line or r.max_units_per_line >= 1]
PROVIDERS = [("1999999992", "Sunny Days Care Coordination"), ("1245319599", "Harbor Housing Navigation"),
             ("1234567893", "Valley Meals Collective")]
MEMBERS = ["91234567A", "92345678B", "93456789C", "94567890D"]
DIAGNOSES = ["F32.9", "E11.9", "Z59.01", "I10", "J45.909", "F41.9", "F20.9", "E66.9", "N18.9", "K21.9"]


@st.composite
def service_line(draw):
    row = draw(st.sampled_from(ROWS))
    start = date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
    days = draw(st.integers(0, 6)) if draw(st.booleans()) else 0
    top = int(row.max_units_per_line) if row.max_units_per_line else 8
    units = draw(st.integers(1, max(1, min(top, 8))))
    cost = Decimal(draw(st.integers(100, 50000))) / 100
    telehealth = "GQ" in row.modifiers
    return {
        "procedure_code": row.hcpcs, "procedure_code_modifiers": list(row.modifiers),
        "service_start_date": us_date(start), "service_end_date": us_date(start + timedelta(days=days)),
        "service_unit_count": units,
        "place_of_service": draw(st.sampled_from(["02", "10"] if telehealth else ["11", "12", "99", "16", "04"])),
        "member_diagnosis_codes": draw(st.lists(st.sampled_from(DIAGNOSES), min_size=1, max_size=4, unique=True)),
        "service_unit_cost": str(cost), "service_charge_amount": str(cost * units),
    }


@st.composite
def invoice(draw, number: int):
    npi, name = draw(st.sampled_from(PROVIDERS))
    raw = ecm_invoice(f"P{number}", cin=draw(st.sampled_from(MEMBERS)))
    lines = draw(st.lists(service_line(), min_size=1, max_size=60))
    # one line per code, modifiers and dates: a repeat is a duplicate the intake refuses
    unique = list({(ln["procedure_code"], tuple(ln["procedure_code_modifiers"]), ln["service_start_date"],
                    ln["service_end_date"]): ln for ln in lines}.values())
    raw.update(billing_provider_npi=npi, billing_provider_name=name, lines=unique,
               invoice_amount=str(sum(Decimal(ln["service_charge_amount"]) for ln in unique)),
               invoice_date="12/31/2024")
    if npi == "1234567893":
        raw["rendering_provider_npi"] = "1999999992"
    return raw


@st.composite
def batch(draw):
    raws = [draw(invoice(i)) for i in range(draw(st.integers(1, 6)))]
    frequencies = [draw(st.sampled_from(["1", "1", "7", "8"])) for _ in raws]
    return raws, frequencies


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch())
def test_any_valid_invoices_render_to_a_pyx12_clean_837p_with_every_line_intact(generated):
    raws, frequencies = generated
    encounters = []
    for n, (raw, frequency) in enumerate(zip(raws, frequencies, strict=True)):
        result = check_invoice(raw, CTX)
        assert result.findings.errors == [], [p.as_dict() for p in result.findings.errors]
        inv = result.invoice
        encounters.append(EncounterInput(
            invoice=inv, claim_id_base=inv.invoice_number, encounter_id=str(n), frequency=frequency,
            original_reference=f"{inv.invoice_number}-01" if frequency != "1" else None,
            line_control_numbers=tuple(f"E{n}-{i + 1}" for i in range(len(inv.lines)))))
    out = render(encounters)
    report = validate_837(out.text)
    assert report.ok, [f.describe() for f in report.findings[:5]]

    s = segs(out.text)
    sent, hi = {}, []
    for i, seg in enumerate(s):
        if seg[0] == "HI":
            hi = [c.split(":")[1] for c in seg[1:]]
        if seg[0] == "SV1":
            control = next(x for x in s[i:] if x[:2] == ["REF", "6R"])[2]
            assert control not in sent
            dtp = next(x for x in s[i:] if x[0] == "DTP")
            sent[control] = (seg, dtp, [hi[int(p) - 1] for p in seg[7].split(":")])
    expected = {f"E{n}-{i + 1}": line for n, raw in enumerate(raws) for i, line in enumerate(raw["lines"])}
    assert sent.keys() == expected.keys()
    lines_by_control = {f"E{n}-{i + 1}": line for n, e in enumerate(encounters) for i, line in enumerate(e.invoice.lines)}
    for control, (seg, dtp, diagnoses) in sent.items():
        line, stored = expected[control], lines_by_control[control]
        assert seg[1].split(":")[1:] == [line["procedure_code"], *line["procedure_code_modifiers"]]
        assert Decimal(seg[2]) == Decimal(line["service_charge_amount"])
        assert Decimal(seg[4]) == stored.encounter_units
        start, end = (line["service_start_date"], line["service_end_date"])
        to_x12 = lambda d: d[6:] + d[:2] + d[3:5]  # noqa: E731 - MM/DD/YYYY -> CCYYMMDD
        assert dtp[2:] == (["D8", to_x12(start)] if start == end else ["RD8", f"{to_x12(start)}-{to_x12(end)}"])
        assert diagnoses == [d.replace(".", "") for d in line["member_diagnosis_codes"]]
    clms = {x[1]: x for x in s if x[0] == "CLM"}
    for claim in out.claims:
        assert clms[claim.clm01][5].split(":")[2] == frequencies[int(claim.encounter_id)]
    assert sum(1 for x in s if x[:2] == ["REF", "F8"]) == sum(
        1 for c in out.claims if frequencies[int(c.encounter_id)] != "1")
