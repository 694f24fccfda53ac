"""HTTP endpoints for timeliness: adjudication events and the timeline of one invoice, and the JSON the ops
dashboards read. Thin: parse, call one service or query function, shape the response."""

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response

from app.auth.caller import Allow, CallerDep
from app.deps import SessionDep, SettingsDep
from app.errors import problem_response
from app.invoices import service as invoices
from app.invoices.problems import Problem
from app.invoices.routes import PROBLEM
from app.invoices.service import receipt_date
from app.timeliness import cohort, queries, service
from app.timeliness.deps import PolicyDep
from app.timeliness.schemas import (
    AgingOut, AtRiskOut, EventAccepted, EventIn, ProvidersOut, RejectionsOut, SummaryOut, TimelineOut,
)

events_router = APIRouter(prefix="/v1/invoices", tags=["timeliness"])
router = APIRouter(prefix="/v1/timeliness", tags=["timeliness"])
reports_router = APIRouter(prefix="/v1/reports", tags=["reports"])


def _today(settings) -> date:  # noqa: ANN001
    return receipt_date(datetime.now(UTC), settings.timezone)


def _invoice(session, invoice_id: str):  # noqa: ANN001
    row = invoices.get_invoice(session, invoice_id)
    if row is None:
        raise HTTPException(404, f"No invoice {invoice_id}.")
    return row


AsOf = Annotated[date | None, Query(description="The day to report on (YYYY-MM-DD); default today "
                                                "(America/Los_Angeles). Events dated later are not yet known.")]


@events_router.post("/{invoice_id}/events", status_code=201, response_model=EventAccepted,
                    responses={200: {"model": EventAccepted, "description": "An Idempotency-Key retry: the event "
                                                                             "already recorded."},
                               404: PROBLEM, 409: PROBLEM, 422: PROBLEM},
                    dependencies=[Depends(Allow("finance"))])
def record_event(invoice_id: str, body: EventIn, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                 caller: CallerDep, response: Response,
                 idempotency_key: Annotated[str | None, Header(max_length=255)] = None):
    """Append one adjudication event (contested, information_received, paid, denied, interest_paid,
    decision_reversed). Events are never edited: to change a final decision, record `decision_reversed`
    first. 422 when the event is malformed or its date/amount does not fit the invoice; 409 when the claim's
    state does not allow it; the response carries the updated timeline."""
    invoice = _invoice(session, invoice_id)
    today = _today(settings)
    try:
        outcome = service.append_event(session, invoice, body.model_dump(exclude_none=True), policy=policy,
                                       today=today, recorded_by=caller.key_id, idempotency_key=idempotency_key)
    except service.EventRejected as rejected:
        return problem_response(rejected.status, rejected.detail, rejected.problems)
    if not outcome.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/invoices/{invoice.public_id}/timeline"
    session.refresh(invoice)
    return {"event": service.event_out(outcome.event),
            "timeline": service.timeline(session, invoice, policy, max(today, outcome.event.event_date))}


@events_router.get("/{invoice_id}/timeline", response_model=TimelineOut, responses={404: PROBLEM},
                   dependencies=[Depends(Allow("provider", "finance", "ops"))])
def read_timeline(invoice_id: str, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
                  caller: CallerDep, as_of: AsOf = None):
    """The invoice's receipt, events, deadlines (state and federal), where it stands, and what is owed:
    interest due and paid, the penalty if interest missed its automatic window, interest accruing if open.
    A provider key sees only its own billing NPIs' invoices."""
    invoice = _invoice(session, invoice_id)
    if not caller.may_act_for(invoice.billing_npi):
        raise HTTPException(404, f"No invoice {invoice_id}.")
    return service.timeline(session, invoice, policy, as_of or _today(settings))


