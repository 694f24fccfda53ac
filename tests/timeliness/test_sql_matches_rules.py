"""The dashboard SQL and the pure rules agree: random adjudication histories (S1 and S2, contests, late
contests, reversals, interest paid on time or late) posted through the API, read back through /summary and
/providers on several days and periods, equal what app.timeliness.claim + cohort compute in Python."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.timeliness import cohort, queries
from app.timeliness.claim import ClaimFacts, Event, derive, status_as_of
from timeliness.api import PROVIDERS, post_invoice, record

AS_OF_DAYS = [date(2025, 12, 20), date(2026, 1, 31), date(2026, 3, 15), date(2026, 7, 1), date(2026, 11, 1)]
PERIODS = [(None, None), (date(2025, 11, 1), date(2025, 12, 31)), (date(2026, 1, 1), date(2026, 3, 31))]


def random_history(rng: random.Random, received: date, charge: Decimal) -> list[tuple]:
    day = received
    out = []

    def later(lo, hi):
        nonlocal day
        day = day + timedelta(days=rng.randint(lo, hi))
        return day

    path = rng.choice(["open", "paid", "paid", "denied", "contest", "contest", "reverse"])
    if path == "contest":
        reason = rng.choice(["missing_info", "missing_info", "fraud_investigation", "med_necessity_review", "other"])
        out.append(("contested", later(0, 50), {"reason": reason, "information_requested": ["care plan"]}))
        if rng.random() < 0.8:
            out.append(("information_received", later(0, 30), {}))
        path = rng.choice(["open", "paid", "denied"])
    if path in ("paid", "reverse"):
        paid = (charge * Decimal(rng.choice(["1", "1", "0.5"]))).quantize(Decimal("0.01"))
        fields = {"amount": str(paid)}
        if rng.random() < 0.3:
            fields["interest_amount"] = str(Decimal(rng.randint(0, 3000)) / 100)
        out.append(("paid", later(0, 120), fields))
        if rng.random() < 0.4:
            out.append(("interest_paid", later(0, 40), {"amount": str(Decimal(rng.randint(1, 3000)) / 100)}))
    if path == "denied":
        out.append(("denied", later(0, 120), {"reason": "not covered"}))
    if path == "reverse":
        out.append(("decision_reversed", later(1, 30), {"reason": "recouped"}))
        out.append(("paid", later(0, 60), {"amount": str(charge)}))
    return out


def to_events(history) -> list[Event]:
    return [Event(kind, on, amount=Decimal(f["amount"]) if "amount" in f else None,
                  interest_amount=Decimal(f["interest_amount"]) if "interest_amount" in f else None,
                  reason=f.get("reason")) for kind, on, f in history]


@pytest.mark.parametrize("seed, late_days_listed", [(7, queries.LATE_DAYS_LISTED), (2026, queries.LATE_DAYS_LISTED),
                                                    (7, 1)])
def test_dashboards_equal_the_rules_for_random_histories(client, app, policy, seed, late_days_listed, monkeypatch):
    # (late_days_listed 1: the claims settled after as_of's month are read as one range rather than day by day)
    monkeypatch.setattr(queries, "LATE_DAYS_LISTED", late_days_listed)
    rng = random.Random(seed)
    claims = []
    for _ in range(45):
        provider = rng.choice(list(PROVIDERS))
        received = date(2025, 11, 1) + timedelta(days=rng.randint(0, 150))
        charge = Decimal(rng.randint(5000, 200000)) / 100
        history = random_history(rng, received, charge)
        invoice_id = post_invoice(client, provider, received, charge)
        for kind, on, fields in history:
            record(client, invoice_id, kind, on, **fields)
        claims.append((provider, ClaimFacts(received, charge), to_events(history)))

    for as_of in AS_OF_DAYS:
        for start, end in PERIODS:
            params = {"as_of": as_of.isoformat(), **({"received_from": start.isoformat(),
                                                       "received_to": end.isoformat()} if start else {})}
            statuses = [(p, status_as_of(derive(facts, events, policy), as_of, policy)) for p, facts, events in claims]
            expected = cohort.tally([s for _, s in statuses], start, end)
            body = client.get("/v1/timeliness/summary", params=params).json()
            fed = cohort.federal(expected, as_of, end)
            got = body["federal"]
            assert (got["claims"], got["pct30"], got["pct90"], got["pct30_paid_only"], got["pct90_paid_only"],
                    got["band30"]["ceiling"], got["band90"]["ceiling"], got["final"]) == (
                fed.claims, fed.pct30, fed.pct90, fed.pct30_paid_only, fed.pct90_paid_only, fed.band30.ceiling,
                fed.band90.ceiling, fed.final), params
            st = cohort.state(expected)
            assert (body["state"]["timely"], body["state"]["late"], body["state"]["pending"],
                    body["state"]["interest_accuracy_pct"], body["state"]["notice_timely_pct"]) == (
                st.timely, st.late, st.pending, st.interest_accuracy_pct, st.notice_timely_pct), params
            money = cohort.money(expected)
            assert body["money"] == {k: f"{v:.2f}" for k, v in vars(money).items()}, params

            providers = client.get("/v1/timeliness/providers", params=params).json()["items"]
            for row in providers:
                name = next(n for n, (npi, _) in PROVIDERS.items() if npi == row["billing_npi"])
                mine = cohort.tally([s for p, s in statuses if p == name], start, end)
                assert row["volume"] == mine.claims
                assert row["federal"]["pct30"] == cohort.federal(mine, as_of, end).pct30
                assert row["interest_accruing"] == f"{cohort.money(mine).interest_accruing:.2f}"
