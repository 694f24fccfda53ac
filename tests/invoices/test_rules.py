"""Pure unit tests of app.invoices.rules.check_invoice: every check of the DHCS minimum invoice elements
(reference/invoice-elements.md, Tables 1-4), run against the real code tables and code lists in codes/.
No database, no HTTP."""

from __future__ import annotations

import copy
import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.codetable import CodeTables, load_code_list
from app.invoices.rules import CheckResult, RuleContext, check_invoice
from factories import BILLING_NPI, RENDERING_NPI, cs_invoice, ecm_invoice, variant

REPO = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 22)
CTX = RuleContext(
    code_tables=CodeTables.load(REPO / "codes" / "allowed_codes"),
    places_of_service=load_code_list(REPO / "codes" / "place_of_service.csv"),
    states=load_code_list(REPO / "codes" / "us_states.csv"),
    today=TODAY,
)


# --- helpers -------------------------------------------------------------------------------------------


def check(raw) -> CheckResult:
    return check_invoice(raw, CTX)


def errors(result: CheckResult) -> list[tuple[str, str]]:
    return [(p.loc, p.code) for p in result.findings.errors]


def warnings(result: CheckResult) -> list[tuple[str, str]]:
    return [(p.loc, p.code) for p in result.findings.warnings]


def only_error(result: CheckResult, loc: str, code: str):
    """The result has exactly one error, at `loc` with `code`; returns it for message checks."""
    assert errors(result) == [(loc, code)], result.findings.errors
    assert result.invoice is None
    return result.findings.errors[0]


def warning_at(result: CheckResult, loc: str, code: str):
    found = [p for p in result.findings.warnings if (p.loc, p.code) == (loc, code)]
    assert len(found) == 1, result.findings.warnings
    return found[0]


def assert_valid(result: CheckResult) -> None:
    assert result.findings.errors == []
    assert result.invoice is not None


def one_line_ecm(**changes) -> dict:
    """The factory ECM invoice with only its first line (G9008 U1, 1 x 100.00, POS 11, F32.9)."""
    inv = ecm_invoice()
    inv["lines"] = inv["lines"][:1]
    inv["invoice_amount"] = "100.00"
    return variant(inv, **changes)


def cs_with_line(start: date, **line_changes) -> dict:
    """The factory CS invoice (H0043 U6, 5 x 60.00, service start..start+4) with its line changed."""
    return variant(cs_invoice(start=start), **{f"lines__0__{k}": v for k, v in line_changes.items()})


# --- the factory invoices ------------------------------------------------------------------------------


def test_ecm_invoice_is_valid_and_its_lines_are_program_ecm():
    result = check(ecm_invoice())
    assert_valid(result)
    assert result.findings.warnings == []  # G9008 U1 / U1 GQ are seed rows: nothing to confirm
    assert result.invoice.programs == ("ECM",)
    assert [ln.program for ln in result.invoice.lines] == ["ECM", "ECM"]
    assert [ln.line_number for ln in result.invoice.lines] == [1, 2]
    assert result.invoice.lines[1].modifiers == ("U1", "GQ")
    assert result.invoice.invoice_amount == Decimal("175.25")


def test_cs_invoice_is_valid_and_its_line_is_program_cs():
    result = check(cs_invoice())
    assert_valid(result)
    assert result.invoice.programs == ("CS",)
    line = result.invoice.lines[0]
    assert (line.procedure_code, line.modifiers, line.program) == ("H0043", ("U6",), "CS")
    assert line.encounter_unit == "per diem"
    assert line.encounter_units == Decimal(5)
    assert result.invoice.member.homeless is True
    assert result.invoice.lines[0].code_table_version == "2022-01-01_2025-12-31"


# --- Tables 1-4: required and optional elements --------------------------------------------------------

REQUIRED_INVOICE_ELEMENTS = [
    # Table 1 (rendering NPI is optional, billing NPI required)
    "billing_provider_npi", "billing_provider_tin", "billing_provider_name", "billing_provider_phone_number",
    "billing_provider_address", "billing_provider_city", "billing_provider_state", "billing_provider_zip",
    "rendering_provider_tin", "rendering_provider_name", "rendering_provider_phone_number",
    "rendering_provider_address", "rendering_provider_city", "rendering_provider_state", "rendering_provider_zip",
    # Table 2
    "member_cin", "member_first_name", "member_last_name", "member_homelessness_indicator",
    "member_residential_address", "member_residential_city", "member_residential_zip", "member_date_of_birth",
    # Table 3
    "primary_payer_identifier", "payer_name", "invoice_amount",
    # Table 4
    "invoice_date", "invoice_number",
]
REQUIRED_LINE_ELEMENTS = [
    "procedure_code", "procedure_code_modifiers", "service_start_date", "service_end_date",
    "service_unit_count", "place_of_service", "member_diagnosis_codes", "service_unit_cost",
    "service_charge_amount",
]


@pytest.mark.parametrize("name", REQUIRED_INVOICE_ELEMENTS)
def test_missing_required_invoice_element_is_rejected_as_required(name):
    only_error(check(variant(ecm_invoice(), **{name: ...})), name, "required")


@pytest.mark.parametrize("name", REQUIRED_INVOICE_ELEMENTS)
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_required_invoice_element_is_rejected_as_required(name, blank):
    only_error(check(variant(ecm_invoice(), **{name: blank})), name, "required")


@pytest.mark.parametrize("name", REQUIRED_LINE_ELEMENTS)
def test_missing_required_line_element_is_rejected_as_required(name):
    inv = one_line_ecm()
    del inv["lines"][0][name]
    only_error(check(inv), f"lines[0].{name}", "required")


@pytest.mark.parametrize("lines", [None, []], ids=["none", "empty"])
def test_invoice_without_lines_is_rejected(lines):
    only_error(check(variant(ecm_invoice(), lines=lines)), "lines", "required")


@pytest.mark.parametrize(
    "name, read",
    [
        ("billing_provider_first_name", lambda inv: inv.billing_provider.first_name),
        ("billing_provider_last_name", lambda inv: inv.billing_provider.last_name),
        ("rendering_provider_npi", lambda inv: inv.rendering_provider.npi),
        ("rendering_provider_first_name", lambda inv: inv.rendering_provider.first_name),
        ("rendering_provider_last_name", lambda inv: inv.rendering_provider.last_name),
        ("medical_record_number", lambda inv: inv.member.medical_record_number),
        ("control_number", lambda inv: inv.control_number),
        ("authorization_number", lambda inv: inv.authorization_number),
    ],
)
def test_optional_element_may_be_left_out(name, read):
    result = check(variant(ecm_invoice(), **{name: ...}))
    assert_valid(result)
    assert read(result.invoice) is None


