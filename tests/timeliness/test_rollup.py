"""The rollup of settled figures (app.timeliness.rollup) stays equal to a from-scratch recomputation after random
event histories and voids posted through the API, and the dashboards that read it still equal the pure rules on
random days (month ends, first days of months and days between: the rollup holds whole months of settled_on),
under filters, including the providers' total, median days to pay, oldest open item and top contest reasons."""

import random
import statistics
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db import Base
from app.timeliness import cohort, rollup
from app.timeliness.claim import PAID, ClaimFacts, derive, status_as_of
from timeliness.api import PROVIDERS, post_invoice, record
from timeliness.test_sql_matches_rules import random_history, to_events


def _clear(app) -> None:
    with app.state.database.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "control_counters":
                conn.execute(table.delete())


def _rows(conn) -> dict:
    return {t.name: sorted((tuple(r) for r in conn.execute(select(t))), key=repr) for t in (rollup.R, rollup.D)}


def rollup_and_recomputed(app) -> tuple[dict, dict]:
    """The rollup as maintained, and as recompute() builds it from claim_timeliness (rolled back)."""
    with app.state.database.engine.connect() as conn:
        kept = _rows(conn)
        trans = conn.begin() if not conn.in_transaction() else conn.get_transaction()
        rollup.recompute(conn)
        scratch = _rows(conn)
        trans.rollback()
    return kept, scratch


def _expected_providers(claims, as_of, policy, start, end, program):
    """Per provider, what /providers shows, from the pure rules."""
    out = {}
    for name, (npi, tin) in PROVIDERS.items():
        mine = [(facts, d) for p, facts, d, prog in claims if p == name and (program is None or program in prog)]
        statuses = [status_as_of(d, as_of, policy) for _, d in mine]
        in_where = [s for (_, d), s in zip(mine, statuses, strict=True) if s.included and (
            start is None or cohort.in_period(d.receipt_date, start, end)
            or cohort.in_period(d.info_received_date, start, end))]
        if not in_where:
            continue
        counts = cohort.tally(statuses, start, end)
        period = [(d, s) for (_, d), s in zip(mine, statuses, strict=True)
                  if s.included and cohort.in_period(d.receipt_date, start, end)]
        days = [(s.decision_date - d.receipt_date).days for d, s in period if s.decision_kind == PAID]
        reasons = Counter(d.unclean_reason for d, s in period if d.contest_date and d.contest_date <= as_of)
        oldest = min((d.receipt_date for d, s in period if s.is_open), default=None)
        out[npi] = {"volume": counts.claims, "fed": counts.fed_claims,
                    "median": round(statistics.median(days), 1) if days else None,
                    "reasons": sorted(reasons.items(), key=lambda x: (-x[1], x[0]))[:3], "oldest": oldest,
                    "pct30": cohort.federal(counts, as_of, end).pct30,
                    "accruing": f"{cohort.money(counts).interest_accruing:.2f}",
                    "due": f"{cohort.money(counts).interest_due:.2f}", "open": counts.open}
    return out


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), offsets=st.lists(st.integers(0, 400), min_size=2, max_size=3))
def test_rollup_equals_recomputation_and_dashboards_equal_the_rules(client, app, policy, seed, offsets):
    _clear(app)
    rng = random.Random(seed)
    claims = []
    for _ in range(24):
        provider = rng.choice(list(PROVIDERS))
        received = date(2025, 11, 1) + timedelta(days=rng.randint(0, 150))
        charge = Decimal(rng.randint(5000, 200000)) / 100
        history = random_history(rng, received, charge)
        invoice_id = post_invoice(client, provider, received, charge)
        for kind, on, fields in history:
            record(client, invoice_id, kind, on, **fields)
        excluded = None
        if rng.random() < 0.15:
            assert client.post(f"/v1/invoices/{invoice_id}/void").status_code == 200
            excluded = "voided"
        program = "CS" if provider.startswith("CS") else "ECM"
        claims.append((provider, ClaimFacts(received, charge, excluded),
                       derive(ClaimFacts(received, charge, excluded), to_events(history), policy), program))
        if rng.random() < 0.2:
            kept, scratch = rollup_and_recomputed(app)
            assert kept == scratch
    kept, scratch = rollup_and_recomputed(app)
    assert kept == scratch
    assert kept["timeliness_rollup"], "no settled claim in the history"

    days = [date(2025, 11, 1) + timedelta(days=o) for o in offsets]
    days += [date(2026, 1, 31), date(2026, 2, 1), date(2026, 4, 30)]
    for as_of in days:
        for start, end, program in [(None, None, None), (date(2025, 12, 10), date(2026, 2, 14), None),
                                    (None, None, "CS"), (date(2026, 1, 1), None, "ECM")]:
            params = {"as_of": as_of.isoformat(), **({"received_from": start.isoformat()} if start else {}),
                      **({"received_to": end.isoformat()} if end else {}), **({"program": program} if program else {})}
            mine = [d for _, _, d, prog in claims if program is None or program in prog]
            expected = cohort.tally([status_as_of(d, as_of, policy) for d in mine], start, end)
            body = client.get("/v1/timeliness/summary", params=params).json()
            fed = cohort.federal(expected, as_of, end)
            assert (body["federal"]["claims"], body["federal"]["pct30"], body["federal"]["pct90"],
                    body["federal"]["band30"]["ceiling"], body["federal"]["final"]) == (
                fed.claims, fed.pct30, fed.pct90, fed.band30.ceiling, fed.final), params
            stt = cohort.state(expected)
            assert (body["state"]["claims"], body["state"]["timely"], body["state"]["late"],
                    body["state"]["pending"], body["state"]["notice_timely_pct"],
                    body["state"]["interest_accuracy_pct"]) == (
                expected.claims, stt.timely, stt.late, stt.pending, stt.notice_timely_pct,
                stt.interest_accuracy_pct), params
            assert body["money"] == {k: f"{v:.2f}" for k, v in vars(cohort.money(expected)).items()}, params

            want = _expected_providers(claims, as_of, policy, start, end, program)
            page = client.get("/v1/timeliness/providers", params=params).json()
            assert page["total"] == len(want), params
            got = {r["billing_npi"]: {
                "volume": r["volume"], "fed": r["federal"]["claims"], "median": r["median_days_to_pay"],
                "reasons": [(x["reason"], x["count"]) for x in r["top_contest_reasons"]],
                "oldest": date.fromisoformat(r["oldest_open_receipt_date"]) if r["oldest_open_receipt_date"] else None,
                "pct30": r["federal"]["pct30"], "accruing": r["interest_accruing"], "due": r["interest_due"],
                "open": r["open_count"]} for r in page["items"]}
            assert got == {k: v for k, v in want.items() if v["volume"] or v["fed"]}, params
