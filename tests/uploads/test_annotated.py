"""GET /v1/uploads/{id}/annotated.xlsx: the provider's rows with a status column and the problems beside them."""

import io
from datetime import datetime

from openpyxl import load_workbook

from factories import cs_invoice, ecm_invoice, variant
from sheets import HEADERS, LABEL, csv_bytes, invoice_rows, upload, xlsx_bytes


def annotated(client, body):
    r = client.get(body["annotated_url"])
    assert r.status_code == 200, r.text
    return load_workbook(io.BytesIO(r.content))


def test_annotated_workbook_has_status_and_problems_beside_each_row_and_error_cells_highlighted(client):
    good = ecm_invoice("ANN-GOOD")
    bad = variant(cs_invoice("ANN-BAD"), member_cin="1234", lines__0__place_of_service="77")
    rows = invoice_rows(good) + invoice_rows(bad)
    for row in rows:
        row["Clerk Notes"] = "batch 7"
    rows[0][LABEL["service_start_date"]] = datetime(2024, 3, 5)
    body = upload(client, xlsx_bytes(rows, HEADERS + ["Clerk Notes"]), "march.xlsx").json()
    wb = annotated(client, body)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    assert header == HEADERS + ["Clerk Notes", "Upload Status", "Upload Problems"]
    status_col, problems_col = len(header) - 1, len(header)

    def cell(row, label):
        return ws.cell(row=row, column=header.index(label) + 1)

    # The provider's own values, on their own rows, in their own columns.
    assert cell(2, LABEL["invoice_number"]).value == "ANN-GOOD"
    assert cell(2, LABEL["service_start_date"]).value == datetime(2024, 3, 5)
    assert cell(4, "Clerk Notes").value == "batch 7"
    assert ws.cell(row=2, column=status_col).value.startswith("accepted (invoice ")
    assert ws.cell(row=3, column=status_col).value.startswith("accepted")
    assert ws.cell(row=4, column=status_col).value == "rejected"

    cin, pos = cell(4, LABEL["member_cin"]), cell(4, LABEL["place_of_service"])
    for bad_cell in (cin, pos):
        assert bad_cell.fill.fgColor.rgb.endswith("FFC7CE")
        assert bad_cell.comment is not None
    assert "8 digits followed by a letter" in cin.comment.text
    assert "'77' is not a recognised code" in pos.comment.text
    assert cell(4, LABEL["member_first_name"]).comment is None
    problems_text = ws.cell(row=4, column=problems_col).value
    assert LABEL["member_cin"] in problems_text and LABEL["place_of_service"] in problems_text
    assert ws.cell(row=2, column=problems_col).value in (None, "") or "Warning" in ws.cell(row=2, column=problems_col).value
    summary = {r[0].value: r[1].value for r in wb["Upload Summary"].iter_rows() if r[0].value}
    assert summary["Accepted"] == 1 and summary["Rejected"] == 1


def test_fixing_the_annotated_file_and_uploading_it_again_stores_only_the_fixed_invoice(client):
    rows = invoice_rows(ecm_invoice("FIX-GOOD")) + invoice_rows(variant(cs_invoice("FIX-BAD"), member_cin="12"))
    first = upload(client, csv_bytes(rows), "clerk.csv").json()
    wb = annotated(client, first)
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    ws.cell(row=4, column=header.index(LABEL["member_cin"]) + 1).value = "98765432B"
    out = io.BytesIO()
    wb.save(out)
    second = upload(client, out.getvalue(), "clerk-checked.xlsx").json()
    assert {i["invoice_number"]: i["status"] for i in second["invoices"]} == {"FIX-GOOD": "already_accepted",
                                                                             "FIX-BAD": "accepted"}
    # Our own status and problems columns are recognised, not reported as unknown columns.
    assert not [p for p in second["problems"] if p["code"] == "unknown_column"]


def test_disagreeing_cells_are_highlighted_on_the_row_that_differs(client):
    rows = invoice_rows(ecm_invoice("ANN-SPLIT"))
    rows.append(dict(rows[0], **{LABEL["service_start_date"]: "03/04/2024", LABEL["service_end_date"]: "03/04/2024"}))
    rows[2][LABEL["member_residential_zip"]] = "95811"
    body = upload(client, csv_bytes(rows), "split.csv").json()
    ws = annotated(client, body).worksheets[0]
    header = [c.value for c in ws[1]]
    zip_col = header.index(LABEL["member_residential_zip"]) + 1
    assert ws.cell(row=4, column=zip_col).comment is not None
    assert ws.cell(row=2, column=zip_col).comment is None
    assert ws.cell(row=4, column=len(header) - 1).value == "rejected"