def test_rendering_npi_given_is_kept():
    result = check(ecm_invoice())
    assert result.invoice.rendering_provider.npi == RENDERING_NPI
    assert result.invoice.billing_provider.npi == BILLING_NPI


def test_service_name_is_optional():
    inv = one_line_ecm()
    del inv["lines"][0]["service_name"]
    result = check(inv)
    assert_valid(result)
    assert result.invoice.lines[0].service_name is None


def test_member_state_is_not_a_dhcs_element_and_defaults_to_ca():
    result = check(variant(ecm_invoice(), member_residential_state=...))
    assert_valid(result)
    assert result.invoice.member.state == "CA"


@pytest.mark.parametrize(
    "name, limit",
    [
        ("member_first_name", 35),  # NM104
        ("member_last_name", 60),  # NM103
        ("billing_provider_name", 60),
        ("rendering_provider_name", 60),
        ("billing_provider_first_name", 35),
        ("rendering_provider_first_name", 35),
        ("billing_provider_address", 55),  # N301
        ("rendering_provider_address", 55),
        ("member_residential_address", 55),
        ("billing_provider_city", 30),  # N401
        ("member_residential_city", 30),
        ("payer_name", 60),
        ("invoice_number", 17),  # CLM01 is invoice number + "-NN", receivers keep 20
        ("control_number", 50),  # REF02
        ("authorization_number", 50),
        ("medical_record_number", 50),
        ("primary_payer_identifier", 80),  # NM109
    ],
)
def test_element_longer_than_its_837p_limit_is_rejected(name, limit):
    assert_valid(check(variant(ecm_invoice(), **{name: "A" * limit})))
    problem = only_error(check(variant(ecm_invoice(), **{name: "A" * (limit + 1)})), name, "too_long")
    assert f"at most {limit}" in problem.message
    assert str(limit + 1) in problem.message


def test_service_name_longer_than_80_is_rejected():
    assert_valid(check(one_line_ecm(lines__0__service_name="S" * 80)))
    only_error(check(one_line_ecm(lines__0__service_name="S" * 81)), "lines[0].service_name", "too_long")


def test_length_is_counted_on_the_form_the_837p_carries():
    # 'ß' is carried as 'ss': 18 of them are 36 characters in the 837P, one more than NM104 allows.
    only_error(check(variant(ecm_invoice(), member_first_name="ß" * 18)), "member_first_name", "too_long")


def test_one_character_city_is_rejected_as_too_short():
    only_error(check(variant(ecm_invoice(), member_residential_city="X")), "member_residential_city", "too_short")


# --- the allowed-code table ---------------------------------------------------------------------------


def test_bare_procedure_code_without_modifiers_is_rejected_naming_the_allowed_modifier_sets():
    problem = only_error(
        check(one_line_ecm(lines__0__procedure_code_modifiers=[])),
        "lines[0].procedure_code_modifiers", "required",
    )
    assert "U1 (" in problem.message and "U1+GQ (" in problem.message
    assert {"G9008 U1", "G9008 U1 GQ"} <= set(problem.allowed)
    assert all(a.startswith("G9008 ") for a in problem.allowed)


def test_modifier_set_not_in_the_table_is_rejected_naming_the_allowed_combinations():
    problem = only_error(
        check(one_line_ecm(lines__0__procedure_code_modifiers=["GQ"])),
        "lines[0].procedure_code_modifiers", "modifier_combination_not_allowed",
    )
    assert "G9008 with GQ" in problem.message
    assert "U1 (" in problem.message and "U1+GQ (" in problem.message
    assert {"G9008 U1", "G9008 U1 GQ"} <= set(problem.allowed)
    assert "G9012 U2" not in problem.allowed


def test_extra_modifier_makes_the_combination_not_allowed():
    problem = only_error(
        check(one_line_ecm(lines__0__procedure_code_modifiers=["U1", "GQ", "U8"])),
        "lines[0].procedure_code_modifiers", "modifier_combination_not_allowed",
    )
    assert "U1+GQ+U8" in problem.message


def test_modifier_of_another_code_is_rejected_with_this_codes_combinations():
    problem = only_error(
        check(one_line_ecm(lines__0__procedure_code="G9012", lines__0__procedure_code_modifiers=["U1"])),
        "lines[0].procedure_code_modifiers", "modifier_combination_not_allowed",
    )
    assert problem.allowed == ["G9012 U2", "G9012 U2 GQ", "G9012 U8", "G9012 U8 GQ"]


def test_procedure_code_not_in_the_table_is_rejected_on_the_procedure_code():
    problem = only_error(
        check(one_line_ecm(lines__0__procedure_code="A0427")), "lines[0].procedure_code", "code_not_allowed",
    )
    assert "A0427" in problem.message
    assert "2022-01-01_2025-12-31" in problem.message
    assert {"G9008", "G9012", "H0043"} <= set(problem.allowed)


@pytest.mark.parametrize("code", ["G900", "9008", "GG008", "G90081", "G-9008"])
def test_procedure_code_that_is_not_hcpcs_shaped_is_rejected(code):
    only_error(check(one_line_ecm(lines__0__procedure_code=code)), "lines[0].procedure_code", "invalid_format")


def test_modifiers_in_another_order_are_accepted_with_a_reordered_warning():
    result = check(variant(ecm_invoice(), lines__1__procedure_code_modifiers=["GQ", "U1"]))
    assert_valid(result)
    assert warnings(result) == [("lines[1].procedure_code_modifiers", "modifiers_reordered")]
    assert result.invoice.lines[1].modifiers == ("U1", "GQ")  # stored in the code table's order


@pytest.mark.parametrize("spelling", ["U1 GQ", "u1,gq", "U1+GQ", ["u1", "gq"]])
def test_modifiers_as_a_string_or_in_lower_case_are_normalised(spelling):
    result = check(variant(ecm_invoice(), lines__1__procedure_code_modifiers=spelling))
    assert_valid(result)
    assert result.invoice.lines[1].modifiers == ("U1", "GQ")


