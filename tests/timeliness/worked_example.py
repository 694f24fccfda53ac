"""The reference's worked example (§8): ten Q1 2026 claims, as of 2026-07-15. Plain data, shared by the
rules tests and the API tests. Amounts the example does not give (C4's charge) are our own choice."""

from datetime import date
from decimal import Decimal

AS_OF = date(2026, 7, 15)
D = date.fromisoformat

# id: (provider, type, received, charge, [(event type, date, fields...)])
CLAIMS = {
    "C1": ("ECM-A", "claim", D("2026-01-05"), Decimal("1100.00"), [("paid", D("2026-01-28"), {"amount": "1100.00"})]),
    "C2": ("ECM-A", "claim", D("2026-01-12"), Decimal("1250.00"),
           [("paid", D("2026-02-20"), {"amount": "1250.00", "interest_amount": "4.62"})]),
    "C3": ("CS-B", "invoice", D("2026-01-20"), Decimal("640.00"), [("paid", D("2026-02-18"), {"amount": "640.00"})]),
    "C4": ("CS-B", "invoice", D("2026-02-02"), Decimal("300.00"),
           [("denied", D("2026-02-25"), {"reason": "duplicate service"})]),
    "C5": ("ECM-A", "claim", D("2026-02-16"), Decimal("300.00"), [
        ("contested", D("2026-03-03"), {"reason": "missing_info", "information_requested": ["signed care plan"]}),
        ("information_received", D("2026-03-20"), {}),
        ("paid", D("2026-04-10"), {"amount": "300.00"}),
    ]),
    # interest not sent within 5 working days of the 06-15 payment: sent late, on 07-01
    "C6": ("CS-B", "invoice", D("2026-03-02"), Decimal("480.00"), [
        ("paid", D("2026-06-15"), {"amount": "480.00"}),
        ("interest_paid", D("2026-07-01"), {"amount": "14.79"}),
    ]),
    "C7": ("ECM-C", "claim", D("2026-03-10"), Decimal("725.00"), [("paid", D("2026-03-30"), {"amount": "725.00"})]),
    "C8": ("CS-B", "invoice", D("2026-03-25"), Decimal("900.00"), []),
    "C9": ("ECM-C", "claim", D("2026-03-27"), Decimal("410.00"), [("paid", D("2026-04-24"), {"amount": "410.00"})]),
    # interest under $2 may be batched: sent 06-05, before the 06-10 limit
    "C10": ("ECM-A", "claim", D("2026-03-31"), Decimal("820.00"), [
        ("paid", D("2026-05-05"), {"amount": "820.00"}),
        ("interest_paid", D("2026-06-05"), {"amount": "1.68"}),
    ]),
}

EXPECTED_INTEREST = {"C2": Decimal("4.62"), "C6": Decimal("14.79"), "C10": Decimal("1.68")}
EXPECTED_STATE_DEADLINES = {
    "C1": D("2026-02-04"), "C2": D("2026-02-11"), "C3": D("2026-02-19"), "C4": D("2026-03-04"),
    "C5": D("2026-04-19"), "C6": D("2026-04-01"), "C7": D("2026-04-09"), "C8": D("2026-04-24"),
    "C9": D("2026-04-26"), "C10": D("2026-04-30"),
}
