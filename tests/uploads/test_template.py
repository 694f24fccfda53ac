"""The template workbook and CSV: DHCS columns, drop-downs from the code table in force, and the round trip
download -> fill -> upload -> accepted."""

import csv
import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import func, select

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS
from app.invoices.models import InvoiceRow
from app.invoices.service import today_for_checks
from factories import cs_invoice, ecm_invoice
from sheets import LABEL, invoice_rows, upload

LABELS = [e.label for e in INVOICE_ELEMENTS + LINE_ELEMENTS]


def workbook(client):
    r = client.get("/v1/uploads/template.xlsx")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    return load_workbook(io.BytesIO(r.content))


def column_of(ws, label: str) -> str:
    for cell in ws[1]:
        if cell.value == label:
            return cell.column_letter
    raise AssertionError(label)


def list_values(wb, formula: str) -> list[str]:
    sheet, cells = formula.lstrip("=").split("!")
    return [c[0].value for c in wb[sheet][cells.replace("$", "")]]


def test_template_has_the_dhcs_columns_a_frozen_header_instructions_and_an_ecm_and_a_cs_example(client, app):
    wb = workbook(client)
    ws = wb["Invoice Lines"]
    assert [c.value for c in ws[1]] == LABELS
    assert ws.freeze_panes == "A2"
    assert "Instructions" in wb.sheetnames
    instructions = " ".join(str(c.value) for row in wb["Instructions"].iter_rows() for c in row if c.value)
    assert "MM/DD/YYYY" in instructions and "EXAMPLE" in instructions
    code = column_of(ws, LABEL["procedure_code"])
    table = app.state.code_tables.in_force(today_for_checks())
    programs = {table.rows_for(ws[f"{code}{row}"].value)[0].program for row in (2, 3)}
    assert programs == {"ECM", "CS"}
    assert wb["Lists"].sheet_state == "hidden"


def test_template_drop_downs_come_from_the_code_table_in_force_and_the_code_lists(client, app):
    wb = workbook(client)
    ws = wb["Invoice Lines"]
    by_column = {}
    for dv in ws.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_column[rng.coord.split(":")[0].rstrip("0123456789")] = dv
    table = app.state.code_tables.in_force(today_for_checks())

    def values(label):
        dv = by_column[column_of(ws, label)]
        assert dv.type == "list"
        return list_values(wb, dv.formula1)

    assert set(values(LABEL["procedure_code"])) == {r.hcpcs for r in table.rows}
    assert set(values(LABEL["procedure_code_modifiers"])) == {" ".join(r.modifiers) for r in table.rows}
    assert set(values(LABEL["place_of_service"])) == set(app.state.places_of_service)
    for label in (LABEL["billing_provider_state"], LABEL["rendering_provider_state"],
                  LABEL["member_residential_state"]):
        assert set(values(label)) == set(app.state.us_states)
    assert values(LABEL["member_homelessness_indicator"]) == ["Y", "N"]


def test_template_formats_dates_money_and_keeps_codes_as_text(client):
    ws = workbook(client)["Invoice Lines"]
    for label in (LABEL["service_start_date"], LABEL["member_date_of_birth"], LABEL["invoice_date"]):
        assert ws.column_dimensions[column_of(ws, label)].number_format == "mm/dd/yyyy"
        assert ws[f"{column_of(ws, label)}2"].number_format == "mm/dd/yyyy"
    for label in (LABEL["invoice_amount"], LABEL["service_unit_cost"], LABEL["service_charge_amount"]):
        assert "0.00" in ws.column_dimensions[column_of(ws, label)].number_format
    for label in (LABEL["place_of_service"], LABEL["member_residential_zip"], LABEL["billing_provider_npi"]):
        assert ws.column_dimensions[column_of(ws, label)].number_format == "@"


def count_invoices(app) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(InvoiceRow))


def test_round_trip_download_fill_upload_accepted(client, app):
    wb = workbook(client)
    ws = wb["Invoice Lines"]
    header = [c.value for c in ws[1]]
    # As a clerk does: type the invoices below the examples, dates as Excel dates, money as numbers.
    for row in invoice_rows(ecm_invoice("TPL-1")) + invoice_rows(cs_invoice("TPL-2")):
        values = []
        for label in header:
            value = row.get(label)
            if label in (LABEL["member_date_of_birth"], LABEL["invoice_date"], LABEL["service_start_date"],
                         LABEL["service_end_date"]):
                value = datetime.strptime(value, "%m/%d/%Y")
            elif label in (LABEL["invoice_amount"], LABEL["service_unit_cost"], LABEL["service_charge_amount"]):
                value = float(value)
            values.append(value)
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    r = upload(client, out.getvalue(), "filled.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sheet"] == "Invoice Lines"
    statuses = {i["invoice_number"]: i["status"] for i in body["invoices"]}
    assert statuses == {"EXAMPLE-ECM-1": "skipped", "EXAMPLE-CS-1": "skipped", "TPL-1": "accepted",
                        "TPL-2": "accepted"}
    assert [p for p in body["problems"] if p["severity"] == "error"] == []
    assert count_invoices(app) == 2


def test_the_template_examples_themselves_pass_every_check(client):
    """The examples must teach the right format: with a real invoice number they are accepted."""
    text = client.get("/v1/uploads/template.csv").content.decode("utf-8-sig")
    real = text.replace("EXAMPLE-ECM-1", "REAL-ECM-1").replace("EXAMPLE-CS-1", "REAL-CS-1")
    body = upload(client, real.encode(), "examples.csv").json()
    assert body["counts"]["accepted"] == 2, body["problems"]


def test_csv_template_round_trip(client, app):
    r = client.get("/v1/uploads/template.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == LABELS and len(rows) == 3
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(rows)
    for row in invoice_rows(cs_invoice("CSV-TPL")):
        writer.writerow([row.get(label, "") for label in rows[0]])
    body = upload(client, out.getvalue().encode(), "filled.csv").json()
    assert {i["invoice_number"]: i["status"] for i in body["invoices"]}["CSV-TPL"] == "accepted"
    assert count_invoices(app) == 1