def dashboard_filters(
    received_from: Annotated[date | None, Query(description="Receipt period: first day (YYYY-MM-DD).")] = None,
    received_to: Annotated[date | None, Query(description="Receipt period: last day, inclusive.")] = None,
    program: Annotated[Literal["ECM", "CS"] | None, Query(description="ECM or CS (Community Supports).")] = None,
    billing_npi: Annotated[str | None, Query(max_length=10)] = None,
    billing_tin: Annotated[str | None, Query(max_length=10, description="9 digits (12-3456789 accepted).")] = None,
    submission_type: Annotated[str | None, Query(max_length=10, description="How the invoice arrived: api, "
                                                                            "upload, ...")] = None,
    regime: Annotated[Literal["S1", "S2"] | None, Query(description="S1: received to 2025-12-31; S2: from "
                                                                    "2026-01-01.")] = None,
) -> queries.Filters:
    if received_from and received_to and received_from > received_to:
        raise FiltersInvalid(Problem("received_to", "period_reversed",
                                     f"received_to {received_to} is before received_from {received_from}.",
                                     [f"on or after {received_from}"]))
    return queries.Filters(received_from, received_to, program, billing_npi,
                           billing_tin.replace("-", "") if billing_tin else None, submission_type, regime)


class FiltersInvalid(HTTPException):
    def __init__(self, problem: Problem):
        super().__init__(422, problem.message)
        self.problem = problem


FiltersDep = Annotated[queries.Filters, Depends(dashboard_filters)]


def _filters_out(f: queries.Filters) -> dict:
    return {"received_from": f.received_from, "received_to": f.received_to, "program": f.program,
            "billing_npi": f.billing_npi, "billing_tin": f.billing_tin, "submission_type": f.submission_type,
            "regime": f.regime}


def _federal_out(counts: cohort.Counts, as_of: date, f: queries.Filters, policy) -> dict:  # noqa: ANN001
    fed = cohort.federal(counts, as_of, f.received_to)
    out = {k: getattr(fed, k) for k in fed.__dataclass_fields__}
    out["band30"], out["band90"] = vars(fed.band30), vars(fed.band90)
    out["cohort_by"] = policy.federal_cohort
    out["maturity"] = "final" if fed.final else "maturing"
    return out


@router.get("/summary", response_model=SummaryOut, responses={401: PROBLEM, 403: PROBLEM, 422: PROBLEM})
def summary(session: SessionDep, settings: SettingsDep, policy: PolicyDep, filters: FiltersDep, as_of: AsOf = None):
    """Federal pct30/pct90 (headline: finalized; strict: paid only) with the floor/ceiling band and the final
    flag, the state on-time share (all and per regime), and the money: interest due, paid and unpaid,
    penalties owed, interest accruing on open late claims."""
    day = as_of or _today(settings)
    per_regime = queries.summary_counts(session, day, policy, filters)
    total = sum(per_regime.values(), cohort.Counts())
    return {
        "as_of": day, "filters": _filters_out(filters), "federal": _federal_out(total, day, filters, policy),
        "state": vars(cohort.state(total)),
        "state_by_regime": {r: vars(cohort.state(c)) for r, c in sorted(per_regime.items())},
        "money": vars(cohort.money(total)),
    }


@router.get("/providers", response_model=ProvidersOut, responses={422: PROBLEM})
def providers(session: SessionDep, settings: SettingsDep, policy: PolicyDep, filters: FiltersDep,
              as_of: AsOf = None, limit: Annotated[int, Query(ge=1, le=1000)] = 200,
              offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0):
    """One row per billing provider (NPI + TIN): volume, pct30, pct90, median days to pay, open count and
    dollars, oldest open item, contested rate and top contest reasons, interest and penalties."""
    day = as_of or _today(settings)
    rows, total = queries.provider_rows(session, day, policy, filters, limit, offset)
    items = []
    for r in rows:
        st, money = cohort.state(r.counts), cohort.money(r.counts)
        items.append({
            "billing_npi": r.billing_npi, "billing_tin": r.billing_tin, "volume": r.counts.claims,
            "federal": _federal_out(r.counts, day, filters, policy),
            "median_days_to_pay": r.median_days_to_pay, "open_count": r.counts.open,
            "open_amount": money.open_amount, "oldest_open_receipt_date": r.oldest_open_receipt_date,
            "oldest_open_days": (day - r.oldest_open_receipt_date).days if r.oldest_open_receipt_date else None,
            "contested_rate": cohort.percent(r.counts.contested, r.counts.claims),
            "top_contest_reasons": [{"reason": reason, "count": n} for reason, n in r.top_contest_reasons or []],
            "state_timely_pct": st.timely_pct, "interest_due": money.interest_due,
            "interest_unpaid": money.interest_unpaid, "penalties_owed": money.penalties_owed,
            "interest_accruing": money.interest_accruing,
        })
    return {"as_of": day, "filters": _filters_out(filters), "total": total, "items": items}


