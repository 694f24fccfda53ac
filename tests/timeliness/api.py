"""Posting invoices and adjudication events through the API, for the timeliness tests."""

from datetime import date, timedelta
from decimal import Decimal

from factories import cs_invoice, ecm_invoice, us_date

PROVIDERS = {  # name: (billing NPI, TIN)
    "ECM-A": ("1234567802", "111111111"),
    "CS-B": ("1234567810", "222222222"),
    "ECM-C": ("1234567828", "333333333"),
}
_counter = iter(range(1, 10**6))


def invoice_body(provider: str, received: date | None, amount: Decimal | str, program: str | None = None) -> dict:
    """A one-line invoice for ``amount``, its service three days before receipt, a fresh member and number."""
    npi, tin = PROVIDERS[provider]
    n = next(_counter)
    program = program or ("CS" if provider.startswith("CS") else "ECM")
    service_day = (received or date.today()) - timedelta(days=3)
    body = (cs_invoice if program == "CS" else ecm_invoice)(f"T{n:06d}", service_day, cin=f"9{n:07d}A")
    line = body["lines"][0]
    line.update({"service_start_date": us_date(service_day), "service_end_date": us_date(service_day),
                 "service_unit_count": 1, "service_unit_cost": str(amount), "service_charge_amount": str(amount)})
    body["lines"] = [line]
    body.update({"billing_provider_npi": npi, "billing_provider_tin": tin, "invoice_amount": str(amount),
                 "invoice_date": us_date(service_day)})
    if received is not None:
        body["received_date"] = received.isoformat()
    return body


def post_invoice(client, provider: str, received: date | None, amount, program: str | None = None) -> str:
    r = client.post("/v1/invoices", json=invoice_body(provider, received, amount, program))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def post_event(client, invoice_id: str, kind: str, on: date, headers: dict | None = None, **fields):
    body = {"type": kind, "date": on.isoformat(), **fields}
    return client.post(f"/v1/invoices/{invoice_id}/events", json=body, headers=headers or {})


def record(client, invoice_id: str, kind: str, on: date, **fields) -> dict:
    r = post_event(client, invoice_id, kind, on, **fields)
    assert r.status_code == 201, r.text
    return r.json()


def post_worked_example(client) -> dict[str, str]:
    from timeliness.worked_example import CLAIMS

    ids = {}
    for cid, (provider, _type, received, charge, events) in CLAIMS.items():
        ids[cid] = post_invoice(client, provider, received, charge)
        for kind, on, fields in events:
            record(client, ids[cid], kind, on, **fields)
    return ids