def test_more_than_four_modifiers_are_rejected():
    result = check(one_line_ecm(lines__0__procedure_code_modifiers=["U1", "GQ", "U2", "U3", "U4"]))
    assert errors(result) == [("lines[0].procedure_code_modifiers", "too_many")]


def test_the_same_modifier_twice_is_rejected():
    result = check(one_line_ecm(lines__0__procedure_code_modifiers=["U1", "u1"]))
    assert errors(result) == [("lines[0].procedure_code_modifiers", "repeated_modifier")]


def test_modifier_that_is_not_two_characters_is_rejected_at_its_position():
    result = check(one_line_ecm(lines__0__procedure_code_modifiers=["U1", "GQQ"]))
    assert errors(result) == [("lines[0].procedure_code_modifiers[1]", "invalid_format")]


def test_row_added_in_2026_is_rejected_for_a_2025_service_date():
    problem = only_error(
        check(cs_with_line(date(2025, 6, 2), procedure_code="S9452", procedure_code_modifiers=["U5"])),
        "lines[0].procedure_code", "code_not_allowed",
    )
    assert "2025-06-02" in problem.message and "2022-01-01_2025-12-31" in problem.message


def test_row_added_in_2026_is_accepted_for_a_2026_service_date():
    result = check(cs_with_line(date(2026, 6, 1), procedure_code="S9452", procedure_code_modifiers=["U5"]))
    assert_valid(result)
    line = result.invoice.lines[0]
    assert (line.procedure_code, line.modifiers, line.program) == ("S9452", ("U5",), "CS")
    assert line.code_table_version == "2026-01-01_open"


def test_the_table_in_force_is_chosen_by_the_service_start_date_at_the_boundary():
    last_2025 = cs_with_line(date(2025, 12, 31), procedure_code="S9452", procedure_code_modifiers=["U5"])
    assert errors(check(last_2025)) == [("lines[0].procedure_code", "code_not_allowed")]
    first_2026 = cs_with_line(date(2026, 1, 1), procedure_code="S9452", procedure_code_modifiers=["U5"])
    assert_valid(check(first_2026))


def test_new_2026_modifier_of_an_existing_code_is_rejected_in_2025_naming_the_2025_combinations():
    problem = only_error(
        check(cs_with_line(date(2025, 6, 2), procedure_code="H0044", procedure_code_modifiers=["U5"],
                           service_end_date="06/02/2025", service_unit_count=1, service_charge_amount="60.00")
              | {"invoice_amount": "60.00"}),
        "lines[0].procedure_code_modifiers", "modifier_combination_not_allowed",
    )
    assert problem.allowed == ["H0044 U2", "H0044 U3"]


def test_service_date_before_any_code_table_is_rejected():
    inv = one_line_ecm(lines__0__service_start_date="12/31/2021", lines__0__service_end_date="12/31/2021")
    problem = only_error(check(inv), "lines[0].service_start_date", "no_code_table")
    assert "2021-12-31" in problem.message


def test_procedure_code_and_modifiers_in_lower_case_are_normalised():
    result = check(variant(one_line_ecm(), lines__0__procedure_code="g9008", lines__0__procedure_code_modifiers=["u1"]))
    assert_valid(result)
    assert (result.invoice.lines[0].procedure_code, result.invoice.lines[0].modifiers) == ("G9008", ("U1",))


# --- identifiers and addresses -------------------------------------------------------------------------


def test_npi_failing_the_luhn_check_is_rejected():
    problem = only_error(check(variant(ecm_invoice(), billing_provider_npi="1999999993")),
                         "billing_provider_npi", "invalid_check_digit")
    assert "1999999993" in problem.message and "80840" in problem.message


def test_rendering_npi_when_given_must_pass_the_luhn_check():
    only_error(check(variant(ecm_invoice(), rendering_provider_npi="1234567890")),
               "rendering_provider_npi", "invalid_check_digit")


def test_npi_not_starting_with_1_or_2_is_rejected_even_if_luhn_valid():
    only_error(check(variant(ecm_invoice(), billing_provider_npi="3123456782")),
               "billing_provider_npi", "invalid_check_digit")


@pytest.mark.parametrize("bad", ["199999999", "19999999921", "ABCDEFGHIJ", "1999999g92", "１９９９９９９９９２", "1²²²²²²²²²"])
def test_npi_that_is_not_ten_ascii_digits_is_rejected(bad):
    only_error(check(variant(ecm_invoice(), billing_provider_npi=bad)), "billing_provider_npi", "invalid_format")


def test_npi_with_spaces_or_dashes_is_normalised():
    result = check(variant(ecm_invoice(), billing_provider_npi="199-999-9992", rendering_provider_npi=" 1234 567 893 "))
    assert_valid(result)
    assert result.invoice.billing_provider.npi == "1999999992"
    assert result.invoice.rendering_provider.npi == "1234567893"


@pytest.mark.parametrize("name", ["billing_provider_tin", "rendering_provider_tin"])
@pytest.mark.parametrize("bad", ["12345678", "1234567890", "12-345678A", "²²²²²²²²²"])
def test_tin_that_is_not_nine_digits_is_rejected(name, bad):
    problem = only_error(check(variant(ecm_invoice(), **{name: bad})), name, "invalid_format")
    assert "9 digits" in problem.message


@pytest.mark.parametrize("name", ["billing_provider_state", "rendering_provider_state", "member_residential_state"])
@pytest.mark.parametrize("bad", ["XX", "Calif", "C"])
def test_state_that_is_not_a_us_postal_code_is_rejected(name, bad):
    problem = only_error(check(variant(ecm_invoice(), **{name: bad})), name, "invalid_code")
    assert "CA (California)" in problem.allowed


def test_billing_provider_zip_must_be_zip_plus4():
    problem = only_error(check(variant(ecm_invoice(), billing_provider_zip="95814")),
                         "billing_provider_zip", "zip_plus4_required")
    assert "ZIP+4" in problem.message and "837P" in problem.message
    assert problem.allowed == ["95814-1420"]


def test_billing_provider_zip_of_the_wrong_length_is_a_format_error_not_a_plus4_one():
    only_error(check(variant(ecm_invoice(), billing_provider_zip="9581")), "billing_provider_zip", "invalid_format")


