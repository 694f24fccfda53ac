"""The 837P writer on its own: structure, splitting, determinism, the second lock; pyx12 on every output."""

import dataclasses
import re
from datetime import date, datetime, UTC
from decimal import Decimal
from pathlib import Path

import pytest

from app.codetable import CodeTables, load_code_list
from app.invoices.rules import RuleContext, check_invoice
from app.x12.ack_reader import Ack999Error, read_999
from app.x12.loops837p import ControlNumbers, EncounterInput, Envelope, render_837p
from app.x12.pyx12_check import findings_by_claim, validate_837
from app.x12.segments import X12ValueError, segment
from factories import cs_invoice, ecm_invoice

REPO = Path(__file__).resolve().parents[2]
CTX = RuleContext(CodeTables.load(REPO / "codes" / "allowed_codes"),
                  load_code_list(REPO / "codes" / "place_of_service.csv"),
                  load_code_list(REPO / "codes" / "us_states.csv"), date(2026, 11, 22))
CREATED = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
BROKEN = Path(__file__).parent / "data"


def encounter(raw: dict, eid: str = "1", **kw) -> EncounterInput:
    inv = check_invoice(raw, CTX).invoice
    assert inv is not None
    return EncounterInput(invoice=inv, claim_id_base=inv.invoice_number, encounter_id=eid,
                          line_control_numbers=tuple(f"E{eid}-{i + 1}" for i in range(len(inv.lines))), **kw)


def render(encounters, mode="encounter"):
    return render_837p(encounters, envelope=Envelope(), control=ControlNumbers(7, 8, 9), mode=mode,
                       created=CREATED, batch_id="B1")


def segs(text):
    return [s.strip().split("*") for s in text.split("~") if s.strip()]


def many_lines(n: int, distinct_dx: int = 1) -> dict:
    raw = ecm_invoice("BIG")
    pool = ["F32.9", "E11.9", "Z59.01", "I10", "J45.909", "F41.9", "F20.9", "E66.9", "N18.9", "K21.9",
            "M54.50", "G47.00", "R51.9", "Z59.02"]
    base = raw["lines"][0]
    raw["lines"] = [dict(base, service_start_date=f"{1 + i // 28:02d}/{1 + i % 28:02d}/2024",
                         service_end_date=f"{1 + i // 28:02d}/{1 + i % 28:02d}/2024",
                         member_diagnosis_codes=[pool[i % distinct_dx]]) for i in range(n)]
    raw["invoice_amount"] = str(Decimal("100.00") * n)
    raw["invoice_date"] = "12/31/2024"
    return raw


def test_envelope_counts_and_fixed_width_isa_and_pyx12_clean():
    out = render([encounter(ecm_invoice(), "1"), encounter(cs_invoice(), "2")])
    lines = out.text.split("~\n")
    assert len(lines[0]) + 1 == 106
    s = segs(out.text)
    st, se = s.index(next(x for x in s if x[0] == "ST")), s.index(next(x for x in s if x[0] == "SE"))
    assert int(s[se][1]) == se - st + 1 and s[se][2] == s[st][2] == "0009"
    assert s[-2] == ["GE", "1", "8"] and s[-1] == ["IEA", "1", "000000007"]
    assert validate_837(out.text).ok


def test_same_input_and_control_numbers_give_byte_identical_output():
    a = render([encounter(ecm_invoice(), "1"), encounter(cs_invoice(), "2")]).text
    b = render([encounter(ecm_invoice(), "1"), encounter(cs_invoice(), "2")]).text
    assert a == b


def test_51_lines_split_into_two_claims_each_balanced_and_clean():
    out = render([encounter(many_lines(51))])
    claims = [x for x in segs(out.text) if x[0] == "CLM"]
    assert [c[1] for c in claims] == ["BIG-01", "BIG-02"]
    assert [c[2] for c in claims] == ["5000", "100"]
    assert validate_837(out.text).ok


def test_13_distinct_diagnoses_split_the_claim_and_pointers_restart():
    out = render([encounter(many_lines(14, distinct_dx=13))])
    s = segs(out.text)
    hi = [x for x in s if x[0] == "HI"]
    assert [len(h) - 1 for h in hi] == [12, 2]
    assert validate_837(out.text).ok


def test_claim_mode_and_encounter_mode():
    assert ["BHT", "0019", "00", "B1", "20261122", "0930", "CH"] in segs(render([encounter(ecm_invoice())], "claim").text)
    assert ["BHT", "0019", "00", "B1", "20261122", "0930", "RP"] in segs(render([encounter(ecm_invoice())]).text)


