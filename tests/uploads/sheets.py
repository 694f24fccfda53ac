"""Spreadsheets for upload tests, written the way a billing clerk's tools write them: one row per service line,
the invoice's provider/member/admin columns repeated on every row."""

import csv
import io
from datetime import date, datetime

from openpyxl import Workbook

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS

LABEL = {e.name: e.label for e in INVOICE_ELEMENTS + LINE_ELEMENTS}
HEADERS = [e.label for e in INVOICE_ELEMENTS + LINE_ELEMENTS]


def _cell(value):
    if isinstance(value, list):
        return " ".join(value)
    return value


def invoice_rows(invoice: dict) -> list[dict]:
    """One {label: value} dict per service line of a JSON-shaped invoice."""
    head = {LABEL[k]: _cell(v) for k, v in invoice.items() if k != "lines"}
    return [{**head, **{LABEL[k]: _cell(v) for k, v in line.items()}} for line in invoice["lines"]]


def csv_bytes(rows: list[dict], headers: list[str] | None = None) -> bytes:
    headers = headers or HEADERS
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if row.get(h) is None else _text(row.get(h)) for h in headers])
    return out.getvalue().encode()


def _text(value) -> str:
    if isinstance(value, date | datetime):
        return value.strftime("%m/%d/%Y")
    return str(value)


def xlsx_bytes(rows: list[dict], headers: list[str] | None = None, title_rows: list[list] = ()) -> bytes:
    headers = headers or HEADERS
    wb = Workbook()
    ws = wb.active
    ws.title = "Invoice Lines"
    for t in title_rows:
        ws.append(t)
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, content: bytes, filename: str, **params):
    kind = "text/csv" if filename.endswith(".csv") else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return client.post("/v1/uploads", files={"file": (filename, content, kind)}, params=params)