@pytest.mark.parametrize("name", ["rendering_provider_zip", "member_residential_zip"])
def test_rendering_and_member_zip_may_be_5_or_9_digits(name):
    five = check(variant(ecm_invoice(), **{name: "95814"}))
    nine = check(variant(ecm_invoice(), **{name: "95814-1420"}))
    assert_valid(five)
    assert_valid(nine)
    read = (lambda inv: inv.rendering_provider.zip) if name.startswith("rendering") else (lambda inv: inv.member.zip)
    assert (read(five.invoice), read(nine.invoice)) == ("95814", "958141420")


@pytest.mark.parametrize("name", ["rendering_provider_zip", "member_residential_zip"])
@pytest.mark.parametrize("bad", ["9581", "958141", "95814-14", "ABCDE"])
def test_zip_that_is_not_5_or_9_digits_is_rejected(name, bad):
    only_error(check(variant(ecm_invoice(), **{name: bad})), name, "invalid_format")


@pytest.mark.parametrize("name", ["billing_provider_phone_number", "rendering_provider_phone_number"])
@pytest.mark.parametrize("bad", ["555-0101", "916-555-01011", "29165550101", "(916) 555-CALL"])
def test_phone_that_is_not_ten_digits_is_rejected(name, bad):
    only_error(check(variant(ecm_invoice(), **{name: bad})), name, "invalid_format")


def test_phone_with_us_country_code_is_accepted_as_ten_digits():
    result = check(variant(ecm_invoice(), billing_provider_phone_number="+1 916-555-0101"))
    assert_valid(result)
    assert result.invoice.billing_provider.phone == "9165550101"


@pytest.mark.parametrize("bad", ["9123456A", "912345678", "A12345678", "91234567AB", "９１２３４５６７A"])
def test_cin_that_is_not_eight_digits_and_a_letter_is_rejected(bad):
    problem = only_error(check(variant(ecm_invoice(), member_cin=bad)), "member_cin", "invalid_format")
    assert problem.allowed == ["91234567A"]


def test_human_spellings_are_normalised_on_the_invoice():
    inv = variant(
        ecm_invoice(),
        billing_provider_tin="12-3456789",
        billing_provider_phone_number="(916) 555-0101",
        billing_provider_zip="95814-1420",
        billing_provider_state="ca",
        rendering_provider_zip="95814-1420",
        rendering_provider_state=" ca ",
        member_residential_state="nv",
        member_cin="91234567a",
        member_homelessness_indicator="n",
        lines__0__procedure_code="g9008",
        lines__0__procedure_code_modifiers=["u1"],
        lines__1__procedure_code_modifiers="u1 gq",
        lines__0__member_diagnosis_codes=["f32.9"],
        lines__1__member_diagnosis_codes="F329, e119",
        invoice_amount="$175.25",
    )
    result = check(inv)
    assert_valid(result)
    out = result.invoice
    assert out.billing_provider.tin == "123456789"
    assert out.billing_provider.phone == "9165550101"
    assert out.billing_provider.zip == "958141420"
    assert out.billing_provider.state == "CA"
    assert out.rendering_provider.zip == "958141420"
    assert out.rendering_provider.state == "CA"
    assert out.member.state == "NV"
    assert out.member.cin == "91234567A"
    assert out.member.homeless is False
    assert out.lines[0].procedure_code == "G9008"
    assert out.lines[0].modifiers == ("U1",)
    assert out.lines[1].modifiers == ("U1", "GQ")
    assert out.lines[0].diagnosis_codes == ("F32.9",)
    assert out.lines[1].diagnosis_codes == ("F32.9", "E11.9")
    assert out.invoice_amount == Decimal("175.25")


@pytest.mark.parametrize("spelling, expected", [("Y", True), ("yes", True), ("N", False), ("no", False), (True, True)])
def test_homelessness_indicator_spellings(spelling, expected):
    result = check(variant(cs_invoice(), member_homelessness_indicator=spelling))
    assert_valid(result)
    assert result.invoice.member.homeless is expected


def test_homelessness_indicator_other_than_yes_or_no_is_rejected():
    problem = only_error(check(variant(ecm_invoice(), member_homelessness_indicator="maybe")),
                         "member_homelessness_indicator", "invalid_code")
    assert problem.allowed == ["Y", "N"]


def test_member_with_a_general_delivery_address_is_accepted():
    result = check(variant(cs_invoice(), member_residential_address="General Delivery"))
    assert_valid(result)
    assert result.invoice.member.address == "General Delivery"


# --- dates ---------------------------------------------------------------------------------------------


def test_service_end_before_start_is_rejected():
    problem = only_error(check(one_line_ecm(lines__0__service_end_date="03/04/2024")),
                         "lines[0].service_end_date", "date_order")
    assert "2024-03-04" in problem.message and "2024-03-05" in problem.message


def test_multi_day_service_is_accepted():
    result = check(cs_invoice())
    assert_valid(result)
    assert (result.invoice.lines[0].service_start_date, result.invoice.lines[0].service_end_date) == (
        date(2024, 3, 1), date(2024, 3, 5))


def test_service_dates_in_the_future_are_rejected():
    inv = one_line_ecm(lines__0__service_start_date="11/23/2026", lines__0__service_end_date="11/23/2026",
                       invoice_date="11/23/2026")
    assert sorted(errors(check(inv))) == sorted([
        ("lines[0].service_start_date", "future_date"),
        ("lines[0].service_end_date", "future_date"),
        ("invoice_date", "future_date"),
    ])


def test_service_end_alone_in_the_future_is_rejected():
    inv = one_line_ecm(lines__0__service_start_date="11/20/2026", lines__0__service_end_date="11/23/2026",
                       invoice_date="11/22/2026")
    assert sorted(errors(check(inv))) == sorted([
        ("lines[0].service_end_date", "future_date"),
        ("invoice_date", "date_order"),  # the invoice is also dated before the service end
    ])


def test_service_and_invoice_dated_today_are_accepted():
    inv = one_line_ecm(lines__0__service_start_date="11/22/2026", lines__0__service_end_date="11/22/2026",
                       invoice_date="11/22/2026")
    assert_valid(check(inv))


def test_date_of_birth_in_the_future_is_rejected():
    result = check(variant(ecm_invoice(), member_date_of_birth="01/01/2027"))
    assert errors(result) == [("member_date_of_birth", "future_date"), ("member_date_of_birth", "date_order")]


def test_date_of_birth_after_the_service_start_is_rejected():
    problem = only_error(check(variant(ecm_invoice(), member_date_of_birth="03/06/2024")),
                         "member_date_of_birth", "date_order")
    assert "line 1" in problem.message


