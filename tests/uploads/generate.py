"""Large generated upload files: many valid invoices, each with its own member and one line per service day."""

import csv
import io
from datetime import date, timedelta

from factories import ecm_invoice
from sheets import HEADERS, LABEL, invoice_rows


def large_rows(lines: int, lines_per_invoice: int, first_day: date = date(2024, 1, 1)):
    """Yield {label: value} rows: `lines` service lines in invoices of `lines_per_invoice` lines."""
    template = invoice_rows(ecm_invoice())[0]
    invoices = -(-lines // lines_per_invoice)
    for k in range(invoices):
        n = min(lines_per_invoice, lines - k * lines_per_invoice)
        head = dict(template)
        head[LABEL["invoice_number"]] = f"BIG{k:06d}"
        head[LABEL["member_cin"]] = f"{10000000 + k:08d}A"
        head[LABEL["invoice_amount"]] = f"{100 * n}.00"
        head[LABEL["invoice_date"]] = (first_day + timedelta(days=n)).strftime("%m/%d/%Y")
        for i in range(n):
            day = (first_day + timedelta(days=i)).strftime("%m/%d/%Y")
            yield {**head, LABEL["procedure_code_modifiers"]: "U1", LABEL["service_start_date"]: day,
                   LABEL["service_end_date"]: day, LABEL["service_unit_cost"]: "100.00",
                   LABEL["service_charge_amount"]: "100.00", LABEL["member_diagnosis_codes"]: "F32.9",
                   LABEL["place_of_service"]: "11", LABEL["service_unit_count"]: "1"}


def large_csv(lines: int, lines_per_invoice: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for row in large_rows(lines, lines_per_invoice):
        writer.writerow([row.get(h) or "" for h in HEADERS])
    return out.getvalue().encode()


def large_xlsx(lines: int, lines_per_invoice: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Invoice Lines")
    ws.append(HEADERS)
    for row in large_rows(lines, lines_per_invoice):
        ws.append([row.get(h) for h in HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
