"""The audit trail, PHI-free logs, and input hardening (body size, strict JSON, rate limit)."""

import io
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.auth.audit import AuditWriter
from app.auth.models import AuditEventRow
from app.db import insert_rows
from app.logs import JsonFormatter
from app.main import create_app
from app.settings import Settings
from app.x12.pyx12_check import validate_837
from auth.test_keys_and_roles import make_key
from factories import ADMIN, ADMIN_KEY, ecm_invoice

# Recognisable PHI: if any of these shows up in a log line, something logs what it must not.
PHI = {"member_first_name": "Quetzalcoatlina", "member_last_name": "Zyxwvutsrqpon", "member_cin": "97531864Q",
       "member_date_of_birth": "07/19/1961", "member_residential_address": "4242 Marmalade Terrace",
       "medical_record_number": "MRNSECRET77"}
PHI_MARKERS = [*PHI.values(), "19610719", "MARMALADE", "ZYXWVUTSRQPON", "J45.909", "J45909"]


@pytest.fixture
def captured_logs():
    """Everything any logger emits, formatted exactly as production formats it (pytest's own capture is not
    used: it sees records that production handlers never receive)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    client_log = logging.getLogger("httpx")  # the test's own HTTP client, not the service
    client_log.setLevel(logging.WARNING)
    yield stream
    client_log.setLevel(logging.NOTSET)
    root.removeHandler(handler)
    root.setLevel(old_level)


def phi_invoice(number="PHI1"):
    raw = ecm_invoice(number)
    raw.update(PHI)
    raw["lines"][0]["member_diagnosis_codes"] = ["J45.909"]
    return raw


def test_no_phi_in_logs_through_intake_errors_batches_and_acks(client, captured_logs):
    created = client.post("/v1/invoices", json=phi_invoice())
    assert created.status_code == 201
    bad = phi_invoice("PHI2")
    bad["lines"][0]["procedure_code"] = "ZZZZZ"
    bad["member_residential_zip"] = "ABCDE"
    assert client.post("/v1/invoices", json=bad).status_code == 422
    changed = phi_invoice()
    changed["member_residential_city"] = "Fresno"
    assert client.post("/v1/invoices", json=changed).status_code == 409
    assert client.get("/v1/invoices", params={"member_cin": PHI["member_cin"]}).status_code in (200, 422)
    batch = client.post("/v1/batches", json={}).json()
    text = client.get(f"/v1/batches/{batch['id']}/x12").text
    ack = validate_837(text.replace("*U~", "*Q~", 1)).ack_999  # pyx12 logs the bad value: must not reach us
    assert client.post(f"/v1/batches/{batch['id']}/acknowledgments", content=ack,
                       headers={"content-type": "text/plain"}).status_code == 200
    logs = captured_logs.getvalue()
    assert '"route": "/v1/invoices"' in logs  # the request log is there...
    leaked = [m for m in PHI_MARKERS if m.lower() in logs.lower()]
    assert leaked == []  # ...and carries none of the member's details


def test_another_providers_errors_carry_no_phi(app, client):
    from factories import OTHER_NPI

    invoice_id = client.post("/v1/invoices", json=phi_invoice()).json()["id"]
    other = make_key(app, "provider", [OTHER_NPI])
    with TestClient(app) as anonymous:
        bodies = [anonymous.get(f"/v1/invoices/{invoice_id}", headers=other).text,
                  anonymous.post(f"/v1/invoices/{invoice_id}/void", headers=other).text,
                  anonymous.post("/v1/invoices", json=phi_invoice(), headers=other).text,
                  anonymous.get("/v1/invoices", headers=other).text]
    assert [m for m in PHI_MARKERS if any(m.lower() in b.lower() for b in bodies)] == []


def test_every_invoice_read_and_write_is_audited_with_who_what_when_and_outcome(app, client):
    provider = make_key(app, "provider", ["1999999992"])
    with TestClient(app) as anonymous:
        invoice_id = anonymous.post("/v1/invoices", json=ecm_invoice(), headers=provider).json()["id"]
        anonymous.get(f"/v1/invoices/{invoice_id}", headers=provider)
        anonymous.get(f"/v1/invoices/{invoice_id}")  # no key
    events = client.get("/v1/audit", params={"resource_id": invoice_id}).json()["items"]
    assert [(e["action"], e["status"], e["outcome"]) for e in events] == [
        ("POST /v1/invoices", 201, "ok"),
        ("GET /v1/invoices/{invoice_id}", 200, "ok"),
        ("GET /v1/invoices/{invoice_id}", 401, "denied"),
    ]
    key_id = provider["Authorization"].split("_")[1]
    assert [e["key_id"] for e in events] == [key_id, key_id, None]
    assert all(e["resource_type"] == "invoice" and e["client_ip"] and e["request_id"] for e in events)
    assert client.get("/v1/audit", params={"key_id": key_id}).json()["items"][0]["role"] == "provider"


def test_batch_downloads_are_audited_per_batch(client):
    client.post("/v1/invoices", json=ecm_invoice())
    batch_id = client.post("/v1/batches", json={}).json()["id"]
    client.get(f"/v1/batches/{batch_id}/x12")
    client.get(f"/v1/batches/{batch_id}/x12")
    actions = [e["action"] for e in client.get("/v1/audit", params={"resource_id": batch_id}).json()["items"]]
    assert actions.count("GET /v1/batches/{batch_id}/x12") == 2


def test_audit_group_commit_stores_every_row_of_concurrent_requests_and_reports_a_failed_write(app):
    writer = AuditWriter(app.state.database.engine)
    row = dict(at=datetime.now(UTC), key_id=None, role=None, action="GET /v1/x", resource_type=None,
               resource_id=None, client_ip=None, status=200, outcome="ok")
    with ThreadPoolExecutor(8) as pool:
        futures = list(pool.map(lambda n: writer.submit(dict(row, request_id=f"group-{n}")), range(200)))
    for future in futures:
        future.result(timeout=30)
    with app.state.database.sessionmaker() as session:
        stored = session.scalars(select(AuditEventRow.request_id).where(AuditEventRow.request_id.like("group-%")))
        assert sorted(stored) == sorted(f"group-{n}" for n in range(200))
    with pytest.raises(IntegrityError):
        writer.submit(dict(row, request_id="no-status", status=None)).result(timeout=30)
    writer.submit(dict(row, request_id="after-failure")).result(timeout=30)  # the writer lives on


def test_audit_rows_are_stored_as_core_would_store_them(app):
    # insert_rows (on SQLite: parameters made before the write lock, run on the driver) against a Core INSERT
    engine = app.state.database.engine
    row = dict(at=datetime(2026, 11, 30, 9, 15, 30, 123456, tzinfo=UTC), key_id="k1", role="provider",
               action="POST /v1/invoices", resource_type="invoice", resource_id="inv-1", client_ip="10.0.0.7",
               status=201, outcome="ok")
    insert_rows(engine, AuditEventRow.__table__, [dict(row, request_id="driver-1"), dict(row, request_id="driver-2")])
    with engine.begin() as conn:
        conn.execute(insert(AuditEventRow.__table__), [dict(row, request_id="core-1"), dict(row, request_id="core-2")])
    columns = [c for c in AuditEventRow.__table__.c if c.name not in ("id", "request_id")]
    with engine.connect() as conn:
        stored = {r.request_id: tuple(r[1:]) for r in conn.execute(
            select(AuditEventRow.request_id, *columns).where(AuditEventRow.request_id.in_(
                ["driver-1", "driver-2", "core-1", "core-2"])))}
        raw = conn.exec_driver_sql("SELECT request_id, at FROM audit_events WHERE request_id IN "
                                   "('driver-1', 'core-1') ORDER BY request_id").all()
    assert stored["driver-1"] == stored["driver-2"] == stored["core-1"] == stored["core-2"]
    assert raw[0][1] == raw[1][1]  # the stored instant as the database holds it, not only as read back


def test_audit_is_for_admins_only(app, client):
    with TestClient(app) as anonymous:
        assert anonymous.get("/v1/audit", headers=make_key(app, "ops")).status_code == 403


def test_request_id_is_echoed_or_made(client):
    assert client.get("/v1/codes", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert len(client.get("/v1/codes", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]) == 32


def test_an_oversized_body_is_413_and_nothing_is_stored(settings):
    app = create_app(settings.model_copy(update={"max_body_bytes": 1000}))
    with TestClient(app, headers=ADMIN) as c:
        r = c.post("/v1/invoices", json=ecm_invoice())
        assert r.status_code == 413 and r.json()["problems"][0]["code"] == "body_too_large"
        assert c.get("/v1/invoices").json()["items"] == []


@pytest.mark.parametrize("url, status, loc", [
    ("/v1/timeliness/at-risk?billing_npi=12%0034", 422, "query.billing_npi"),
    ("/v1/invoices?cursor=a%0Ab", 422, "query.cursor"),
    ("/v1/invoices/inv%00x/timeline", 404, "path"),
])
def test_control_characters_in_the_path_or_query_are_refused_on_every_database(client, url, status, loc):
    """PostgreSQL refuses NUL in text, so a NUL that reached a query would be a 500 there (schemathesis found it)."""
    r = client.get(url)
    assert r.status_code == status and r.headers["content-type"] == "application/problem+json"
    assert [(p["loc"], p["code"]) for p in r.json()["problems"]] == [(loc, "control_character")]
    assert client.get("/v1/timeliness/at-risk?billing_npi=1234567893").status_code == 200


def test_unknown_fields_are_rejected_not_ignored(client):
    raw = ecm_invoice()
    raw["member_middle_name"] = "X"
    raw["lines"][0]["colour"] = "blue"
    r = client.post("/v1/invoices", json=raw)
    assert r.status_code == 422
    assert {(p["loc"], p["code"]) for p in r.json()["problems"]} == {
        ("member_middle_name", "unknown_field"), ("lines[0].colour", "unknown_field")}


def test_rate_limit_per_key_answers_429_with_retry_after(database_url):
    settings = Settings(database_url=database_url, bootstrap_admin_key=ADMIN_KEY, rate_limit_per_minute=3)
    with TestClient(create_app(settings), headers=ADMIN) as c:
        statuses = [c.get("/v1/codes").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = c.get("/v1/codes")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


def test_uploads_over_the_size_or_row_limit_are_413(settings):
    for limits, rows in (({"upload_max_bytes": 4000}, 60), ({"upload_max_rows": 2}, 20)):
        app = create_app(settings.model_copy(update=limits))
        with TestClient(app, headers=ADMIN) as c:
            header, first_example, *_ = c.get("/v1/uploads/template.csv").text.strip().splitlines()
            body = (header + "\n" + "\n".join([first_example] * rows) + "\n").encode()
            r = c.post("/v1/uploads", files={"file": ("big.csv", body, "text/csv")})
            assert r.status_code == 413, (limits, r.status_code)
            assert r.headers["content-type"] == "application/problem+json"
            assert c.get("/v1/invoices").json()["items"] == []
