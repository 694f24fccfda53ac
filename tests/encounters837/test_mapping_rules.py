"""Mapping section 13: everything pyx12 lets through although it is wrong is stopped by us — by the intake
rules before an invoice is stored, or by the writer, which builds it right by construction."""

import pytest

from app.invoices.rules import check_invoice
from app.x12.pyx12_check import validate_837
from app.x12.segments import X12ValueError, segment
from factories import ecm_invoice
from encounters837.test_loops837p import CTX, encounter, render, segs


def mutate(**changes):
    raw = ecm_invoice()
    for key, value in changes.items():
        if key.startswith("line0_"):
            raw["lines"][0][key.removeprefix("line0_")] = value
        else:
            raw[key] = value
    return raw


def error_locs(raw) -> set[str]:
    return {p.loc for p in check_invoice(raw, CTX).findings.errors}


@pytest.mark.parametrize("rule, raw, loc", [
    ("NPI with a bad check digit", mutate(billing_provider_npi="1999999993"), "billing_provider_npi"),
    ("RD8 range ending before it starts", mutate(line0_service_start_date="03/06/2024",
                                                 line0_service_end_date="03/05/2024"), "lines[0].service_end_date"),
    ("service date in the future", mutate(line0_service_start_date="01/05/2030",
                                          line0_service_end_date="01/05/2030"), "lines[0].service_start_date"),
    ("birth date after the service", mutate(member_date_of_birth="01/01/2025"), "member_date_of_birth"),
    ("2010AA ZIP of 5 digits", mutate(billing_provider_zip="95814"), "billing_provider_zip"),
    ("2010AA state XX", mutate(billing_provider_state="XX"), "billing_provider_state"),
    ("PO box as the billing address", mutate(billing_provider_address="PO Box 12"), "billing_provider_address"),
    ("HCPCS of 6 characters", mutate(line0_procedure_code="G90081"), "lines[0].procedure_code"),
    ("zero units", mutate(line0_service_unit_count=0), "lines[0].service_unit_count"),
    ("negative units", mutate(line0_service_unit_count=-1), "lines[0].service_unit_count"),
    ("negative charge", mutate(line0_service_charge_amount="-100.00"), "lines[0].service_charge_amount"),
    ("amount with 3 decimals", mutate(line0_service_unit_cost="100.005"), "lines[0].service_unit_cost"),
    ("* in an address (would become N302)", mutate(member_residential_address="1 Main*St"),
     "member_residential_address"),
    ("^ in a name (the repetition separator)", mutate(member_last_name="DO^E"), "member_last_name"),
    ("more than 4 modifiers", mutate(line0_procedure_code_modifiers=["U1", "GQ", "U2", "U3", "U4"]),
     "lines[0].procedure_code_modifiers"),
    ("more than 4 diagnosis pointers on a line",
     mutate(line0_member_diagnosis_codes=["F32.9", "E11.9", "I10", "Z59.01", "F41.9"]),
     "lines[0].member_diagnosis_codes"),
])
def test_intake_rejects_what_pyx12_would_let_through(rule, raw, loc):
    assert loc in error_locs(raw), rule


def test_the_unchanged_invoice_is_clean_so_each_rejection_above_is_caused_by_its_change():
    assert error_locs(ecm_invoice()) == set()


def test_clm02_is_the_sum_of_the_lines_sv102():
    s = segs(render([encounter(ecm_invoice())]).text)
    clm = next(x for x in s if x[0] == "CLM")
    assert clm[2] == "175.25" == str(sum(float(x[2]) for x in s if x[0] == "SV1"))


def test_claim_frequency_is_1_7_or_8_and_7_or_8_needs_ref_f8():
    for frequency in ("5", "X", ""):
        with pytest.raises(X12ValueError):
            render([encounter(ecm_invoice(), frequency=frequency, original_reference="INV1001-01")])
    with pytest.raises(X12ValueError):
        render([encounter(ecm_invoice(), frequency="8")])


def test_diagnosis_codes_lose_their_dot_and_pointers_stay_within_the_hi_list():
    s = segs(render([encounter(ecm_invoice())]).text)
    hi = next(x for x in s if x[0] == "HI")
    assert hi[1:] == ["ABK:F329", "ABF:E119"]
    for sv1 in (x for x in s if x[0] == "SV1"):
        assert all(1 <= int(p) <= len(hi) - 1 for p in sv1[7].split(":"))


def test_writer_always_emits_st03_dmg_n3_n4_even_without_optional_data():
    raw = ecm_invoice()
    for optional in ("control_number", "authorization_number", "medical_record_number"):
        raw.pop(optional)
    s = segs(render([encounter(raw)]).text)
    assert next(x for x in s if x[0] == "ST")[3] == "005010X222A1"
    member = s.index(next(x for x in s if x[:2] == ["NM1", "IL"]))
    assert [x[0] for x in s[member + 1:member + 4]] == ["N3", "N4", "DMG"]
    billing = s.index(next(x for x in s if x[:2] == ["NM1", "85"]))
    assert [x[0] for x in s[billing + 1:billing + 3]] == ["N3", "N4"]


def test_hl_tree_is_computed_member_hls_point_at_their_billing_provider():
    other = dict(ecm_invoice("INV9"), billing_provider_npi="1245319599", member_cin="91234568A")
    s = segs(render([encounter(ecm_invoice(), "1"), encounter(other, "2")]).text)
    hls = [x for x in s if x[0] == "HL"]
    assert [h[1] for h in hls] == [str(i) for i in range(1, len(hls) + 1)]
    provider = None
    for h in hls:
        if h[3] == "20":
            assert h[2] == "" and h[4] == "1"
            provider = h[1]
        else:
            assert h[3] == "22" and h[2] == provider and h[4] == "0"


def test_ref_ei_carries_the_tin_digits_only():
    s = segs(render([encounter(mutate(billing_provider_tin="12-3456789"))]).text)
    assert ["REF", "EI", "123456789"] in s


@pytest.mark.parametrize("value", ["1 Main*St", "DO^E", "A:B", "A~B", "A\rB"])
def test_writer_second_lock_refuses_what_intake_would_have_rejected(value):
    with pytest.raises(X12ValueError):
        segment("N3", value)


def test_every_output_above_passes_pyx12():
    other = dict(ecm_invoice("INV9"), billing_provider_npi="1245319599", member_cin="91234568A")
    assert validate_837(render([encounter(ecm_invoice(), "1"), encounter(other, "2")]).text).ok
