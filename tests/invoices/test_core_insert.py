"""Intake stores a new invoice with Core INSERTs, not the ORM's unit of work. The rows must be exactly those
the ORM would have written for the same objects (Python-side defaults included), and the answer built from
the transient objects must equal what a later GET reads back from the database."""

from datetime import date

from sqlalchemy import func, select

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


# Every column of every table intake writes, ids and instants included, as the driver hands it back with its
# type (no SQLAlchemy result processing: an instant in another text format, or 60 stored where the ORM stores
# 60.0, would show).
INTAKE_TABLES = ("invoices", "invoice_lines", "encounters", "claim_timeliness", "idempotency_keys")


def driver_rows(engine) -> dict[str, list[dict]]:
    with engine.connect() as conn:
        out = {}
        for name in INTAKE_TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {name} ORDER BY 1")
            out[name] = [{k: (type(v).__name__, v) for k, v in zip(result.keys(), row)} for row in result]
        return out


def test_intake_stores_byte_for_byte_the_rows_of_the_orm_flush(client, app, monkeypatch):
    from datetime import UTC, datetime
    from types import SimpleNamespace
    from uuid import UUID

    from app.invoices import service

    now = datetime.now(UTC).replace(microsecond=123456)  # one clock and one public id for both stores

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return now.astimezone(tz)

    monkeypatch.setattr(service, "datetime", Clock)
    monkeypatch.setattr(service, "uuid", SimpleNamespace(uuid4=lambda: UUID(int=0xC0FFEE)))
    raw = cs_invoice(number="BYTES1")
    raw["lines"].append({**raw["lines"][0], "procedure_code_modifiers": ["U3"], "service_unit_count": 2.5,
                         "service_unit_cost": "60.00", "service_charge_amount": "150.00"})
    raw["invoice_amount"] = "450.00"
    r = client.post("/v1/invoices", json=raw, headers={"Idempotency-Key": "bytes-key"})
    assert r.status_code == 201, r.text
    engine = app.state.database.engine
    stored = driver_rows(engine)
    assert [len(stored[name]) for name in INTAKE_TABLES] == [1, 2, 1, 1, 1]
    read = client.get(r.headers["location"])
    assert (read.content, read.headers["content-type"]) == (r.content, r.headers["content-type"])

    with engine.begin() as conn:  # make room for the ORM's rows under the same ids
        for name in reversed(INTAKE_TABLES):
            conn.exec_driver_sql(f"DELETE FROM {name}")
    state = app.state
    ctx = RuleContext(code_tables=state.code_tables, places_of_service=state.places_of_service,
                      states=state.us_states, today=today_for_checks())
    with state.database.sessionmaker() as session:
        result = check_invoice(InvoiceIn.model_validate(raw).model_dump(exclude_unset=True), ctx)
        row = _new_invoice_row(result.invoice, result.findings, "America/Los_Angeles", "api")
        row.id = stored["invoices"][0]["id"][1]
        for line, stored_line in zip(row.lines, stored["invoice_lines"]):
            line.id = stored_line["id"][1]
        encounter = new_encounter(row, frequency="1")
        encounter.id = stored["encounters"][0]["id"][1]
        session.add_all([row, encounter])
        session.flush()
        timeliness.open_claim(session, row, policy_from_settings(state.settings))
        session.add(IdempotencyKeyRow(key="bytes-key", request_hash=stored["idempotency_keys"][0]["request_hash"][1],
                                      invoice_id=row.id, created_at=row.received_at))
        session.commit()
    assert driver_rows(engine) == stored


