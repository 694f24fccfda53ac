"""Intake stores a new invoice with Core INSERTs, not the ORM's unit of work. The rows must be exactly those
the ORM would have written for the same objects (Python-side defaults included), and the answer built from
the transient objects must equal what a later GET reads back from the database."""

from sqlalchemy import select

from app.batches.models import EncounterRow
from app.invoices.models import IdempotencyKeyRow, InvoiceLineRow, InvoiceRow
from app.invoices.rules import RuleContext, check_invoice
from app.invoices.schemas import InvoiceIn
from app.invoices.service import _new_invoice_row, new_encounter, today_for_checks
from app.timeliness import service as timeliness
from app.timeliness.models import ClaimTimelinessRow
from app.timeliness.policy import policy_from_settings
from factories import cs_invoice

# Differ between two stores of the same invoice by design: keys, the clock, the random public id.
VOLATILE = {"id", "invoice_id", "public_id", "received_at", "created_at", "updated_at"}
TABLES = (InvoiceRow, InvoiceLineRow, EncounterRow, ClaimTimelinessRow, IdempotencyKeyRow)


def stored_rows(session) -> dict[str, list[dict]]:
    out = {}
    for model in TABLES:
        table = model.__table__
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        out[table.name] = [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]
    return out


def test_core_insert_stores_what_the_orm_flush_would(client, app):
    raw = cs_invoice(number="CORE1")
    state = app.state
    ctx = RuleContext(code_tables=state.code_tables, places_of_service=state.places_of_service,
                      states=state.us_states, today=today_for_checks())
    policy = policy_from_settings(state.settings)

    with state.database.sessionmaker() as session:  # the ORM's rows for the same invoice, then rolled back
        result = check_invoice(InvoiceIn.model_validate(raw).model_dump(exclude_unset=True), ctx)
        row = _new_invoice_row(result.invoice, result.findings, "America/Los_Angeles", "api")
        session.add(row)
        session.add(new_encounter(row, frequency="1"))
        session.flush()
        timeliness.open_claim(session, row, policy)
        session.add(IdempotencyKeyRow(key="core-key", request_hash="", invoice_id=row.id, created_at=row.received_at))
        session.flush()
        expected = stored_rows(session)
        session.rollback()

    r = client.post("/v1/invoices", json=raw, headers={"Idempotency-Key": "core-key"})
    assert r.status_code == 201, r.text
    with state.database.sessionmaker() as session:
        stored = stored_rows(session)
    for row in stored["idempotency_keys"] + expected["idempotency_keys"]:
        row.pop("request_hash")  # the route hashes the request body; the ORM run above had none
    assert stored == expected
    assert stored["encounters"][0]["findings"] == [] and all(line["active"] for line in stored["invoice_lines"])
    # The route serializes its answer itself (no response_model pass): the same bytes as GET, which has one.
    read = client.get(r.headers["location"])
    assert (read.content, read.headers["content-type"]) == (r.content, r.headers["content-type"])
    retry = client.post("/v1/invoices", json=raw, headers={"Idempotency-Key": "core-key"})
    assert (retry.status_code, retry.content, retry.headers["location"]) == (200, r.content, r.headers["location"])


def test_insert_values_applies_python_defaults_to_the_row_and_the_object():
    from app.db import insert_values

    line = InvoiceLineRow(invoice_id=7, line_number=1)  # `active` left to its default
    values = insert_values(line)
    assert values["active"] is True and line.active is True
    assert "id" not in values  # the database numbers it
    assert values["procedure_code"] is None  # neither set nor defaulted: NULL, which the NOT NULL column refuses
