"""API keys and roles: every /v1 endpoint needs a key; each role reaches exactly the endpoints of its job;
a provider key sees only its own billing NPIs' invoices (anything else is 404, not 403)."""

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.auth import keys
from app.auth.models import ApiKeyRow
from factories import BILLING_NPI, OTHER_NPI, ecm_invoice

ALL = {"provider", "pipeline", "finance", "ops", "admin"}
# Who may call what: the policy a plan's security review reads. Every /v1 route must be listed here.
POLICY = {
    ("POST", "/v1/invoices"): {"provider", "finance", "admin"},
    ("POST", "/v1/invoices/validate"): {"provider", "finance", "admin"},
    ("GET", "/v1/invoices"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/invoices/{invoice_id}"): {"provider", "finance", "ops", "admin"},
    ("POST", "/v1/invoices/{invoice_id}/replace"): {"provider", "finance", "admin"},
    ("POST", "/v1/invoices/{invoice_id}/void"): {"provider", "finance", "admin"},
    ("POST", "/v1/invoices/{invoice_id}/events"): {"finance", "admin"},
    ("GET", "/v1/invoices/{invoice_id}/timeline"): {"provider", "finance", "ops", "admin"},
    ("POST", "/v1/batches"): {"pipeline", "admin"},
    ("GET", "/v1/batches"): {"pipeline", "admin"},
    ("GET", "/v1/batches/{batch_id}"): {"pipeline", "admin"},
    ("GET", "/v1/batches/{batch_id}/x12"): {"pipeline", "admin"},
    ("POST", "/v1/batches/{batch_id}/acknowledgments"): {"pipeline", "admin"},
    ("GET", "/v1/codes"): ALL,
    ("GET", "/v1/uploads/template.xlsx"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/uploads/template.csv"): {"provider", "finance", "ops", "admin"},
    ("POST", "/v1/uploads"): {"provider", "finance", "admin"},
    ("GET", "/v1/uploads"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/uploads/{upload_id}"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/uploads/{upload_id}/status"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/uploads/{upload_id}/annotated.xlsx"): {"provider", "finance", "ops", "admin"},
    ("GET", "/v1/timeliness/summary"): {"finance", "ops", "admin"},
    ("GET", "/v1/timeliness/at-risk"): {"finance", "ops", "admin"},
    ("GET", "/v1/timeliness/aging"): {"finance", "ops", "admin"},
    ("GET", "/v1/timeliness/providers"): {"finance", "ops", "admin"},
    ("POST", "/v1/uploads/{upload_id}/resume"): {"provider", "finance", "admin"},
    ("GET", "/v1/reports/rejections"): {"finance", "ops", "admin"},
    ("GET", "/v1/audit"): {"admin"},
}
MISSING_ID = "00000000-0000-0000-0000-000000000000"


def v1_routes(app) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() if path.startswith("/v1") for method in ops)


def make_key(app, role: str, npis=()) -> dict:
    with app.state.database.sessionmaker() as session:
        token = keys.create_key(session, role, list(npis)).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def anonymous(app):
    with TestClient(app) as c:
        yield c


def test_every_v1_route_has_a_stated_policy(app):
    assert len(v1_routes(app)) >= 20
    unlisted = [route for route in v1_routes(app) if route not in POLICY]
    assert unlisted == [], f"add these routes to POLICY (and guard them): {unlisted}"


def test_without_a_key_every_v1_route_answers_401_and_health_stays_open(app, anonymous):
    for method, path in v1_routes(app):
        r = anonymous.request(method, path.replace("{invoice_id}", MISSING_ID).replace("{batch_id}", MISSING_ID)
                              .replace("{upload_id}", MISSING_ID))
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.headers["content-type"] == "application/problem+json"
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 200
    wrong = anonymous.get("/v1/codes", headers={"Authorization": "Bearer esk_nope_nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "The API key is not valid."


def test_each_role_reaches_exactly_the_endpoints_its_policy_names(app, anonymous):
    headers = {role: make_key(app, role, [BILLING_NPI] if role == "provider" else []) for role in ALL}
    wrong = []
    for method, path in v1_routes(app):
        url = path.replace("{invoice_id}", MISSING_ID).replace("{batch_id}", MISSING_ID).replace(
            "{upload_id}", MISSING_ID)
        for role in sorted(ALL):
            # a body inside a provider key's scope, so that a 403 can only mean the role
            kwargs = {"json": {"billing_provider_npi": BILLING_NPI}} if method == "POST" else {}
            status = anonymous.request(method, url, headers=headers[role], **kwargs).status_code
            allowed = role in POLICY.get((method, path), set())
            if (status == 403) == allowed or status in (401, 500):
                wrong.append((method, path, role, status))
    assert wrong == [], "\n".join(map(str, wrong))


def test_a_provider_key_sees_only_its_own_npis_and_anything_else_is_404(app, anonymous):
    mine, theirs = make_key(app, "provider", [BILLING_NPI]), make_key(app, "provider", [OTHER_NPI])
    created = anonymous.post("/v1/invoices", json=ecm_invoice(), headers=mine)
    assert created.status_code == 201
    invoice_id = created.json()["id"]
    assert anonymous.get(f"/v1/invoices/{invoice_id}", headers=mine).status_code == 200
    for method, path in (("GET", ""), ("GET", "/timeline"), ("POST", "/void"), ("POST", "/replace")):
        kwargs = {"json": ecm_invoice()} if path == "/replace" else {}
        r = anonymous.request(method, f"/v1/invoices/{invoice_id}{path}", headers=theirs, **kwargs)
        assert r.status_code == 404, (path, r.status_code, r.text)
    assert anonymous.get("/v1/invoices", headers=theirs).json()["items"] == []
    assert [i["id"] for i in anonymous.get("/v1/invoices", headers=mine).json()["items"]] == [invoice_id]
    foreign = anonymous.post("/v1/invoices", json=ecm_invoice("INV77"), headers=theirs)
    assert foreign.status_code == 403
    assert foreign.json()["problems"][0]["loc"] == "billing_provider_npi"
    assert foreign.json()["problems"][0]["allowed"] == [OTHER_NPI]


def test_ops_sees_invoices_with_member_details_masked(app, client, anonymous):
    invoice_id = client.post("/v1/invoices", json=ecm_invoice()).json()["id"]
    body = anonymous.get(f"/v1/invoices/{invoice_id}", headers=make_key(app, "ops")).json()
    assert body["invoice"]["member_cin"] != "91234567A" and body["invoice"]["member_last_name"] != "Doe"
    assert "F32.9" not in str(body)
    assert body["lines"][0]["procedure_code"] == "G9008"


def test_revoked_and_expired_keys_are_refused(app, anonymous):
    headers = make_key(app, "ops")
    key_id = headers["Authorization"].split("_")[1]
    assert anonymous.get("/v1/codes", headers=headers).status_code == 200
    with app.state.database.sessionmaker() as session:
        keys.revoke_key(session, key_id)
    r = anonymous.get("/v1/codes", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]

    headers = make_key(app, "ops")
    with app.state.database.sessionmaker() as session:
        row = session.query(ApiKeyRow).filter_by(key_id=headers["Authorization"].split("_")[1]).one()
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.commit()
    r = anonymous.get("/v1/codes", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_keys_are_stored_only_as_a_hash(app):
    with app.state.database.sessionmaker() as session:
        new = keys.create_key(session, "pipeline")
        stored = session.get(ApiKeyRow, new.row.id)
        secret = new.token.split("_", 2)[2]
        assert secret not in (stored.secret_sha256, stored.key_id) and len(stored.secret_sha256) == 64


def test_key_requests_that_make_no_sense_are_refused(app):
    with app.state.database.sessionmaker() as session:
        for role, npis, expires in (("provider", [], None), ("ops", [BILLING_NPI], None), ("root", [], None),
                                    ("provider", ["123"], None),
                                    ("ops", [], datetime.now(UTC) - timedelta(days=1))):
            with pytest.raises(keys.InvalidKeyRequest):
                keys.create_key(session, role, npis, expires)


def test_keys_cli_create_list_revoke(app, anonymous, database_url):
    env = dict(os.environ, DATABASE_URL=database_url)
    root = Path(__file__).resolve().parents[2]

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "app.cli", "keys", *args], capture_output=True, text=True,
                              env=env, cwd=root, timeout=120)

    made = cli("create", "--role", "provider", "--npi", BILLING_NPI, "--expires", "2099-01-01", "--label", "clinic")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    key_id = token.split("_")[1]
    assert anonymous.get("/v1/codes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = cli("list")
    assert key_id in listed.stdout and "provider" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    assert cli("revoke", key_id).returncode == 0
    assert anonymous.get("/v1/codes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert cli("create", "--role", "provider").returncode == 2
    assert cli("revoke", "nosuchkey").returncode == 1
