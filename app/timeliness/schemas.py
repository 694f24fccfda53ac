"""Request and response bodies of the timeliness endpoints. Money is a decimal string ("4.62"), dates are
YYYY-MM-DD, percentages are numbers from 0 to 100 with two decimals."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from app.invoices.schemas import Number

Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]


class EventIn(BaseModel):
    """One adjudication event, dated by the plan's own document (payment, notice), not by when it is keyed in."""

    model_config = ConfigDict(extra="forbid")
    type: str | None = Field(default=None, description="contested | information_received | paid | denied | "
                                                       "interest_paid | decision_reversed")
    date: str | None = Field(default=None, description="YYYY-MM-DD: EFT/check mailing date for a payment, the "
                                                       "notice's postmark or transmission date for a contest or "
                                                       "denial, the arrival date for information.")
    reason: str | None = Field(default=None, description="contested: missing_info | fraud_investigation | "
                                                         "med_necessity_review | other. denied, decision_reversed: "
                                                         "free text (no PHI).")
    information_requested: list[Any] | str | None = Field(
        default=None, description="contested: the specific information the plan needs (required for missing_info).")
    amount: Number = Field(default=None, description="paid: the amount paid; interest_paid: the interest paid.")
    interest_amount: Number = Field(default=None, description="paid: interest sent with the payment.")
    interest_date: str | None = Field(default=None, description="paid: when that interest went out (default: "
                                                                "the payment date).")
    exceeds_charge_acknowledged: Any = Field(
        default=None, description="paid: true to record a payment above the invoice's charge.")


class EventOut(BaseModel):
    sequence: int = Field(description="1, 2, ... in the order events were appended.")
    type: str
    date: date
    amount: Money | None = None
    interest_amount: Money | None = None
    interest_date: date | None = None
    reason: str | None = None
    information_requested: list[str] | None = None
    exceeds_charge_acknowledged: bool = False
    recorded_at: datetime
    recorded_by: str = Field(description="Key id of the caller who recorded it.")


class ReceiptOut(BaseModel):
    receipt_date: date
    received_at: datetime = Field(description="UTC instant the invoice reached this service.")
    dated_by: str = Field(description="clock (the day it arrived here) | caller (a trusted caller's received_date)")
    set_by: str | None = Field(description="Key id of the caller who stated the receipt date.")


class DeadlinesOut(BaseModel):
    notice: date = Field(description="State: pay, or contest/deny in writing, by this day (S1: 30 working days on "
                                     "the CalHR calendar; S2: 30 calendar days).")
    payment: date | None = Field(description="State payment deadline in force (notice deadline, or the "
                                             "reconsideration deadline after a timely contest); interest runs "
                                             "from the day after. Null while a contest waits for information.")
    reconsideration: date | None
    federal_clock_start: date | None
    federal_30: date | None
    federal_90: date | None
    interest_due_by: date | None = Field(description="Interest paid after this day is not 'automatic' (penalty).")


class StatusOut(BaseModel):
    decision: str | None = Field(description="paid | denied in force on as_of; null while open.")
    decision_date: date | None
    days_to_decision: int | None = Field(description="From the federal clock start.")
    within_30: bool
    within_90: bool
    in_federal_test: bool
    state_outcome: str = Field(description="timely | late | pending")
    days_left: int | None = Field(description="Open claims: days to the state payment deadline (negative: overdue).")


class OwedOut(BaseModel):
    interest_due: Money
    interest_paid: Money
    interest_unpaid: Money
    penalty: Money
    penalty_status: str = Field(description="none | pending | avoided | owed")
    interest_accrued: Money = Field(description="Open claims past their deadline: interest so far on the charge.")
    interest_accruing_per_day: Money


class TimelineOut(BaseModel):
    invoice_id: str
    status: str
    as_of: date
    regime: str = Field(description="S1 (received to 2025-12-31, working days) | S2 (from 2026-01-01)")
    clean: bool
    unclean_reason: str | None
    excluded_reason: str | None = Field(description="voided | replaced: left out of the timeliness figures.")
    charge_amount: Money
    receipt: ReceiptOut
    events: list[EventOut]
    deadlines: DeadlinesOut
    current: StatusOut
    owed: OwedOut


