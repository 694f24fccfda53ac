"""Dashboard endpoints: filters, back-dated invoices counted exactly like live ones, cohorts across 1 Jan 2026,
at-risk kinds, the rejections report, and filter problems."""

from datetime import date, timedelta

from app.invoices.service import receipt_date
from timeliness.api import PROVIDERS, invoice_body, post_invoice, record


def _summary(client, **params):
    r = client.get("/v1/timeliness/summary", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _post_shape(client, received: date) -> list[str]:
    """Five claims received on one day, events on that same day (a live cohort can have no later ones)."""
    ids = [post_invoice(client, "ECM-A", received, "100.00"), post_invoice(client, "CS-B", received, "200.00"),
           post_invoice(client, "ECM-A", received, "300.00"), post_invoice(client, "ECM-C", received, "400.00"),
           post_invoice(client, "CS-B", received, "500.00")]
    record(client, ids[0], "paid", received, amount="100.00")
    record(client, ids[1], "denied", received, reason="duplicate")
    record(client, ids[2], "contested", received, reason="missing_info", information_requested=["care plan"])
    return ids


def _figures(body: dict) -> dict:
    fed = {k: v for k, v in body["federal"].items() if k not in ("band30", "band90")}
    return {"federal": fed, "bands": [{k: v for k, v in body["federal"][b].items() if k != "final_on"}
                                      for b in ("band30", "band90")],
            "state": body["state"], "money": body["money"]}


def test_back_dated_invoices_give_the_same_figures_as_live_ones(client):
    from datetime import UTC, datetime

    today = receipt_date(datetime.now(UTC), "America/Los_Angeles")
    live_ids = []
    for body in [invoice_body(p, None, a) for p, a in (("ECM-A", "100.00"), ("CS-B", "200.00"), ("ECM-A", "300.00"),
                                                       ("ECM-C", "400.00"), ("CS-B", "500.00"))]:
        body.pop("received_date", None)
        r = client.post("/v1/invoices", json=body)
        assert r.status_code == 201, r.text
        live_ids.append(r.json()["id"])
    assert {client.get(f"/v1/invoices/{i}").json()["receipt_date"] for i in live_ids} == {today.isoformat()}
    record(client, live_ids[0], "paid", today, amount="100.00")
    record(client, live_ids[1], "denied", today, reason="duplicate")
    record(client, live_ids[2], "contested", today, reason="missing_info", information_requested=["care plan"])

    past = today - timedelta(days=120)  # same regime (S2) as today
    _post_shape(client, past)

    for offset in (0, 10, 31, 45, 95):
        live = _summary(client, received_from=today.isoformat(), received_to=today.isoformat(),
                        as_of=(today + timedelta(days=offset)).isoformat())
        back = _summary(client, received_from=past.isoformat(), received_to=past.isoformat(),
                        as_of=(past + timedelta(days=offset)).isoformat())
        assert _figures(live) == _figures(back), offset
    assert _figures(back)["money"]["interest_accruing"] != "0.00"  # the open ones do accrue by day 95


def test_filters_by_program_provider_tin_and_submission_type(client):
    _post_shape(client, date(2026, 2, 2))
    assert _summary(client, as_of="2026-03-01")["state"]["claims"] == 5
    assert _summary(client, as_of="2026-03-01", program="CS")["state"]["claims"] == 2
    assert _summary(client, as_of="2026-03-01", program="ECM")["state"]["claims"] == 3
    npi, tin = PROVIDERS["ECM-A"]
    assert _summary(client, as_of="2026-03-01", billing_npi=npi)["state"]["claims"] == 2
    assert _summary(client, as_of="2026-03-01", billing_tin=tin)["state"]["claims"] == 2
    assert _summary(client, as_of="2026-03-01", billing_tin="11-1111111")["state"]["claims"] == 2
    assert _summary(client, as_of="2026-03-01", submission_type="api")["state"]["claims"] == 5
    assert _summary(client, as_of="2026-03-01", submission_type="upload")["state"]["claims"] == 0
    providers = client.get("/v1/timeliness/providers", params={"as_of": "2026-03-01", "program": "CS"}).json()
    assert [p["billing_npi"] for p in providers["items"]] == [PROVIDERS["CS-B"][0]]


def test_cohorts_straddling_1_january_2026_split_by_regime(client):
    legacy = post_invoice(client, "ECM-A", date(2025, 12, 15), "500.00")
    current = post_invoice(client, "ECM-A", date(2026, 1, 5), "500.00")
    record(client, legacy, "paid", date(2026, 1, 28), amount="500.00")  # S1: due 01-29, on time
    record(client, current, "paid", date(2026, 2, 5), amount="500.00")  # S2: due 02-04, one day late
    body = _summary(client, as_of="2026-03-31", received_from="2025-12-01", received_to="2026-01-31")
    assert body["state_by_regime"]["S1"]["timely"] == 1 and body["state_by_regime"]["S2"]["late"] == 1
    assert body["money"]["interest_due"] == "0.21"  # 500 x 15% x 1 / 365
    assert _summary(client, as_of="2026-03-31", regime="S1")["state"]["claims"] == 1
    december = _summary(client, as_of="2026-03-31", received_from="2025-12-01", received_to="2025-12-31")
    assert december["federal"]["claims"] == 1 and list(december["state_by_regime"]) == ["S1"]


def test_contested_claim_joins_the_federal_cohort_of_the_day_its_information_arrived(client):
    invoice_id = post_invoice(client, "ECM-A", date(2025, 12, 10), "500.00")
    record(client, invoice_id, "contested", date(2025, 12, 20), reason="missing_info", information_requested=["x"])
    record(client, invoice_id, "information_received", date(2026, 1, 6))
    record(client, invoice_id, "paid", date(2026, 1, 20), amount="500.00")
    dec = _summary(client, as_of="2026-06-30", received_from="2025-12-01", received_to="2025-12-31")
    jan = _summary(client, as_of="2026-06-30", received_from="2026-01-01", received_to="2026-01-31")
    assert (dec["federal"]["claims"], dec["state"]["claims"]) == (0, 1)
    assert (jan["federal"]["claims"], jan["federal"]["pct30"], jan["state"]["claims"]) == (1, 100.0, 0)


def test_fraud_investigation_leaves_the_federal_denominator_but_not_the_state_one(client):
    invoice_id = post_invoice(client, "ECM-A", date(2026, 2, 2), "500.00")
    record(client, invoice_id, "contested", date(2026, 2, 10), reason="fraud_investigation")
    body = _summary(client, as_of="2026-06-30")
    assert (body["federal"]["claims"], body["state"]["claims"], body["state"]["timely"]) == (0, 1, 1)


def test_at_risk_lists_each_kind_soonest_first(client):
    due_soon = post_invoice(client, "ECM-A", date(2026, 5, 1), "100.00")  # S2 deadline 05-31, federal 30 too
    recon = post_invoice(client, "CS-B", date(2026, 4, 1), "200.00")
    record(client, recon, "contested", date(2026, 4, 10), reason="missing_info", information_requested=["x"])
    record(client, recon, "information_received", date(2026, 5, 1))  # recon deadline 05-31
    late_paid = post_invoice(client, "ECM-C", date(2026, 3, 1), "3650.00")
    record(client, late_paid, "paid", date(2026, 5, 21), amount="3650.00")  # due 03-31: 51 days late
    body = client.get("/v1/timeliness/at-risk", params={"as_of": "2026-05-26"}).json()
    got = [(i["invoice_id"], i["kind"], i["days_left"]) for i in body["items"]]
    # 5 working days after Thu 05-21 skip Memorial Day (05-25): 05-29
    assert got == [(late_paid, "interest_unpaid", 3), (due_soon, "decision_due", 5), (due_soon, "federal_30", 5),
                   (recon, "federal_30", 5), (recon, "reconsideration_due", 5)]
    assert body["items"][0]["interest_unpaid"] == "76.50" and body["items"][0]["deadline"] == "2026-05-29"
    assert body["counts"]["federal_90"] == 0 and body["window_days"] == 7


def test_rejections_report_counts_per_provider_and_code(client):
    bad = invoice_body("ECM-A", None, "100.00")
    bad.pop("received_date", None)
    bad["member_cin"] = "BAD"
    assert client.post("/v1/invoices", json=bad).status_code == 422
    assert client.post("/v1/invoices", json=bad).status_code == 422
    body = client.get("/v1/reports/rejections", params={"period": "month"}).json()
    assert [(i["billing_npi"], i["code"], i["count"]) for i in body["items"]] == [
        (PROVIDERS["ECM-A"][0], "invalid_format", 2)]
    assert len(body["items"][0]["period"]) == 7


def test_reversed_period_and_unknown_program_are_422_problems(client):
    r = client.get("/v1/timeliness/summary", params={"received_from": "2026-03-01", "received_to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["problems"][0]["code"] == "period_reversed"
    r = client.get("/v1/timeliness/providers", params={"program": "XYZ"})
    assert r.status_code == 422 and r.json()["problems"][0]["loc"] == "query.program"
    assert client.get("/v1/reports/rejections", params={"received_from": "2026-03-01",
                                                        "received_to": "2026-01-01"}).status_code == 422