def test_date_of_birth_on_the_service_day_is_accepted():
    assert_valid(check(variant(ecm_invoice(), member_date_of_birth="03/05/2024")))


def test_invoice_dated_before_the_service_is_rejected():
    problem = only_error(check(variant(ecm_invoice(), invoice_date="03/04/2024")), "invoice_date", "date_order")
    assert "2024-03-05" in problem.message


def test_invoice_dated_before_the_end_of_a_multi_day_service_is_rejected():
    only_error(check(variant(cs_invoice(), invoice_date="03/03/2024")), "invoice_date", "date_order")


def test_invoice_dated_on_the_service_day_is_accepted():
    assert_valid(check(variant(ecm_invoice(), invoice_date="03/05/2024")))


def test_iso_and_us_dates_are_both_accepted_and_read_the_same():
    us = check(ecm_invoice())
    iso = check(variant(
        ecm_invoice(), member_date_of_birth="1980-01-15", invoice_date="2024-03-10",
        lines__0__service_start_date="2024-03-05", lines__0__service_end_date="2024-03-05",
        lines__1__service_start_date="2024-03-05", lines__1__service_end_date="03/05/2024",
    ))
    assert_valid(us)
    assert_valid(iso)
    assert iso.invoice == us.invoice
    assert us.invoice.member.date_of_birth == date(1980, 1, 15)
    assert us.invoice.invoice_date == date(2024, 3, 10)


def test_leap_day_is_a_real_date():
    inv = one_line_ecm(lines__0__service_start_date="02/29/2024", lines__0__service_end_date="2024-02-29")
    assert_valid(check(inv))


@pytest.mark.parametrize("bad", ["02/30/2024", "2024-02-30", "02/29/2023", "13/01/2024", "03-05-2024", "5 March 2024", "03/05/24"])
def test_service_date_that_is_not_a_real_date_in_an_accepted_format_is_rejected(bad):
    problem = only_error(check(one_line_ecm(lines__0__service_start_date=bad)),
                         "lines[0].service_start_date", "invalid_date")
    assert problem.allowed == ["MM/DD/YYYY", "YYYY-MM-DD"]


@pytest.mark.parametrize("name", ["member_date_of_birth", "invoice_date"])
def test_february_30_is_rejected_for_birth_and_invoice_dates(name):
    only_error(check(variant(ecm_invoice(), **{name: "02/30/2024"})), name, "invalid_date")


def test_date_of_birth_before_1900_is_rejected():
    only_error(check(variant(ecm_invoice(), member_date_of_birth="01/01/1850")), "member_date_of_birth", "invalid_date")


# --- ICD-10-CM diagnoses -------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["Z59.01", "Z5901", "z59.01", "z5901"])
def test_diagnosis_with_or_without_the_dot_is_the_same_code(spelling):
    result = check(cs_with_line(date(2024, 3, 1), member_diagnosis_codes=[spelling]))
    assert_valid(result)
    assert result.invoice.lines[0].diagnosis_codes == ("Z59.01",)
    assert "homeless_without_z59" not in [p.code for p in result.findings.warnings]  # Z5901 counts as Z59.0x


def test_category_diagnosis_is_rejected_as_not_billable():
    problem = only_error(check(one_line_ecm(lines__0__member_diagnosis_codes=["F32"])),
                         "lines[0].member_diagnosis_codes[0]", "diagnosis_not_billable")
    assert "F32" in problem.message and "category" in problem.message
    assert "F32.9" in problem.allowed


@pytest.mark.parametrize("made_up", ["Q99.99", "ABC.12", "Z59.09", "123"])
def test_made_up_diagnosis_is_rejected(made_up):
    problem = only_error(check(one_line_ecm(lines__0__member_diagnosis_codes=[made_up])),
                         "lines[0].member_diagnosis_codes[0]", "unknown_diagnosis")
    assert made_up in problem.message


def test_bad_diagnosis_is_reported_at_its_position_in_the_list():
    result = check(variant(ecm_invoice(), lines__1__member_diagnosis_codes=["F32.9", "Q99.99"]))
    assert errors(result) == [("lines[1].member_diagnosis_codes[1]", "unknown_diagnosis")]


def test_same_diagnosis_twice_on_a_line_is_rejected():
    result = check(one_line_ecm(lines__0__member_diagnosis_codes=["Z59.01", "Z5901"]))
    assert errors(result) == [("lines[0].member_diagnosis_codes[1]", "repeated_diagnosis")]


def test_more_than_four_diagnoses_on_a_line_are_rejected():
    result = check(one_line_ecm(lines__0__member_diagnosis_codes=["F32.9", "E11.9", "Z59.01", "I10", "J45.909"]))
    assert errors(result) == [("lines[0].member_diagnosis_codes", "too_many")]


def test_four_diagnoses_on_a_line_are_accepted_in_the_order_given():
    result = check(one_line_ecm(lines__0__member_diagnosis_codes="I10; E11.9, F329 Z59.01"))
    assert_valid(result)
    assert result.invoice.lines[0].diagnosis_codes == ("I10", "E11.9", "F32.9", "Z59.01")


# --- place of service ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["2", 2, " 2 ", "02"])
def test_one_digit_place_of_service_is_read_as_the_two_digit_code(spelling):
    result = check(variant(ecm_invoice(), lines__1__place_of_service=spelling))
    assert_valid(result)
    assert result.invoice.lines[1].place_of_service == "02"
    assert result.findings.warnings == []  # "2" is telehealth POS 02: no GQ warning


@pytest.mark.parametrize("bad", ["00", "1A", "Office", "100", "2.5"])
def test_place_of_service_that_is_not_a_cms_code_is_rejected(bad):
    problem = only_error(check(one_line_ecm(lines__0__place_of_service=bad)),
                         "lines[0].place_of_service", "invalid_code")
    assert "11 (Office)" in problem.allowed
    assert "02 (Telehealth Provided Other than in Patient's Home)" in problem.allowed


def test_place_of_service_99_other_is_a_cms_code():
    assert_valid(check(one_line_ecm(lines__0__place_of_service="99")))


# --- units and amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("units, code", [(0, "not_positive"), ("0.000", "not_positive"), (-1, "negative"),
                                         ("abc", "invalid_number"), ("1,5", "invalid_number")])
def test_unit_count_must_be_a_number_greater_than_zero(units, code):
    only_error(check(one_line_ecm(lines__0__service_unit_count=units)), "lines[0].service_unit_count", code)


