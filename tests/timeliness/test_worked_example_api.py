"""The reference's worked example (§8), posted and adjudicated through the API, read back from the dashboards."""

from datetime import date

from timeliness.api import PROVIDERS, post_worked_example

Q1 = {"received_from": "2026-01-01", "received_to": "2026-03-31", "as_of": "2026-07-15"}


def test_summary_reproduces_the_worked_example(client):
    post_worked_example(client)
    r = client.get("/v1/timeliness/summary", params=Q1)
    assert r.status_code == 200, r.text
    body = r.json()
    fed = body["federal"]
    assert (fed["claims"], fed["pct30"], fed["pct90"]) == (10, 60.0, 80.0)
    assert (fed["pct30_paid_only"], fed["pct90_paid_only"]) == (50.0, 70.0)
    assert fed["final"] and fed["maturity"] == "final" and fed["band90"]["final_on"] == "2026-06-29"
    assert (fed["meets30"], fed["meets90"]) == (False, False)
    assert body["state"]["timely_pct"] == 60.0 and body["state"]["interest_accuracy_pct"] == 66.67
    assert body["money"] == {
        "interest_due": "21.09", "interest_paid": "21.09", "interest_unpaid": "0.00", "penalties_owed": "15.00",
        "interest_accruing": "30.33", "interest_accruing_per_day": "0.37", "open_amount": "900.00"}
    assert list(body["state_by_regime"]) == ["S2"]


def test_per_claim_interest_through_the_timeline(client):
    ids = post_worked_example(client)
    owed = {cid: client.get(f"/v1/invoices/{ids[cid]}/timeline", params={"as_of": "2026-07-15"}).json()["owed"]
            for cid in ("C2", "C6", "C8", "C10")}
    assert [owed[c]["interest_due"] for c in ("C2", "C6", "C10")] == ["4.62", "14.79", "1.68"]
    assert (owed["C6"]["penalty"], owed["C6"]["penalty_status"]) == ("15.00", "owed")
    assert (owed["C10"]["penalty"], owed["C10"]["penalty_status"]) == ("0.00", "avoided")
    assert (owed["C8"]["interest_accrued"], owed["C8"]["interest_accruing_per_day"]) == ("30.33", "0.37")


def test_providers_table_reproduces_per_provider_pct30(client):
    post_worked_example(client)
    body = client.get("/v1/timeliness/providers", params=Q1).json()
    by_npi = {row["billing_npi"]: row for row in body["items"]}
    pct30 = {name: by_npi[npi]["federal"]["pct30"] for name, (npi, _) in PROVIDERS.items()}
    assert pct30 == {"ECM-A": 50.0, "CS-B": 50.0, "ECM-C": 100.0}
    cs_b = by_npi[PROVIDERS["CS-B"][0]]
    assert (cs_b["volume"], cs_b["open_count"], cs_b["open_amount"]) == (4, 1, "900.00")
    assert (cs_b["oldest_open_receipt_date"], cs_b["oldest_open_days"]) == ("2026-03-25", 112)
    assert (cs_b["penalties_owed"], cs_b["interest_accruing"]) == ("15.00", "30.33")
    ecm_a = by_npi[PROVIDERS["ECM-A"][0]]
    assert ecm_a["contested_rate"] == 25.0 and ecm_a["top_contest_reasons"] == [{"reason": "missing_info", "count": 1}]
    # receipt to payment: C1 23, C2 39, C5 53, C10 35 -> median (35 + 39) / 2
    assert ecm_a["median_days_to_pay"] == 37.0


def test_aging_puts_c8_in_the_91_to_180_bucket(client):
    post_worked_example(client)
    body = client.get("/v1/timeliness/aging", params=Q1).json()
    filled = {b["bucket"]: (b["count"], b["amount"]) for b in body["buckets"] if b["count"]}
    assert filled == {"91-180": (1, "900.00")}
    assert [b["bucket"] for b in body["buckets"] if b["breach_imminent"]] == ["26-30"]


def test_at_risk_lists_c8_overdue_with_interest_accruing(client):
    ids = post_worked_example(client)
    body = client.get("/v1/timeliness/at-risk", params=Q1).json()
    assert [(i["invoice_id"], i["kind"], i["days_left"]) for i in body["items"]] == [(ids["C8"], "decision_due", -82)]
    assert body["items"][0]["interest_accrued"] == "30.33" and body["items"][0]["deadline"] == "2026-04-24"


def test_before_maturity_the_summary_is_a_band_around_the_final_figure(client):
    post_worked_example(client)
    fed = client.get("/v1/timeliness/summary", params={**Q1, "as_of": "2026-04-15"}).json()["federal"]
    assert fed["maturity"] == "maturing" and fed["meets30"] is None
    assert fed["band30"]["floor"] <= 60.0 <= fed["band30"]["ceiling"]
    assert fed["band90"]["floor"] <= 80.0 <= fed["band90"]["ceiling"]


def test_legacy_claim_received_2025_12_15_is_due_2026_01_29(client):
    from timeliness.api import post_invoice

    invoice_id = post_invoice(client, "ECM-A", date(2025, 12, 15), "500.00")
    timeline = client.get(f"/v1/invoices/{invoice_id}/timeline", params={"as_of": "2026-01-20"}).json()
    assert timeline["regime"] == "S1"
    assert timeline["deadlines"]["notice"] == "2026-01-29"
    assert timeline["current"]["days_left"] == 9