def test_replacement_and_void_carry_frequency_and_f8_and_are_clean():
    for freq in ("7", "8"):
        out = render([encounter(ecm_invoice(), frequency=freq, original_reference="INV1001-01")])
        s = segs(out.text)
        assert next(x for x in s if x[0] == "CLM")[5] == f"11:B:{freq}"
        assert ["REF", "F8", "INV1001-01"] in s
        assert validate_837(out.text).ok
    with pytest.raises(X12ValueError):
        render([encounter(ecm_invoice(), frequency="7")])


def test_accented_names_are_transliterated_and_clean():
    raw = dict(ecm_invoice(), member_first_name="José", member_last_name="Nguyễn")
    out = render([encounter(raw)])
    assert any(x[:5] == ["NM1", "IL", "1", "NGUYEN", "JOSE"] for x in segs(out.text))
    assert validate_837(out.text).ok


@pytest.mark.parametrize("bad", ["A*B", "A~B", "A:B", "A^B", "A\nB", "A\x00B", "JOSÉ"])
def test_writer_refuses_delimiters_control_characters_and_non_ascii(bad):
    with pytest.raises(X12ValueError):
        segment("N3", bad)


@pytest.mark.parametrize(("where", "element"), [
    ("control_number", "2300 REF*D9"), ("line_control", "2400 line 2 REF*6R"), ("procedure", "2400 line 1 SV101-02"),
    ("modifier", "2400 line 1 SV101 modifier 1"), ("cin", "2010BA NM109"), ("payer", "2010BB NM103"),
    ("provider", "N301"),
])
def test_a_delimiter_that_got_past_intake_is_refused_by_the_writer_which_names_the_element(where, element):
    """The second lock: values are checked a segment or a claim at a time, and a failure names the element."""
    enc = encounter(ecm_invoice())
    inv = enc.invoice
    line = inv.lines[0]
    if where == "control_number":
        inv = dataclasses.replace(inv, control_number="CTL*1")
    elif where == "line_control":
        enc = dataclasses.replace(enc, line_control_numbers=(enc.line_control_numbers[0], "E1~2",
                                                             *enc.line_control_numbers[2:]))
    elif where == "procedure":
        inv = dataclasses.replace(inv, lines=(dataclasses.replace(line, procedure_code="G9\x0008"), *inv.lines[1:]))
    elif where == "modifier":
        inv = dataclasses.replace(inv, lines=(dataclasses.replace(line, modifiers=("U:1",)), *inv.lines[1:]))
    elif where == "cin":
        inv = dataclasses.replace(inv, member=dataclasses.replace(inv.member, cin="1^2"))
    elif where == "payer":
        inv = dataclasses.replace(inv, payer_name="PLAN*X")
    else:
        inv = dataclasses.replace(inv, billing_provider=dataclasses.replace(inv.billing_provider, address="1 A~B ST"))
    assert len(inv.lines) >= 2
    with pytest.raises(X12ValueError, match=rf"^{re.escape(element)}.*: value holds U\+"):
        render([dataclasses.replace(enc, invoice=inv)])


def test_a_rendering_provider_equal_to_billing_is_not_repeated_in_2310b():
    raw = dict(ecm_invoice(), rendering_provider_npi="1999999992")
    assert not any(x[:2] == ["NM1", "82"] for x in segs(render([encounter(raw)]).text))


def test_pyx12_findings_are_attributed_to_the_claim_that_holds_them():
    out = render([encounter(ecm_invoice(), "1"), encounter(cs_invoice(), "2")])
    broken = out.text.replace("SV1*HC:H0043:U6*300*UN*5", "SV1*HC:H0043:U6*300*XX*5")
    report = validate_837(broken)
    assert not report.ok
    assert set(findings_by_claim(report, out.claims)) == {"2"}


def test_pyx12_crash_on_five_pointers_is_a_finding_not_an_exception():
    report = validate_837((BROKEN / "16-five-dx-pointers-crash.x12").read_text())
    assert not report.ok and report.crashed


def test_999_round_trip_and_hostile_acks():
    out = render([encounter(ecm_invoice())])
    ack = read_999(validate_837(out.text).ack_999)
    assert ack.accepted_group and ack.group_control_number == "8" and ack.transactions[0].st02 == "0009"
    bad = read_999(validate_837(out.text.replace("*U~", "*Q~", 1)).ack_999)
    assert bad.transactions[0].status == "R" and bad.transactions[0].errors[0].segment_id == "DMG"
    for hostile in ("", "garbage", "ISA" + "*" * 200, out.text[:150], "ISA*" + "x" * 5000):
        with pytest.raises(Ack999Error):
            read_999(hostile)