def _missing_once(monkeypatch, module, name: str) -> None:
    """The read phase's `name` misses (returns None, checks nothing) once: what a request sees when a
    concurrent one commits between its reads and its writes."""
    real = getattr(module, name)
    calls = []

    def once(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(name)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(module, name, once)


def _counts(engine) -> list[int]:
    with engine.connect() as conn:
        return [conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar() for name in INTAKE_TABLES]


def test_a_race_lost_on_the_natural_key_answers_with_the_stored_invoice(client, app, monkeypatch):
    from app.invoices import service

    raw = cs_invoice(number="RACE1")
    first = client.post("/v1/invoices", json=raw)
    assert first.status_code == 201, first.text
    before = _counts(app.state.database.engine)
    _missing_once(monkeypatch, service, "_find_by_natural_key")
    again = client.post("/v1/invoices", json=raw)  # the invoice INSERT hits the unique index
    assert (again.status_code, again.content, again.headers["location"]) == (200, first.content,
                                                                             first.headers["location"])
    assert _counts(app.state.database.engine) == before


def test_a_race_lost_on_a_line_answers_422_duplicate_line_and_stores_nothing(client, app, monkeypatch):
    from app.invoices import service

    assert client.post("/v1/invoices", json=cs_invoice(number="RACE2")).status_code == 201
    before = _counts(app.state.database.engine)
    twin = cs_invoice(number="RACE3")  # another invoice number, the same service line
    expected = client.post("/v1/invoices", json=twin)
    assert expected.status_code == 422 and expected.json()["problems"][0]["code"] == "duplicate_line"
    _missing_once(monkeypatch, service, "_check_stored_duplicates")
    raced = client.post("/v1/invoices", json=twin)  # the invoice row goes in, then its line hits the index
    assert (raced.status_code, raced.json()["problems"]) == (422, expected.json()["problems"])
    assert _counts(app.state.database.engine) == before


def test_a_race_lost_on_the_idempotency_key_answers_as_a_reused_key_and_stores_nothing(client, app, monkeypatch):
    from app.invoices import service

    key = {"Idempotency-Key": "race-key"}
    assert client.post("/v1/invoices", json=cs_invoice(number="RACE4"), headers=key).status_code == 201
    before = _counts(app.state.database.engine)
    other = cs_invoice(number="RACE5", start=date(2024, 4, 1))
    expected = client.post("/v1/invoices", json=other, headers=key)
    assert expected.status_code == 422 and expected.json()["problems"][0]["code"] == "idempotency_key_reused"
    _missing_once(monkeypatch, service, "_replay_idempotent")
    raced = client.post("/v1/invoices", json=other, headers=key)  # all but the key's row go in, then it fails
    assert (raced.status_code, raced.content) == (422, expected.content)
    assert _counts(app.state.database.engine) == before


def test_intake_reads_in_their_own_transaction_only_on_sqlite(app):
    """SQLite: the reads that decide an intake run in a DEFERRED transaction before the write's BEGIN IMMEDIATE,
    so the write lock is held only by the writes. PostgreSQL: reading takes no lock, so they share the write's
    transaction: one connection checkout (one pre-ping) and one COMMIT."""
    from sqlalchemy import event

    from app.deps import rule_context
    from app.invoices import service

    engine = app.state.database.engine
    checkouts, commits = [], []
    event.listen(engine.pool, "checkout", lambda *args: checkouts.append(1))
    event.listen(engine, "commit", lambda conn: commits.append(1))
    with app.state.database.sessionmaker() as session:
        outcome = service.submit_invoice(session, cs_invoice(number="TX1"), rule_context(app.state),
                                         timezone=app.state.settings.timezone,
                                         policy=policy_from_settings(app.state.settings))
    assert outcome.created
    expected = 2 if engine.dialect.name == "sqlite" else 1
    assert (len(checkouts), len(commits)) == (expected, expected)


def test_every_child_row_points_at_its_own_invoice(client, app):
    """The children of an intake INSERT take the new invoice's id (on PostgreSQL on the server, from its sequence,
    in the same pipeline as the invoice): each invoice's lines, encounter and timeliness row are its own."""
    from factories import ecm_invoice

    numbers = {}
    for n in range(3):  # invoices of 1, 2 and 2 lines
        raw = ecm_invoice(number=f"KIDS{n}", cin=f"9123456{n}A")
        if n == 0:
            raw["lines"], raw["invoice_amount"] = raw["lines"][:1], "100.00"
        answer = client.post("/v1/invoices", json=raw, headers={"Idempotency-Key": f"kids-{n}"})
        assert answer.status_code == 201, answer.text
        numbers[answer.json()["id"]] = (n, len(raw["lines"]))
    with app.state.database.sessionmaker() as session:
        for public_id, (n, line_count) in numbers.items():
            invoice = session.scalar(select(InvoiceRow).where(InvoiceRow.public_id == public_id))
            lines = session.scalars(select(InvoiceLineRow.invoice_id).where(
                InvoiceLineRow.invoice_id == invoice.id)).all()
            assert len(lines) == line_count
            assert session.scalar(select(EncounterRow.invoice_id).where(EncounterRow.invoice_id == invoice.id))
            assert session.get(ClaimTimelinessRow, invoice.id) is not None
            assert session.get(IdempotencyKeyRow, f"kids-{n}").invoice_id == invoice.id
        assert session.scalar(select(func.count()).select_from(InvoiceLineRow)) == 5
