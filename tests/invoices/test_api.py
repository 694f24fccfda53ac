"""POST /v1/invoices and friends, through HTTP, on the configured database."""

import threading
from datetime import date, timedelta

from sqlalchemy import func, select

from app.invoices.models import IntakeRejectionRow, InvoiceLineRow, InvoiceRow
from factories import BILLING_NPI, cs_invoice, ecm_invoice, variant


def count(app, model) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_valid_ecm_invoice_is_stored_with_receipt_date_and_line_control_numbers(client, app):
    r = client.post("/v1/invoices", json=ecm_invoice())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "accepted"
    assert body["programs"] == ["ECM"]
    assert date.fromisoformat(body["receipt_date"]) in (date.today(), date.today() - timedelta(days=1))
    assert body["invoice"]["billing_provider_tin"] == "123456789"
    assert body["invoice"]["billing_provider_zip"] == "958141234"
    assert [line["line_item_control_number"] for line in body["lines"]] == [
        f"E{_internal_id(app, body['id'])}-1", f"E{_internal_id(app, body['id'])}-2"]
    assert body["lines"][1]["procedure_code_modifiers"] == ["U1", "GQ"]
    assert r.headers["location"] == f"/v1/invoices/{body['id']}"
    assert client.get(f"/v1/invoices/{body['id']}").json() == body
    assert count(app, InvoiceLineRow) == 2


def _internal_id(app, public_id: str) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(InvoiceRow.id).where(InvoiceRow.public_id == public_id))


def test_valid_community_supports_invoice_is_stored_with_encounter_unit(client):
    r = client.post("/v1/invoices", json=cs_invoice())
    assert r.status_code == 201, r.text
    line = r.json()["lines"][0]
    assert (line["program"], line["encounter_unit"], line["encounter_units"]) == ("CS", "per diem", "5")
    assert line["code_table_version"] == "2022-01-01_2025-12-31"
    assert any(w["code"] == "unconfirmed_code_row" for w in r.json()["warnings"])