class EventAccepted(BaseModel):
    event: EventOut
    timeline: TimelineOut


class BandOut(BaseModel):
    floor: float | None = Field(description="Open claims counted as failures.")
    ceiling: float | None = Field(description="Open claims still inside the window counted as successes.")
    final: bool = Field(description="The cohort has matured: floor = ceiling, the figure can no longer move.")
    final_on: date | None


class FederalOut(BaseModel):
    cohort_by: str
    claims: int
    open: int
    pct30: float | None = Field(description="Headline: finalized (paid or denied) within 30 days, % of clean claims.")
    pct90: float | None
    pct30_paid_only: float | None = Field(description="Strict: only payments count.")
    pct90_paid_only: float | None
    band30: BandOut
    band90: BandOut
    final: bool
    maturity: str = Field(description="final | maturing")
    target30: float
    target90: float
    meets30: bool | None = Field(description="Null until the 30-day figure is final.")
    meets90: bool | None


class StateOut(BaseModel):
    claims: int
    timely: int
    late: int
    pending: int
    timely_pct: float | None = Field(description="Required action (payment, or timely contest/denial notice) by "
                                                 "its deadline, % of all claims; pending ones count as not timely.")
    timely_pct_ceiling: float | None
    notice_timely_pct: float | None
    interest_accuracy_pct: float | None = Field(description="Late-paid claims whose interest went out in full "
                                                            "within the automatic window.")


class MoneyOut(BaseModel):
    interest_due: Money
    interest_paid: Money
    interest_unpaid: Money
    penalties_owed: Money
    interest_accruing: Money
    interest_accruing_per_day: Money
    open_amount: Money


class FiltersOut(BaseModel):
    received_from: date | None
    received_to: date | None
    program: str | None
    billing_npi: str | None
    billing_tin: str | None
    submission_type: str | None
    regime: str | None


class SummaryOut(BaseModel):
    as_of: date
    filters: FiltersOut
    federal: FederalOut
    state: StateOut
    state_by_regime: dict[str, StateOut]
    money: MoneyOut


class ProviderOut(BaseModel):
    billing_npi: str
    billing_tin: str
    volume: int = Field(description="Claims received in the period.")
    federal: FederalOut
    median_days_to_pay: float | None = Field(description="Receipt to payment, paid claims.")
    open_count: int
    open_amount: Money
    oldest_open_receipt_date: date | None
    oldest_open_days: int | None
    contested_rate: float | None
    top_contest_reasons: list[dict[str, Any]]
    state_timely_pct: float | None
    interest_due: Money
    interest_unpaid: Money
    penalties_owed: Money
    interest_accruing: Money


class ProvidersOut(BaseModel):
    as_of: date
    filters: FiltersOut
    total: int
    items: list[ProviderOut]


class AgingBucketOut(BaseModel):
    bucket: str
    min_days: int
    max_days: int | None
    count: int
    amount: Money
    breach_imminent: bool


class AgingOut(BaseModel):
    as_of: date
    filters: FiltersOut
    buckets: list[AgingBucketOut]
    total_count: int
    total_amount: Money


class AtRiskItemOut(BaseModel):
    invoice_id: str
    kind: str
    deadline: date
    days_left: int
    overdue: bool
    receipt_date: date
    billing_npi: str
    programs: list[str]
    regime: str
    submission_type: str
    amount: Money
    interest_accrued: Money | None
    interest_unpaid: Money | None


class AtRiskOut(BaseModel):
    as_of: date
    filters: FiltersOut
    window_days: int
    kinds: dict[str, str]
    counts: dict[str, int]
    items: list[AtRiskItemOut]


class RejectionRowOut(BaseModel):
    period: str
    billing_npi: str | None
    code: str
    count: int


class RejectionsOut(BaseModel):
    period: str
    received_from: date | None
    received_to: date | None
    items: list[RejectionRowOut]
