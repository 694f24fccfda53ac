"""received_date: a trusted caller dates an invoice by the plan's date stamp; anyone else gets a 422; the
history records who set it; a replacement is a new receipt."""

from datetime import date, timedelta

import pytest

from app.auth.caller import Caller, current_caller
from timeliness.api import PROVIDERS, invoice_body, post_invoice


@pytest.fixture
def as_provider(app):
    app.dependency_overrides[current_caller] = lambda: Caller("k1", "provider", frozenset({PROVIDERS["ECM-A"][0]}))
    yield
    app.dependency_overrides.pop(current_caller, None)


def test_trusted_caller_back_dates_the_receipt_and_the_history_says_who(client):
    r = client.post("/v1/invoices", json=invoice_body("ECM-A", date(2026, 1, 5), "100.00"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["receipt_date"], body["receipt_date_set_by"], body["clean"]) == ("2026-01-05", "bootstrap", True)
    timeline = client.get(f"/v1/invoices/{body['id']}/timeline").json()
    assert timeline["receipt"]["dated_by"] == "caller" and timeline["receipt"]["set_by"] == "bootstrap"


def test_untrusted_caller_sending_received_date_gets_422_and_nothing_is_stored(client, as_provider):
    r = client.post("/v1/invoices", json=invoice_body("ECM-A", date(2026, 1, 5), "100.00"))
    assert r.status_code == 422
    assert [(p["loc"], p["code"]) for p in r.json()["problems"]] == [("received_date", "received_date_not_allowed")]
    assert client.get("/v1/invoices").json()["items"] == []


def test_untrusted_caller_without_received_date_gets_todays_date(client, as_provider):
    r = client.post("/v1/invoices", json=invoice_body("ECM-A", None, "100.00"))
    assert r.status_code == 201, r.text
    assert r.json()["receipt_date_set_by"] is None
    assert date.fromisoformat(r.json()["receipt_date"]) >= date.today() - timedelta(days=1)


def test_received_date_in_the_future_is_422(client):
    body = invoice_body("ECM-A", date.today() - timedelta(days=5), "100.00")
    body["received_date"] = (date.today() + timedelta(days=2)).isoformat()
    problems = client.post("/v1/invoices", json=body).json()["problems"]
    assert [(p["loc"], p["code"]) for p in problems] == [("received_date", "future_date")]


def test_received_date_before_the_service_dates_is_422_naming_the_earliest_allowed(client):
    body = invoice_body("ECM-A", date(2026, 1, 5), "100.00")  # service on 2026-01-02
    body["received_date"] = "2026-01-01"
    r = client.post("/v1/invoices", json=body)
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert (problem["code"], problem["allowed"]) == ("before_service", ["on or after 2026-01-02"])


def test_received_date_that_is_not_a_date_is_422(client):
    body = invoice_body("ECM-A", date(2026, 1, 5), "100.00")
    body["received_date"] = "yesterday"
    assert client.post("/v1/invoices", json=body).json()["problems"][0]["code"] == "invalid_date"


def test_replacement_is_a_new_receipt_and_the_open_original_leaves_the_figures(client):
    original = post_invoice(client, "ECM-A", date(2026, 1, 5), "100.00")
    body = invoice_body("ECM-A", date(2026, 1, 5), "100.00")
    fetched = client.get(f"/v1/invoices/{original}").json()
    body.update({k: fetched["invoice"][k] for k in ("invoice_number", "member_cin")})
    body["lines"][0]["service_start_date"] = body["lines"][0]["service_end_date"] = "01/02/2026"
    body["received_date"] = "2026-02-10"
    r = client.post(f"/v1/invoices/{original}/replace", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["invoice"]["receipt_date"] == "2026-02-10"
    summary = client.get("/v1/timeliness/summary", params={"as_of": "2026-03-01"}).json()
    assert summary["state"]["claims"] == 1 and summary["federal"]["claims"] == 1
    t = client.get(f"/v1/invoices/{original}/timeline").json()
    assert t["excluded_reason"] == "replaced"