def test_line_charge_that_is_not_units_times_unit_cost_is_rejected_naming_the_expected_amount():
    inv = variant(one_line_ecm(lines__0__service_charge_amount="90.00"), invoice_amount="90.00")
    problem = only_error(check(inv), "lines[0].service_charge_amount", "amount_mismatch")
    assert "100.00" in problem.message
    assert problem.allowed == ["100.00"]


def test_fractional_units_times_unit_cost_is_rounded_half_up_to_the_cent():
    # 1.5 x 33.33 = 49.995, which rounds half-up to 50.00 (half-even would also give 50.00 here)
    inv = one_line_ecm(lines__0__service_unit_count="1.5", lines__0__service_unit_cost="33.33",
                       lines__0__service_charge_amount="50.00", invoice_amount="50.00")
    result = check(inv)
    assert_valid(result)
    assert result.invoice.lines[0].charge_amount == Decimal("50.00")
    assert result.invoice.lines[0].unit_count == Decimal("1.5")

    rounded_down = variant(inv, lines__0__service_charge_amount="49.99", invoice_amount="49.99")
    problem = only_error(check(rounded_down), "lines[0].service_charge_amount", "amount_mismatch")
    assert problem.allowed == ["50.00"]


def test_rounding_is_half_up_not_half_even():
    # 2.5 x 33.33 = 83.325: half-up gives 83.33 (banker's rounding would give 83.32)
    inv = one_line_ecm(lines__0__service_unit_count=2.5, lines__0__service_unit_cost=33.33,
                       lines__0__service_charge_amount="83.33", invoice_amount="83.33")
    assert_valid(check(inv))
    problem = only_error(check(variant(inv, lines__0__service_charge_amount="83.32", invoice_amount="83.32")),
                         "lines[0].service_charge_amount", "amount_mismatch")
    assert problem.allowed == ["83.33"]


def test_invoice_amount_that_is_not_the_sum_of_line_charges_is_rejected_to_the_cent():
    problem = only_error(check(variant(ecm_invoice(), invoice_amount="175.24")), "invoice_amount", "amount_mismatch")
    assert "175.25" in problem.message
    assert problem.allowed == ["175.25"]


@pytest.mark.parametrize("amount", ["175.25", "$175.25", "175.250", 175.25, "175.2500"])
def test_invoice_amount_spellings_that_mean_the_same_cents_are_accepted(amount):
    result = check(variant(ecm_invoice(), invoice_amount=amount))
    assert_valid(result)
    assert result.invoice.invoice_amount == Decimal("175.25")


def test_money_with_thousands_separators_is_accepted():
    inv = one_line_ecm(lines__0__service_unit_count=12, lines__0__service_unit_cost="$100",
                       lines__0__service_charge_amount="$1,200.00", invoice_amount="1,200")
    result = check(inv)
    assert_valid(result)
    assert result.invoice.invoice_amount == Decimal("1200.00")


def test_charge_with_fractions_of_a_cent_is_rejected():
    inv = one_line_ecm(lines__0__service_charge_amount="100.001")
    result = check(inv)
    assert errors(result) == [("lines[0].service_charge_amount", "too_precise")]


def test_negative_unit_cost_is_rejected():
    result = check(one_line_ecm(lines__0__service_unit_cost="-100.00"))
    assert errors(result) == [("lines[0].service_unit_cost", "negative")]


# --- free text and X12 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ch, word", [("~", "tilde"), ("*", "asterisk"), (":", "colon"), ("^", "caret")])
def test_x12_delimiter_in_free_text_is_rejected_naming_the_character_and_position(ch, word):
    problem = only_error(check(variant(ecm_invoice(), member_last_name=f"Do{ch}e")), "member_last_name", "x12_delimiter")
    assert f"'{ch}'" in problem.message and word in problem.message
    assert "position 3" in problem.message


@pytest.mark.parametrize("name", ["billing_provider_name", "member_residential_address", "payer_name",
                                  "invoice_number", "authorization_number"])
def test_x12_delimiter_is_rejected_in_every_text_element(name):
    problem = only_error(check(variant(ecm_invoice(), **{name: "AB*CD"})), name, "x12_delimiter")
    assert "position 3" in problem.message


def test_x12_delimiter_in_service_name_is_rejected():
    only_error(check(one_line_ecm(lines__0__service_name="Care~coordination")), "lines[0].service_name", "x12_delimiter")


@pytest.mark.parametrize("ch", ["\t", "\n", "\r", "\x00", "\x7f", "\u200b", "\u2028"])
def test_control_character_in_free_text_is_rejected_naming_it_and_its_position(ch):
    problem = only_error(check(variant(ecm_invoice(), member_first_name=f"Ja{ch}ne")),
                         "member_first_name", "control_character")
    assert f"U+{ord(ch):04X}" in problem.message and "position 3" in problem.message


def test_backtick_is_rejected_as_outside_the_x12_character_set():
    problem = only_error(check(variant(ecm_invoice(), member_last_name="O`Brien")), "member_last_name",
                         "invalid_character")
    assert "position 2" in problem.message


@pytest.mark.parametrize("ch, delimiter", [("＊", "*"), ("：", ":"), ("～", "~"), ("＾", "^"), ("﹕", ":")])
def test_lookalike_that_the_837p_would_carry_as_a_delimiter_is_rejected(ch, delimiter):
    problem = only_error(check(variant(ecm_invoice(), member_last_name=f"Do{ch}e")), "member_last_name", "x12_delimiter")
    assert f"'{ch}'" in problem.message and f"'{delimiter}'" in problem.message
    assert "position 3" in problem.message


@pytest.mark.parametrize(
    "name, given, carried",
    [
        ("member_first_name", "José", "JOSE"),
        ("member_last_name", "Nguyễn", "NGUYEN"),
        ("billing_provider_name", "Muñoz Family Services", "MUNOZ FAMILY SERVICES"),
        ("rendering_provider_last_name", "Muñoz", "MUNOZ"),
        ("member_residential_city", "San José", "SAN JOSE"),
    ],
)
def test_non_ascii_name_is_stored_as_given_with_a_transliterated_warning(name, given, carried):
    result = check(variant(ecm_invoice(), **{name: given}))
    assert_valid(result)
    problem = warning_at(result, name, "transliterated")
    assert f"'{carried}'" in problem.message
    stored = {
        "member_first_name": result.invoice.member.first_name,
        "member_last_name": result.invoice.member.last_name,
        "billing_provider_name": result.invoice.billing_provider.name,
        "rendering_provider_last_name": result.invoice.rendering_provider.last_name,
        "member_residential_city": result.invoice.member.city,
    }[name]
    assert stored == given


