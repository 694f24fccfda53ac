"""POST /v1/invoices/{id}/events and GET /v1/invoices/{id}/timeline: append-only, validated against the
invoice's state, every rejection a problem naming the field, what was wrong and what would be accepted."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.timeliness.models import InvoiceEventRow
from timeliness.api import post_event, post_invoice, record

RECEIVED = date(2026, 3, 2)


@pytest.fixture
def invoice_id(client):
    return post_invoice(client, "ECM-A", RECEIVED, "480.00")


def problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {(p["loc"], p["code"]): p for p in response.json()["problems"]}


def events_stored(app) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(InvoiceEventRow))


@pytest.mark.parametrize(("body", "loc", "code"), [
    ({"date": "2026-03-10"}, "type", "required"),
    ({"type": "approved", "date": "2026-03-10"}, "type", "unknown_event_type"),
    ({"type": "paid", "amount": "10.00"}, "date", "required"),
    ({"type": "paid", "date": "2026-02-30", "amount": "10.00"}, "date", "invalid_date"),
    ({"type": "paid", "date": "2099-01-01", "amount": "10.00"}, "date", "future_date"),
    ({"type": "paid", "date": "2026-03-10"}, "amount", "required"),
    ({"type": "paid", "date": "2026-03-10", "amount": "ten"}, "amount", "invalid_amount"),
    ({"type": "paid", "date": "2026-03-10", "amount": "10.005"}, "amount", "too_many_decimals"),
    ({"type": "paid", "date": "2026-03-10", "amount": "-5"}, "amount", "amount_not_positive"),
    ({"type": "paid", "date": "2026-03-10", "amount": "10", "reason": "x"}, "reason", "not_allowed_for_type"),
    ({"type": "paid", "date": "2026-03-10", "amount": "10", "interest_amount": "1", "interest_date": "2026-03-09"},
     "interest_date", "before_payment"),
    ({"type": "denied", "date": "2026-03-10"}, "reason", "required"),
    ({"type": "contested", "date": "2026-03-10", "reason": "lost"}, "reason", "unknown_contest_reason"),
    ({"type": "contested", "date": "2026-03-10", "reason": "missing_info"}, "information_requested", "required"),
    ({"type": "interest_paid", "date": "2026-03-10"}, "amount", "required"),
])
def test_malformed_event_is_422_naming_the_field_and_nothing_is_stored(client, app, invoice_id, body, loc, code):
    found = problem(client.post(f"/v1/invoices/{invoice_id}/events", json=body), 422)
    assert (loc, code) in found
    assert found[(loc, code)]["message"]
    assert events_stored(app) == 0


def test_unknown_field_is_422(client, invoice_id):
    r = client.post(f"/v1/invoices/{invoice_id}/events", json={"type": "paid", "date": "2026-03-10",
                                                              "amount": "1", "paid_by": "EFT"})
    assert ("paid_by", "unknown_field") in problem(r, 422)


def test_payment_before_receipt_is_422_with_the_earliest_allowed_date(client, invoice_id):
    found = problem(post_event(client, invoice_id, "paid", RECEIVED - timedelta(days=1), amount="480.00"), 422)
    assert found[("date", "before_receipt")]["allowed"] == ["on or after 2026-03-02"]


def test_event_dated_before_the_previous_event_is_422(client, invoice_id):
    record(client, invoice_id, "contested", date(2026, 3, 10), reason="missing_info",
           information_requested=["signed care plan"])
    found = problem(post_event(client, invoice_id, "information_received", date(2026, 3, 9)), 422)
    assert found[("date", "before_previous_event")]["allowed"] == ["on or after 2026-03-10"]


def test_payment_above_the_charge_needs_an_explicit_acknowledgement(client, invoice_id):
    found = problem(post_event(client, invoice_id, "paid", date(2026, 3, 10), amount="480.01"), 422)
    assert "exceeds_charge_acknowledged: true" in found[("amount", "exceeds_charge")]["allowed"]
    r = post_event(client, invoice_id, "paid", date(2026, 3, 10), amount="480.01", exceeds_charge_acknowledged=True)
    assert r.status_code == 201, r.text
    assert r.json()["event"]["amount"] == "480.01" and r.json()["event"]["exceeds_charge_acknowledged"]


def test_money_is_decimal_to_the_cent(client, invoice_id):
    r = post_event(client, invoice_id, "paid", date(2026, 3, 10), amount=100.105)
    # fractions of a cent are refused rather than rounded silently
    assert ("amount", "too_many_decimals") in problem(r, 422)
    r = post_event(client, invoice_id, "paid", date(2026, 3, 10), amount=100.1)
    assert r.status_code == 201 and r.json()["event"]["amount"] == "100.10"


def test_second_final_decision_without_a_reversal_is_409(client, app, invoice_id):
    record(client, invoice_id, "denied", date(2026, 3, 10), reason="not authorized")
    found = problem(post_event(client, invoice_id, "paid", date(2026, 3, 12), amount="480.00"), 409)
    assert found[("type", "already_decided")]["allowed"][0] == "decision_reversed"
    record(client, invoice_id, "decision_reversed", date(2026, 3, 20), reason="authorization found")
    r = post_event(client, invoice_id, "paid", date(2026, 3, 25), amount="480.00")
    assert r.status_code == 201, r.text
    assert [e["type"] for e in r.json()["timeline"]["events"]] == ["denied", "decision_reversed", "paid"]
    assert events_stored(app) == 3


@pytest.mark.parametrize(("history", "event", "code"), [
    ([], ("information_received", {}), "not_awaiting_information"),
    ([], ("interest_paid", {"amount": "1.00"}), "not_paid"),
    ([], ("decision_reversed", {"reason": "oops"}), "nothing_to_reverse"),
    ([("paid", {"amount": "480.00"})], ("contested", {"reason": "other"}), "already_decided"),
    ([("contested", {"reason": "other"})], ("contested", {"reason": "other"}), "already_contested"),
    ([("denied", {"reason": "dup"})], ("interest_paid", {"amount": "1.00"}), "not_paid"),
])
def test_event_the_claims_state_does_not_allow_is_409(client, invoice_id, history, event, code):
    for kind, fields in history:
        record(client, invoice_id, kind, date(2026, 3, 10), **fields)
    assert ("type", code) in problem(post_event(client, invoice_id, event[0], date(2026, 3, 11), **event[1]), 409)


def test_events_on_a_voided_invoice_are_409(client, invoice_id):
    assert client.post(f"/v1/invoices/{invoice_id}/void").status_code == 200
    assert ("invoice", "invoice_voided") in problem(
        post_event(client, invoice_id, "paid", date(2026, 3, 10), amount="1.00"), 409)


def test_unknown_invoice_is_404(client):
    r = post_event(client, "no-such-invoice", "paid", date(2026, 3, 10), amount="1.00")
    assert r.status_code == 404


def test_idempotency_key_retry_returns_the_stored_event_and_a_reused_key_is_422(client, app, invoice_id):
    key = {"Idempotency-Key": "evt-1"}
    first = post_event(client, invoice_id, "paid", date(2026, 3, 10), headers=key, amount="480.00")
    again = post_event(client, invoice_id, "paid", date(2026, 3, 10), headers=key, amount="480.00")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["event"] == again.json()["event"]
    other = post_event(client, invoice_id, "interest_paid", date(2026, 3, 12), headers=key, amount="1.00")
    assert ("header:Idempotency-Key", "idempotency_key_reused") in problem(other, 422)
    assert events_stored(app) == 1


def test_contest_sets_the_clean_flag_false_with_its_reason(client, invoice_id):
    assert client.get(f"/v1/invoices/{invoice_id}").json()["clean"] is True
    record(client, invoice_id, "contested", date(2026, 3, 10), reason="missing_info",
           information_requested=["signed care plan", "authorization number"])
    body = client.get(f"/v1/invoices/{invoice_id}").json()
    assert (body["clean"], body["unclean_reason"]) == (False, "missing_info")


def test_timeline_shows_events_deadlines_and_what_is_owed(client, invoice_id):
    record(client, invoice_id, "contested", date(2026, 3, 10), reason="missing_info",
           information_requested=["signed care plan"])
    record(client, invoice_id, "information_received", date(2026, 3, 20))
    record(client, invoice_id, "paid", date(2026, 4, 25), amount="480.00")
    t = client.get(f"/v1/invoices/{invoice_id}/timeline", params={"as_of": "2026-05-20"}).json()
    assert t["receipt"] == {"receipt_date": "2026-03-02", "received_at": t["receipt"]["received_at"],
                            "dated_by": "caller", "set_by": "bootstrap"}
    assert t["deadlines"]["notice"] == "2026-04-01"
    assert t["deadlines"]["reconsideration"] == t["deadlines"]["payment"] == "2026-04-19"
    assert (t["deadlines"]["federal_clock_start"], t["deadlines"]["federal_30"]) == ("2026-03-20", "2026-04-19")
    assert t["current"]["decision"] == "paid" and t["current"]["days_to_decision"] == 36
    assert t["current"]["state_outcome"] == "late"
    # 480.00 x 15% x 6 days / 365 = 1.18; under $2, so it may wait until 10 days after April's end
    assert t["owed"]["interest_due"] == "1.18" and t["deadlines"]["interest_due_by"] == "2026-05-10"
    assert (t["owed"]["penalty"], t["owed"]["penalty_status"]) == ("15.00", "owed")


def test_timeline_as_of_an_earlier_day_ignores_later_events(client, invoice_id):
    record(client, invoice_id, "paid", date(2026, 4, 10), amount="480.00")
    t = client.get(f"/v1/invoices/{invoice_id}/timeline", params={"as_of": "2026-04-05"}).json()
    assert t["current"]["decision"] is None and t["current"]["days_left"] == -4
    assert t["owed"]["interest_accrued"] == "0.79"  # 480 x 15% x 4 / 365


def test_late_contest_is_treated_as_complete_at_receipt_for_interest(client, invoice_id):
    record(client, invoice_id, "contested", date(2026, 4, 5), reason="missing_info", information_requested=["x"])
    record(client, invoice_id, "information_received", date(2026, 4, 6))
    record(client, invoice_id, "paid", date(2026, 4, 11), amount="480.00")
    t = client.get(f"/v1/invoices/{invoice_id}/timeline", params={"as_of": "2026-06-01"}).json()
    assert t["deadlines"]["payment"] == "2026-04-01"  # the receipt deadline, not 04-06 + 30
    assert t["owed"]["interest_due"] == "1.97" and t["current"]["state_outcome"] == "late"
