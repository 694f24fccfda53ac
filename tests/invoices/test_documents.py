import dataclasses
from pathlib import Path

import pytest

from app.codetable import CodeTables, load_code_list
from app.invoices.documents import _builder, invoice_document, invoice_from_document
from app.invoices.rules import RuleContext, check_invoice
from datetime import date

from factories import cs_invoice, ecm_invoice

CODES = Path(__file__).resolve().parents[2] / "codes"
CTX = RuleContext(CodeTables.load(CODES / "allowed_codes"), load_code_list(CODES / "place_of_service.csv"),
                  load_code_list(CODES / "us_states.csv"), date(2026, 11, 22))


def test_stored_document_reads_back_as_the_same_domain_invoice():
    for raw in (ecm_invoice(), cs_invoice()):
        inv = check_invoice(raw, CTX).invoice
        derived = [{"program": ln.program, "encounter_unit": ln.encounter_unit,
                    "encounter_units": str(ln.encounter_units), "code_table_version": ln.code_table_version}
                   for ln in inv.lines]
        assert invoice_from_document(invoice_document(inv), derived) == inv


def test_invoice_read_back_holds_the_same_fields_as_one_built_by_its_constructors():
    # invoice_from_document fills the frozen dataclasses' __dict__ directly (documents._builder): every field,
    # nothing more, and the objects compare and hash like constructor-built ones.
    for raw in (ecm_invoice(), cs_invoice()):
        inv = check_invoice(raw, CTX).invoice
        derived = [{"program": ln.program, "encounter_unit": ln.encounter_unit,
                    "encounter_units": ln.encounter_units, "code_table_version": ln.code_table_version}
                   for ln in inv.lines]
        back = invoice_from_document(invoice_document(inv), derived)
        for built, made in [(back, inv), (back.billing_provider, inv.billing_provider),
                            (back.rendering_provider, inv.rendering_provider), (back.member, inv.member),
                            *zip(back.lines, inv.lines, strict=True)]:
            assert type(built) is type(made)
            assert vars(built) == vars(made)
            assert hash(built) == hash(made) and repr(built) == repr(made)
        with pytest.raises(dataclasses.FrozenInstanceError):
            back.lines[0].procedure_code = "X"


def test_builder_uses_the_constructor_for_a_dataclass_whose_init_does_more():
    @dataclasses.dataclass(frozen=True)
    class WithPostInit:
        a: int

        def __post_init__(self):
            object.__setattr__(self, "b", self.a * 2)

    @dataclasses.dataclass(frozen=True)
    class WithDefault:
        a: int
        c: int = 3

    assert _builder(WithPostInit)({"a": 2}).b == 4
    assert _builder(WithDefault)({"a": 1}) == WithDefault(1, 3)


def test_builder_refuses_a_missing_or_extra_field_as_the_constructor_would():
    @dataclasses.dataclass(frozen=True)
    class Plain:
        a: int
        b: int

    build = _builder(Plain)
    assert build({"a": 1, "b": 2}) == Plain(1, 2)
    for values in ({"a": 1}, {"a": 1, "b": 2, "c": 3}):
        with pytest.raises(TypeError):
            build(values)
