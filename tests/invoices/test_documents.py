from pathlib import Path

from app.codetable import CodeTables, load_code_list
from app.invoices.documents import invoice_document, invoice_from_document
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