@router.get("/aging", response_model=AgingOut, responses={422: PROBLEM})
def aging(session: SessionDep, settings: SettingsDep, policy: PolicyDep, filters: FiltersDep, as_of: AsOf = None):
    """Open clean claims by days since their clock start: count and dollars in the reference's buckets
    (0-7 ... >365); 26-30 is flagged breach_imminent."""
    day = as_of or _today(settings)
    buckets = queries.aging(session, day, policy, filters)
    return {"as_of": day, "filters": _filters_out(filters), "buckets": buckets,
            "total_count": sum(b["count"] for b in buckets), "total_amount": sum(b["amount"] for b in buckets)}


@router.get("/at-risk", response_model=AtRiskOut, responses={422: PROBLEM})
def at_risk(session: SessionDep, settings: SettingsDep, policy: PolicyDep, filters: FiltersDep, as_of: AsOf = None,
            limit: Annotated[int, Query(ge=1, le=1000)] = 100):
    """Open work, soonest deadline first: state deadlines (overdue ones too: interest is accruing), federal
    day-30 and day-90 marks, and late-paid claims whose interest has not gone out."""
    day = as_of or _today(settings)
    items, counts = queries.at_risk(session, day, policy, filters, limit)
    return {"as_of": day, "filters": _filters_out(filters), "window_days": policy.at_risk_days,
            "kinds": queries.AT_RISK_KINDS, "counts": {k: counts.get(k, 0) for k in queries.AT_RISK_KINDS},
            "items": items}


@reports_router.get("/rejections", response_model=RejectionsOut, responses={422: PROBLEM})
def rejections(session: SessionDep,
               received_from: Annotated[date | None, Query(description="First UTC day (YYYY-MM-DD).")] = None,
               received_to: Annotated[date | None, Query(description="Last UTC day, inclusive.")] = None,
               period: Annotated[Literal["day", "month"], Query(description="Group by UTC day or month.")] = "day",
               billing_npi: Annotated[str | None, Query(max_length=10)] = None,
               submission_type: Annotated[str | None, Query(max_length=10)] = None):
    """Intake rejections per period, billing provider and error code (counted at intake; no PHI)."""
    if received_from and received_to and received_from > received_to:
        return problem_response(422, "The period is reversed.", [Problem(
            "received_to", "period_reversed", f"received_to {received_to} is before received_from {received_from}.",
            [f"on or after {received_from}"])])
    items = queries.rejections(session, received_from, received_to, period, billing_npi, submission_type)
    return {"period": period, "received_from": received_from, "received_to": received_to, "items": items}


def install(app) -> None:  # noqa: ANN001 - FastAPI
    """Routers, and the problem response for an invalid dashboard filter."""

    async def _filters_invalid(request, exc: FiltersInvalid):  # noqa: ANN001
        return problem_response(422, "The filters have a problem.", [exc.problem])

    app.add_exception_handler(FiltersInvalid, _filters_invalid)
    app.include_router(events_router)  # role per route: finance records events; providers read their own
    app.include_router(router, dependencies=[Depends(Allow("finance", "ops"))])
    app.include_router(reports_router, dependencies=[Depends(Allow("finance", "ops"))])