def test_name_with_no_latin_spelling_is_rejected():
    only_error(check(variant(ecm_invoice(), member_last_name="王")), "member_last_name", "unsupported_character")


def test_identifier_with_non_ascii_characters_is_rejected_without_a_transliteration_warning():
    result = check(variant(ecm_invoice(), invoice_number="INVé1"))
    assert errors(result) == [("invoice_number", "invalid_format")]
    assert result.findings.warnings == []


def test_plain_ascii_names_give_no_warning():
    assert check(ecm_invoice()).findings.warnings == []


# --- warnings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pos", ["11", "12", "04"])
def test_telehealth_modifier_gq_with_a_non_telehealth_place_of_service_is_warned(pos):
    result = check(variant(ecm_invoice(), lines__1__place_of_service=pos))
    assert_valid(result)
    problem = warning_at(result, "lines[1].place_of_service", "telehealth_pos")
    assert problem.allowed == ["02", "10"]
    assert warnings(result) == [("lines[1].place_of_service", "telehealth_pos")]


@pytest.mark.parametrize("pos", ["02", "10"])
def test_telehealth_modifier_gq_with_telehealth_place_of_service_gives_no_warning(pos):
    result = check(variant(ecm_invoice(), lines__1__place_of_service=pos))
    assert_valid(result)
    assert result.findings.warnings == []


def test_homeless_member_without_a_z59_0_diagnosis_is_warned_not_rejected():
    result = check(cs_with_line(date(2024, 3, 1), member_diagnosis_codes=["F32.9"]))
    assert_valid(result)
    problem = warning_at(result, "member_homelessness_indicator", "homeless_without_z59")
    assert problem.allowed == ["Z59.00", "Z59.01", "Z59.02"]


@pytest.mark.parametrize("z", ["Z59.00", "Z59.01", "Z59.02"])
def test_homeless_member_with_a_z59_0_diagnosis_gives_no_homelessness_warning(z):
    result = check(cs_with_line(date(2024, 3, 1), member_diagnosis_codes=["F32.9", z]))
    assert_valid(result)
    assert "homeless_without_z59" not in [p.code for p in result.findings.warnings]


def test_z59_0_on_another_line_satisfies_the_homelessness_check():
    inv = variant(ecm_invoice(), member_homelessness_indicator="Y", lines__1__member_diagnosis_codes=["Z59.02"])
    result = check(inv)
    assert_valid(result)
    assert result.findings.warnings == []


def test_member_not_homeless_without_z59_gives_no_warning():
    assert check(ecm_invoice()).findings.warnings == []


def test_public_confidence_code_row_gives_an_unconfirmed_code_row_warning():
    result = check(one_line_ecm(lines__0__procedure_code="G9012", lines__0__procedure_code_modifiers=["U2"]))
    assert_valid(result)
    problem = warning_at(result, "lines[0].procedure_code", "unconfirmed_code_row")
    assert "G9012 U2" in problem.message
    assert warnings(result) == [("lines[0].procedure_code", "unconfirmed_code_row")]


def test_seed_code_row_gives_no_unconfirmed_code_row_warning():
    result = check(one_line_ecm())
    assert_valid(result)
    assert result.invoice.lines[0].procedure_code == "G9008"
    assert result.findings.warnings == []


def test_units_over_the_code_tables_line_limit_are_warned():
    result = check(cs_with_line(date(2024, 3, 1), procedure_code="H0014", service_end_date="03/02/2024",
                                service_unit_count=2, service_charge_amount="120.00") | {"invoice_amount": "120.00"})
    assert_valid(result)
    warning_at(result, "lines[0].service_unit_count", "exceeds_unit_limit")


# --- all problems at once ------------------------------------------------------------------------------


def test_every_problem_in_every_section_is_reported_in_one_result():
    inv = variant(
        ecm_invoice(),
        billing_provider_npi="1999999993",  # provider: check digit
        billing_provider_zip="95814",  # provider: ZIP+4
        member_cin="1234",  # member: format
        member_date_of_birth="02/30/1980",  # member: not a date
        lines__0__procedure_code="A0427",  # line: not in the table
        lines__1__place_of_service="77",  # line: not a CMS POS code
        lines__1__member_diagnosis_codes=["F32"],  # line: not billable
        invoice_amount="999.00",  # amounts: not the sum of the lines
    )
    result = check(inv)
    assert result.invoice is None
    assert sorted(errors(result)) == sorted([
        ("billing_provider_npi", "invalid_check_digit"),
        ("billing_provider_zip", "zip_plus4_required"),
        ("member_cin", "invalid_format"),
        ("member_date_of_birth", "invalid_date"),
        ("lines[0].procedure_code", "code_not_allowed"),
        ("lines[1].place_of_service", "invalid_code"),
        ("lines[1].member_diagnosis_codes[0]", "diagnosis_not_billable"),
        ("invoice_amount", "amount_mismatch"),
    ])
    assert result.billing_npi is None and result.member_cin is None


def test_an_invalid_invoice_still_reports_its_billing_npi_and_cin():
    result = check(variant(ecm_invoice(), invoice_amount="1.00"))
    assert result.invoice is None
    assert (result.billing_npi, result.member_cin) == (BILLING_NPI, "91234567A")


# --- duplicate lines -----------------------------------------------------------------------------------


def test_duplicate_line_within_an_invoice_is_rejected():
    inv = ecm_invoice()
    inv["lines"].append(copy.deepcopy(inv["lines"][0]))
    inv["invoice_amount"] = "275.25"
    problem = only_error(check(inv), "lines[2]", "duplicate_line")
    assert "line 1" in problem.message


def test_duplicate_line_is_found_through_other_spellings_of_the_same_line():
    inv = ecm_invoice()
    dup = copy.deepcopy(inv["lines"][1])
    dup.update(procedure_code="g9008", procedure_code_modifiers="GQ U1", service_start_date="2024-03-05",
               service_end_date="2024-03-05")
    inv["lines"].append(dup)
    inv["invoice_amount"] = "250.50"
    result = check(inv)
    assert errors(result) == [("lines[2]", "duplicate_line")]
    assert warnings(result) == [("lines[2].procedure_code_modifiers", "modifiers_reordered")]