def test_invalid_invoice_gets_422_problem_json_with_every_problem_and_nothing_is_stored(client, app):
    bad = variant(ecm_invoice(), billing_provider_npi="1999999993", member_cin="1234", invoice_amount="1.00",
                  lines__0__procedure_code_modifiers=[], lines__1__procedure_code_modifiers=["GQ"])
    r = client.post("/v1/invoices", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    found = {(p["loc"], p["code"]) for p in r.json()["problems"]}
    assert {("billing_provider_npi", "invalid_check_digit"), ("member_cin", "invalid_format"),
            ("lines[0].procedure_code_modifiers", "required"),
            ("lines[1].procedure_code_modifiers", "modifier_combination_not_allowed")} <= found
    assert count(app, InvoiceRow) == 0


def test_rejections_are_counted_per_provider_and_code_without_phi(client, app):
    client.post("/v1/invoices", json=variant(ecm_invoice(), member_cin="BAD"))
    with app.state.database.sessionmaker() as s:
        rows = s.execute(select(IntakeRejectionRow.billing_npi, IntakeRejectionRow.code,
                                IntakeRejectionRow.count)).all()
    assert rows == [(BILLING_NPI, "invalid_format", 1)]


def test_g9008_alone_names_the_allowed_modifiers(client):
    r = client.post("/v1/invoices", json=variant(ecm_invoice(), lines__0__procedure_code_modifiers="",
                                                 lines__0__procedure_code="G9008"))
    assert r.status_code == 422
    bad = variant(ecm_invoice(), invoice_number="X1")
    bad["lines"] = [bad["lines"][0]]
    bad["lines"][0]["procedure_code_modifiers"] = ["GQ"]
    bad["invoice_amount"] = "100.00"
    problem = client.post("/v1/invoices", json=bad).json()["problems"][0]
    assert problem["loc"] == "lines[0].procedure_code_modifiers"
    assert "U1 (" in problem["message"] and "U1+GQ" in problem["message"]
    assert problem["allowed"] == ["G9008 U1", "G9008 U1 GQ", "G9008 U8", "G9008 U8 GQ"]


def test_retry_with_identical_body_returns_the_stored_invoice_with_200(client, app):
    first = client.post("/v1/invoices", json=ecm_invoice())
    again = client.post("/v1/invoices", json=ecm_invoice())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert count(app, InvoiceRow) == 1


def test_retry_spelled_differently_but_same_content_is_the_same_invoice(client):
    first = client.post("/v1/invoices", json=ecm_invoice()).json()
    respelled = variant(ecm_invoice(), billing_provider_tin="123456789", member_cin="91234567a",
                        invoice_amount=175.25)
    again = client.post("/v1/invoices", json=respelled)
    assert again.status_code == 200 and again.json()["id"] == first["id"]


def test_same_invoice_number_with_different_content_is_a_409_that_says_how_to_correct(client):
    first = client.post("/v1/invoices", json=ecm_invoice()).json()
    changed = variant(ecm_invoice(), payer_name="Another Plan")
    r = client.post("/v1/invoices", json=changed)
    assert r.status_code == 409
    body = r.json()
    assert body["existing_invoice_id"] == first["id"]
    assert body["problems"][0]["code"] == "invoice_number_taken"
    assert "replace" in body["problems"][0]["message"] and "void" in body["problems"][0]["message"]


def test_idempotency_key_replays_and_refuses_a_different_body(client, app):
    headers = {"Idempotency-Key": "k-123"}
    first = client.post("/v1/invoices", json=ecm_invoice(), headers=headers)
    replay = client.post("/v1/invoices", json=ecm_invoice(), headers=headers)
    assert (first.status_code, replay.status_code) == (201, 200)
    other = client.post("/v1/invoices", json=cs_invoice(), headers=headers)
    assert other.status_code == 422
    assert other.json()["problems"][0]["code"] == "idempotency_key_reused"
    assert count(app, InvoiceRow) == 1


def test_duplicate_service_line_on_another_invoice_is_rejected_naming_the_earlier_invoice(client):
    first = client.post("/v1/invoices", json=ecm_invoice("INV-A")).json()
    second = variant(ecm_invoice("INV-B"))
    r = client.post("/v1/invoices", json=second)
    assert r.status_code == 422
    dupes = [p for p in r.json()["problems"] if p["code"] == "duplicate_line"]
    assert [p["loc"] for p in dupes] == ["lines[0]", "lines[1]"]
    assert "INV-A" in dupes[0]["message"] and first["id"] in dupes[0]["message"]


def test_same_service_for_another_member_is_not_a_duplicate(client):
    assert client.post("/v1/invoices", json=ecm_invoice("INV-A")).status_code == 201
    assert client.post("/v1/invoices", json=ecm_invoice("INV-B", cin="11111111C")).status_code == 201


def test_validate_runs_the_same_checks_and_stores_nothing(client, app):
    ok = client.post("/v1/invoices/validate", json=ecm_invoice())
    assert ok.status_code == 200 and ok.json()["valid"] is True
    bad = client.post("/v1/invoices/validate", json=variant(ecm_invoice(), billing_provider_zip="95814"))
    assert bad.json()["valid"] is False
    assert bad.json()["problems"][0]["code"] == "zip_plus4_required"
    assert count(app, InvoiceRow) == 0 and count(app, IntakeRejectionRow) == 0


def test_validate_reports_a_duplicate_of_a_stored_line(client):
    client.post("/v1/invoices", json=ecm_invoice("INV-A"))
    r = client.post("/v1/invoices/validate", json=ecm_invoice("INV-B")).json()
    assert r["valid"] is False and r["problems"][0]["code"] == "duplicate_line"


def test_unknown_field_is_rejected_with_a_problem_listing_the_accepted_fields(client):
    r = client.post("/v1/invoices", json={**ecm_invoice(), "member_ssn": "123"})
    assert r.status_code == 422
    problem = r.json()["problems"][0]
    assert (problem["loc"], problem["code"]) == ("member_ssn", "unknown_field")
    assert "member_cin" in problem["allowed"]
    line_extra = variant(ecm_invoice(), lines__0__colour="red")
    problem = client.post("/v1/invoices", json=line_extra).json()["problems"][0]
    assert problem["loc"] == "lines[0].colour" and "procedure_code" in problem["allowed"]


def test_malformed_json_and_wrong_shapes_are_4xx_never_500(client):
    r = client.post("/v1/invoices", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["problems"][0]["code"] == "json_invalid"
    for body in ([], "text", 42, {"lines": "x"}, {"lines": [1, 2]}, {"member_first_name": {"a": 1}}, {}):
        r = client.post("/v1/invoices", json=body)
        assert r.status_code == 422, (body, r.status_code)
        assert r.json()["problems"], body


def test_unknown_invoice_is_a_404_problem(client):
    r = client.get("/v1/invoices/does-not-exist")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_list_filters_and_cursor_pagination_visit_every_invoice_once(client):
    ids = []
    for i in range(5):
        day = date(2024, 3, 1) + timedelta(days=i)
        ids.append(client.post("/v1/invoices", json=ecm_invoice(f"INV-{i}", service_day=day)).json()["id"])
    client.post("/v1/invoices", json=cs_invoice())
    seen, cursor = [], None
    while True:
        page = client.get("/v1/invoices", params={"billing_npi": BILLING_NPI, "member_cin": "91234567a",
                                                  "limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    today = date.today().isoformat()
    assert len(client.get("/v1/invoices", params={"received_to": "2000-01-01"}).json()["items"]) == 0
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert len(client.get("/v1/invoices", params={"received_from": yesterday, "received_to": today,
                                                  "status": "accepted"}).json()["items"]) == 6
    assert client.get("/v1/invoices", params={"cursor": "!!!"}).status_code == 400


def test_codes_endpoint_returns_the_table_in_force_on_a_date(client):
    old = client.get("/v1/codes", params={"on": "2025-06-01"}).json()
    new = client.get("/v1/codes", params={"on": "2026-02-01"}).json()
    assert old["version"] == "2022-01-01_2025-12-31" and new["version"] == "2026-01-01_open"
    combos = {(r["hcpcs"], " ".join(r["modifiers"])) for r in new["rows"]}
    assert ("S9452", "U5") in combos and ("S9452", "U5") not in {
        (r["hcpcs"], " ".join(r["modifiers"])) for r in old["rows"]}
    seed_rows = [r for r in new["rows"] if r["confidence"] == "seed"]
    assert {(r["hcpcs"], tuple(r["modifiers"])) for r in seed_rows} == {("G9008", ("U1",)), ("G9008", ("U1", "GQ"))}
    assert client.get("/v1/codes", params={"on": "2020-01-01"}).status_code == 404


def test_concurrent_identical_posts_store_one_invoice(client, app):
    results = []

    def post():
        results.append(client.post("/v1/invoices", json=ecm_invoice()).status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 5 + [201]
    assert count(app, InvoiceRow) == 1


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