def test_same_code_on_another_day_is_not_a_duplicate():
    inv = ecm_invoice()
    other_day = copy.deepcopy(inv["lines"][0])
    other_day.update(service_start_date="03/06/2024", service_end_date="03/06/2024")
    inv["lines"].append(other_day)
    inv["invoice_amount"] = "275.25"
    result = check(inv)
    assert_valid(result)
    assert len(result.invoice.lines) == 3


def test_duplicate_is_reported_alongside_other_errors():
    inv = ecm_invoice()
    inv["lines"].append(copy.deepcopy(inv["lines"][0]))
    inv["member_cin"] = "bad"
    assert sorted(errors(check(inv))) == sorted([
        ("member_cin", "invalid_format"), ("lines[2]", "duplicate_line"), ("invoice_amount", "amount_mismatch"),
    ])


def test_too_many_lines_are_rejected():
    inv = ecm_invoice()
    inv["lines"].append(copy.deepcopy(inv["lines"][0]))
    only_error(check_invoice(inv, dataclasses.replace(CTX, max_lines=2)), "lines", "too_many")


# --- hostile inputs never raise ------------------------------------------------------------------------


@pytest.mark.parametrize("lines", ["G9008 U1", {"procedure_code": "G9008"}, 42, True, 1.5],
                         ids=["string", "dict", "int", "bool", "float"])
def test_lines_that_are_not_a_list_are_rejected(lines):
    only_error(check(variant(ecm_invoice(), lines=lines)), "lines", "invalid_type")


@pytest.mark.parametrize("bad_line", ["G9008 U1", 7, None, ["G9008"], True])
def test_a_line_that_is_not_an_object_is_rejected_at_its_index(bad_line):
    inv = ecm_invoice()
    inv["lines"][0] = bad_line
    only_error(check(inv), "lines[0]", "invalid_type")


def test_numbers_where_text_is_expected_are_read_as_text():
    inv = variant(
        ecm_invoice(),
        billing_provider_npi=1999999992, billing_provider_tin=123456789, billing_provider_zip=958141234,
        billing_provider_phone_number=9165550100, rendering_provider_zip=95814, rendering_provider_name=12345,
        member_residential_city=12, invoice_number=1001, primary_payer_identifier=12345.0, invoice_amount=175.25,
        member_homelessness_indicator=0,
        lines__0__place_of_service=11, lines__0__service_unit_count=1.0, lines__0__service_unit_cost=100,
        lines__0__service_charge_amount=100.0,
    )
    result = check(inv)
    assert_valid(result)
    out = result.invoice
    assert out.billing_provider.npi == "1999999992" and out.billing_provider.tin == "123456789"
    assert out.billing_provider.zip == "958141234" and out.rendering_provider.zip == "95814"
    assert out.rendering_provider.name == "12345" and out.invoice_number == "1001"
    assert out.primary_payer_identifier == "12345"
    assert out.lines[0].place_of_service == "11" and out.lines[0].charge_amount == Decimal("100.00")


def test_numbers_where_codes_or_dates_are_expected_are_rejected_not_raised():
    inv = variant(ecm_invoice(), member_cin=91234567, member_date_of_birth=19800115,
                  lines__0__procedure_code=9008, lines__0__member_diagnosis_codes=[329])
    assert sorted(errors(check(inv))) == sorted([
        ("member_cin", "invalid_format"), ("member_date_of_birth", "invalid_date"),
        ("lines[0].procedure_code", "invalid_format"), ("lines[0].member_diagnosis_codes[0]", "unknown_diagnosis"),
    ])


def test_ten_thousand_character_name_is_rejected_as_too_long():
    problem = only_error(check(variant(ecm_invoice(), member_first_name="A" * 10_000)), "member_first_name", "too_long")
    assert "10000" in problem.message


def test_none_everywhere_reports_every_required_element():
    inv = {key: None for key in ecm_invoice()}
    result = check(inv)
    assert result.invoice is None
    assert set(errors(result)) == {(name, "required") for name in REQUIRED_INVOICE_ELEMENTS} | {("lines", "required")}


def test_a_line_of_nones_reports_every_required_line_element():
    inv = one_line_ecm()
    inv["lines"][0] = {key: None for key in inv["lines"][0]}
    result = check(inv)
    assert set(errors(result)) == {(f"lines[0].{name}", "required") for name in REQUIRED_LINE_ELEMENTS}


def test_bools_everywhere_are_rejected_not_raised():
    inv = ecm_invoice()
    inv = {key: True for key in inv if key != "lines"} | {"lines": [{key: True for key in inv["lines"][0]}]}
    result = check(inv)
    assert result.invoice is None
    locs = {loc for loc, _ in errors(result)}
    # True reads as "Y": a fine homelessness indicator, a one-letter text, nothing else.
    for name in ["billing_provider_npi", "billing_provider_tin", "billing_provider_zip", "member_cin",
                 "member_date_of_birth", "invoice_amount", "invoice_date", "billing_provider_state",
                 "lines[0].procedure_code", "lines[0].procedure_code_modifiers[0]", "lines[0].service_unit_count",
                 "lines[0].place_of_service", "lines[0].member_diagnosis_codes[0]", "lines[0].service_start_date"]:
        assert name in locs, name


HOSTILE_VALUES = [
    None, True, False, 0, -1, 1.5, float("nan"), float("inf"), 1e300, 10**40, "", " ", "x" * 10_000, [], [1],
    {}, {"a": 1}, [None, ""], [["U1"]], "1²²²²²²²²²", "²", "\x00", "５", "F30-F39", "5", Decimal("NaN"),
    date(2024, 3, 5), b"abc", "-0", "0.000", "1e5", "$", "-", ".", "1,000.5", object(),
]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[f"{i}-{type(v).__name__}" for i, v in enumerate(HOSTILE_VALUES)])
def test_hostile_value_in_any_element_gives_problems_not_an_exception(value):
    base = ecm_invoice()
    for key in [k for k in base if k != "lines"]:
        result = check(variant(base, **{key: value}))
        assert result.invoice is not None or result.findings.errors, key
    for key in base["lines"][0]:
        result = check(variant(base, **{f"lines__0__{key}": value}))
        assert result.invoice is not None or result.findings.errors, key
    assert check(variant(base, lines=[value])).findings.errors
    assert check(variant(base, lines=value)).findings.errors
