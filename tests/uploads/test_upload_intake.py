"""POST /v1/uploads: every invoice in a file through the JSON intake's checks, every problem on its row and column."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.auth.caller import Caller, current_caller
from app.invoices.models import IntakeRejectionRow, InvoiceRow
from app.uploads.models import UploadRow
from factories import cs_invoice, ecm_invoice, variant
from sheets import HEADERS, LABEL, csv_bytes, invoice_rows, upload, xlsx_bytes


def count(app, model) -> int:
    with app.state.database.sessionmaker() as s:
        return s.scalar(select(func.count()).select_from(model))


def problems_at(body: dict) -> dict[tuple[int, str | None, str], dict]:
    return {(p["row"], p["column"], p["code"]): p for p in body["problems"]}


def three_line_ecm(number: str, cin: str = "91234567A") -> dict:
    inv = ecm_invoice(number, cin=cin)
    third = dict(inv["lines"][0], service_start_date="03/06/2024", service_end_date="03/06/2024")
    inv["lines"].append(third)
    inv["invoice_amount"] = "275.25"
    return inv


def test_good_invoices_are_stored_and_every_error_is_on_its_row_and_column(client, app):
    good_ecm = ecm_invoice("GOOD1")  # rows 2-3
    good_cs = cs_invoice("GOOD2")  # row 4
    bad_field = variant(ecm_invoice("BADCIN", cin="90000001A"), member_cin="1234")  # rows 5-6
    bad_line = variant(ecm_invoice("BADMOD", cin="90000002A"), lines__1__procedure_code_modifiers=["GQ"])  # 7-8
    disagree = three_line_ecm("SPLIT", cin="90000003A")  # rows 9-11; row 10 names another member
    bad_amount = variant(cs_invoice("AMOUNT", cin="90000004A"), invoice_amount="999.00")  # row 12
    dup = ecm_invoice("DUP", cin="90000005A")  # rows 13-14: the same line twice
    dup["lines"][1] = dict(dup["lines"][0])
    dup["invoice_amount"] = "200.00"
    blank_start = variant(cs_invoice("NOSTART", cin="90000006A"), lines__0__service_start_date="")  # row 15
    bad_date = variant(cs_invoice("BADDATE", cin="90000007A"), lines__0__service_end_date="13/45/2024")  # row 16
    no_number = variant(cs_invoice("X", cin="90000008A"), invoice_number="")  # row 17

    rows = []
    for inv in (good_ecm, good_cs, bad_field, bad_line, disagree, bad_amount, dup, blank_start, bad_date, no_number):
        rows += invoice_rows(inv)
    rows[8][LABEL["member_last_name"]] = "Smith"  # row 10: rows[0] is row 2, under the header

    r = upload(client, csv_bytes(rows), "mixed.csv")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "completed"
    assert body["counts"]["rows"] == 16
    assert body["counts"]["invoices"] == 10
    assert body["counts"]["accepted"] == 2
    assert body["counts"]["rejected"] == 8
    assert count(app, InvoiceRow) == 2
    assert {i["invoice_number"]: i["status"] for i in body["invoices"]}["GOOD1"] == "accepted"

    found = problems_at(body)
    expected = [
        (5, LABEL["member_cin"], "invalid_format", "member_cin"),
        (8, LABEL["procedure_code_modifiers"], "modifier_combination_not_allowed", "lines[1].procedure_code_modifiers"),
        (10, LABEL["member_last_name"], "inconsistent_invoice_value", "member_last_name"),
        (12, LABEL["invoice_amount"], "amount_mismatch", "invoice_amount"),
        (14, LABEL["procedure_code"], "duplicate_line", "lines[1]"),
        (15, LABEL["service_start_date"], "required", "lines[0].service_start_date"),
        (16, LABEL["service_end_date"], "invalid_date", "lines[0].service_end_date"),
        (17, LABEL["invoice_number"], "required", "invoice_number"),
    ]
    for row, column, code, field in expected:
        problem = found.get((row, column, code))
        assert problem is not None, (row, column, code, sorted(found))
        assert problem["field"] == field
        assert problem["loc"] == f'row {row}, column "{column}"'
        assert problem["severity"] == "error" and problem["message"]
    # The majority of the invoice's rows agree, so only the odd cell is wrong; the others are not flagged.
    assert (9, LABEL["member_last_name"], "inconsistent_invoice_value") not in found
    assert (11, LABEL["member_last_name"], "inconsistent_invoice_value") not in found
    assert "Smith" in found[(10, LABEL["member_last_name"], "inconsistent_invoice_value")]["message"]
    # Every rejected invoice has at least one error on one of its own rows.
    for inv in body["invoices"]:
        if inv["status"] == "rejected":
            assert any(p["row"] in inv["rows"] and p["severity"] == "error" for p in body["problems"]), inv
    assert client.get(f"/v1/uploads/{body['id']}").json() == body


def test_two_rows_disagreeing_with_no_majority_are_both_flagged(client):
    inv = ecm_invoice("TIE")
    rows = invoice_rows(inv)
    rows[1][LABEL["member_date_of_birth"]] = "02/15/1980"
    body = upload(client, csv_bytes(rows), "tie.csv").json()
    flagged = {p["row"] for p in body["problems"] if p["code"] == "inconsistent_invoice_value"}
    assert flagged == {2, 3}
    assert body["invoices"][0]["status"] == "rejected"


def test_rejections_from_uploads_are_counted_like_api_rejections(client, app):
    upload(client, csv_bytes(invoice_rows(variant(ecm_invoice(), member_cin="BAD")) ), "r.csv")
    with app.state.database.sessionmaker() as s:
        rows = s.execute(select(IntakeRejectionRow.source, IntakeRejectionRow.code)).all()
    assert ("upload", "invalid_format") in rows


def test_reordered_extra_and_loosely_spelled_columns_are_matched(client, app):
    inv = ecm_invoice("REORDER")
    rows = invoice_rows(inv)
    spelled = {h: h for h in HEADERS}
    spelled[LABEL["member_cin"]] = "  member   CIN "
    spelled[LABEL["procedure_code"]] = "PROCEDURE_CODE"
    spelled[LABEL["place_of_service"]] = "place of service"
    spelled[LABEL["member_date_of_birth"]] = "Member Date of Birth (MM/DD/YYYY)"
    headers = list(reversed(HEADERS)) + ["Clerk Notes"]
    renamed = [{spelled[h]: v for h, v in row.items()} | {"Clerk Notes": "checked by AB"} for row in rows]
    r = upload(client, xlsx_bytes(renamed, [spelled.get(h, h) for h in headers]), "reordered.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["counts"]["accepted"] == 1, body["problems"]
    unknown = [p for p in body["problems"] if p["code"] == "unknown_column"]
    assert [(p["row"], p["column"], p["severity"]) for p in unknown] == [(1, "Clerk Notes", "warning")]
    fields = {c["column"]: c["field"] for c in body["columns"]}
    assert fields["member   CIN".replace("   ", " ")] == "member_cin"
    assert fields["PROCEDURE_CODE"] == "procedure_code"
    assert fields["Clerk Notes"] is None


def test_a_title_row_above_the_header_is_skipped_and_rows_keep_their_sheet_numbers(client):
    rows = invoice_rows(variant(cs_invoice("TITLED"), member_cin="12"))
    body = upload(client, xlsx_bytes(rows, title_rows=[["Sunny Days invoices March"], []]), "t.xlsx").json()
    assert body["header_row"] == 3
    assert [p["row"] for p in body["problems"] if p["code"] == "invalid_format"] == [4]


@pytest.mark.parametrize("missing", ["member_cin", "procedure_code"])
def test_missing_required_columns_are_refused_with_their_names_and_nothing_is_stored(client, app, missing):
    headers = [h for h in HEADERS if h != LABEL[missing]]
    r = upload(client, csv_bytes(invoice_rows(ecm_invoice()), headers), "missing.csv")
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()["problems"][0]
    assert problem["code"] == "missing_column"
    assert LABEL[missing] in problem["message"] and LABEL[missing] in problem["allowed"]
    assert count(app, UploadRow) == 0 and count(app, InvoiceRow) == 0


def test_two_columns_for_one_field_are_refused_rather_than_guessed(client, app):
    headers = HEADERS + ["CIN"]
    rows = [dict(r, CIN="99999999Z") for r in invoice_rows(ecm_invoice())]
    r = upload(client, csv_bytes(rows, headers), "twice.csv")
    assert r.status_code == 422
    assert r.json()["problems"][0]["code"] == "repeated_column"
    assert count(app, UploadRow) == 0


@pytest.mark.parametrize(("name", "content", "status", "code"), [
    ("invoice.pdf", b"%PDF-1.4 something", 415, "unsupported_file_type"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, 415, "unsupported_file_type"),
    ("empty.csv", b"", 422, "empty_file"),
    ("utf16.csv", "Billing Provider NPI,Invoice Number,Procedure Code\n".encode("utf-16"), 415,
     "unsupported_file_type"),
    ("blank.csv", b"\n\n  \n", 422, "empty_file"),
    ("noheader.csv", b"a,b,c\n1,2,3\n", 422, "header_row_not_found"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", 422, "unreadable_workbook"),
])
def test_files_that_cannot_be_read_get_problem_json_and_nothing_is_stored(client, app, name, content, status, code):
    r = upload(client, content, name)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["problems"][0]["code"] == code
    assert count(app, UploadRow) == 0


def test_no_file_part_is_a_422_naming_the_field(client):
    r = client.post("/v1/uploads", data={"mode": "per_invoice"})
    assert r.status_code == 422
    assert r.json()["problems"][0]["loc"] == "file"


def test_excel_dates_text_dates_money_text_and_messy_codes_store_the_same_invoice(client):
    """The same invoice three ways: real Excel dates and numbers; text MM/DD/YYYY and "$1,234.50" text;
    codes with stray spaces and lower case. All three normalise to one stored document."""
    base = ecm_invoice("NORM1")
    excel_rows = invoice_rows(base)
    for row in excel_rows:
        for field in ("member_date_of_birth", "invoice_date", "service_start_date", "service_end_date"):
            row[LABEL[field]] = datetime.strptime(row[LABEL[field]], "%m/%d/%Y")
        for field in ("invoice_amount", "service_unit_cost", "service_charge_amount"):
            row[LABEL[field]] = float(row[LABEL[field]])
    text_rows = invoice_rows(variant(base, invoice_number="NORM2", invoice_amount="$175.25"))
    messy = invoice_rows(variant(base, invoice_number="NORM3", member_cin=" 91234567a ",
                                 billing_provider_state="ca", member_homelessness_indicator="n"))
    messy[0][LABEL["procedure_code"]] = "  g9008 "
    messy[1][LABEL["procedure_code_modifiers"]] = " u1,  gq "
    messy[1][LABEL["member_diagnosis_codes"]] = "f32.9; e119"
    messy[0][LABEL["service_unit_cost"]] = "$100"

    ids = []
    for n, (rows, name) in enumerate([(excel_rows, "a.xlsx"), (text_rows, "b.xlsx"), (messy, "c.csv")]):
        maker = xlsx_bytes if name.endswith("xlsx") else csv_bytes
        body = upload(client, maker(rows), name).json()
        assert body["counts"]["accepted"] == 1, body["problems"]
        ids.append(body["invoices"][0]["invoice_id"])
        # Different invoice numbers would also be duplicate lines: store each, then void it for the next.
        client.post(f"/v1/invoices/{ids[-1]}/void")
    docs = [client.get(f"/v1/invoices/{i}").json() for i in ids]
    strip = [{k: v for k, v in d["invoice"].items() if k != "invoice_number"} for d in docs]
    assert strip[0] == strip[1] == strip[2]
    assert strip[0]["member_date_of_birth"] == "1980-01-15" and strip[0]["invoice_amount"] == "175.25"
    lines = [[{k: v for k, v in ln.items() if k not in ("line_item_control_number",)} for ln in d["lines"]]
             for d in docs]
    assert lines[0] == lines[1] == lines[2]
    assert lines[2][1]["procedure_code_modifiers"] == ["U1", "GQ"]
    assert lines[2][1]["member_diagnosis_codes"] == ["F32.9", "E11.9"]


def test_ambiguous_or_missing_values_are_reported_not_guessed(client, app):
    rows = invoice_rows(variant(cs_invoice("AMBIG"), member_date_of_birth="12/30/75",
                                lines__0__service_unit_cost="1,5", member_homelessness_indicator=""))
    body = upload(client, csv_bytes(rows), "ambiguous.csv").json()
    found = problems_at(body)
    assert (2, LABEL["member_date_of_birth"], "invalid_date") in found
    assert (2, LABEL["service_unit_cost"], "invalid_number") in found
    assert (2, LABEL["member_homelessness_indicator"], "required") in found
    assert count(app, InvoiceRow) == 0


def test_an_excel_date_serial_number_typed_as_a_number_is_not_taken_for_a_date(client):
    rows = invoice_rows(cs_invoice("SERIAL"))
    rows[0][LABEL["service_start_date"]] = 45352  # 03/01/2024 as a serial, the cell's date format lost
    body = upload(client, xlsx_bytes(rows), "serial.xlsx").json()
    assert (2, LABEL["service_start_date"], "invalid_date") in problems_at(body)


def test_reuploading_the_corrected_file_does_not_duplicate_accepted_invoices(client, app):
    good, bad = ecm_invoice("KEEP1"), variant(cs_invoice("FIXME"), member_cin="12")
    first = upload(client, csv_bytes(invoice_rows(good) + invoice_rows(bad)), "first.csv").json()
    assert first["counts"]["accepted"] == 1 and first["counts"]["rejected"] == 1
    fixed = csv_bytes(invoice_rows(good) + invoice_rows(cs_invoice("FIXME")))
    second = upload(client, fixed, "second.csv").json()
    statuses = {i["invoice_number"]: i["status"] for i in second["invoices"]}
    assert statuses == {"KEEP1": "already_accepted", "FIXME": "accepted"}
    assert second["counts"]["already_accepted"] == 1 and second["counts"]["accepted"] == 1
    assert second["invoices"][0]["invoice_id"] == first["invoices"][0]["invoice_id"]
    assert count(app, InvoiceRow) == 2
    third = upload(client, fixed, "third.csv").json()
    assert third["counts"]["already_accepted"] == 2 and count(app, InvoiceRow) == 2


def test_a_changed_invoice_under_an_accepted_number_is_a_located_conflict(client, app):
    upload(client, csv_bytes(invoice_rows(cs_invoice("TAKEN"))), "one.csv")
    changed = invoice_rows(variant(cs_invoice("TAKEN"), payer_name="Another Plan"))
    body = upload(client, csv_bytes(changed), "two.csv").json()
    problem = problems_at(body)[(2, LABEL["invoice_number"], "invoice_number_taken")]
    assert "/replace" in problem["message"]
    assert count(app, InvoiceRow) == 1


def test_all_or_nothing_stores_nothing_when_one_invoice_fails(client, app):
    rows = invoice_rows(ecm_invoice("AON1")) + invoice_rows(variant(cs_invoice("AON2"), member_cin="1"))
    body = upload(client, csv_bytes(rows), "aon.csv", mode="all_or_nothing").json()
    assert body["mode"] == "all_or_nothing"
    assert {i["invoice_number"]: i["status"] for i in body["invoices"]} == {"AON1": "not_stored", "AON2": "rejected"}
    assert body["counts"]["not_stored"] == 1 and body["counts"]["accepted"] == 0
    assert count(app, InvoiceRow) == 0


def test_all_or_nothing_rolls_back_when_storing_finds_a_duplicate_across_invoices_of_the_file(client, app):
    """Each invoice alone is valid; the second repeats a line of the first, which only storing reveals."""
    first = ecm_invoice("AOND1")
    second = variant(ecm_invoice("AOND2"), invoice_amount="100.00")
    second["lines"] = [second["lines"][0]]
    body = upload(client, csv_bytes(invoice_rows(first) + invoice_rows(second)), "d.csv",
                  mode="all_or_nothing").json()
    assert {i["invoice_number"]: i["status"] for i in body["invoices"]} == {"AOND1": "not_stored",
                                                                            "AOND2": "rejected"}
    assert (4, LABEL["procedure_code"], "duplicate_line") in problems_at(body)
    assert count(app, InvoiceRow) == 0


def test_all_or_nothing_stores_every_invoice_when_all_are_valid(client, app):
    rows = invoice_rows(ecm_invoice("ALL1")) + invoice_rows(cs_invoice("ALL2"))
    r = client.post("/v1/uploads", files={"file": ("all.csv", csv_bytes(rows), "text/csv")},
                    data={"mode": "all_or_nothing"})
    body = r.json()
    assert body["mode"] == "all_or_nothing" and body["counts"]["accepted"] == 2
    assert count(app, InvoiceRow) == 2


def test_an_unknown_mode_is_a_422(client):
    r = upload(client, csv_bytes(invoice_rows(ecm_invoice())), "m.csv", mode="some")
    assert r.status_code == 422


def test_example_rows_of_the_template_are_never_submitted(client, app):
    rows = invoice_rows(variant(ecm_invoice(), invoice_number="EXAMPLE-ECM-1")) + invoice_rows(cs_invoice("REAL"))
    body = upload(client, csv_bytes(rows), "ex.csv").json()
    assert [p["row"] for p in body["problems"] if p["code"] == "example_row"] == [2, 3]
    assert {i["invoice_number"]: i["status"] for i in body["invoices"]} == {"EXAMPLE-ECM-1": "skipped",
                                                                            "REAL": "accepted"}
    assert count(app, InvoiceRow) == 1


def test_uploads_record_the_caller_and_a_provider_key_sees_only_its_own(client, app):
    callers = {"who": Caller(key_id="key-a", role="provider", npis=frozenset({"1999999992"}))}
    app.dependency_overrides[current_caller] = lambda: callers["who"]
    body = upload(client, csv_bytes(invoice_rows(cs_invoice())), "mine.csv").json()
    assert body["created_by"] == "key-a"
    assert client.get(f"/v1/uploads/{body['id']}").status_code == 200
    assert [u["id"] for u in client.get("/v1/uploads").json()["items"]] == [body["id"]]

    other = variant(cs_invoice("OTHERNPI"), billing_provider_npi="1245319599")
    scoped = upload(client, csv_bytes(invoice_rows(ecm_invoice("OWN")) + invoice_rows(other)), "scope.csv").json()
    assert {i["invoice_number"]: i["status"] for i in scoped["invoices"]} == {"OWN": "accepted",
                                                                             "OTHERNPI": "rejected"}
    denied = problems_at(scoped)[(4, LABEL["billing_provider_npi"], "npi_not_in_key_scope")]
    assert denied["allowed"] == ["1999999992"]

    callers["who"] = Caller(key_id="key-b", role="provider")
    assert client.get(f"/v1/uploads/{body['id']}").status_code == 404
    assert client.get(f"/v1/uploads/{body['id']}/status").status_code == 404
    assert client.get(f"/v1/uploads/{body['id']}/annotated.xlsx").status_code == 404
    assert client.get("/v1/uploads").json()["items"] == []

    callers["who"] = Caller(key_id="ops-1", role="ops")
    assert client.get(f"/v1/uploads/{body['id']}").status_code == 200
    app.dependency_overrides.clear()


def test_an_unknown_upload_is_a_404_problem(client):
    for path in ("/v1/uploads/no-such-upload", "/v1/uploads/no-such-upload/status"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")


def test_the_status_is_the_records_head_without_its_outcomes(client):
    rows = invoice_rows(cs_invoice("STAT1")) + invoice_rows(variant(cs_invoice("STAT2"), billing_provider_npi="12"))
    record = upload(client, csv_bytes(rows), "s.csv").json()
    status = client.get(f"/v1/uploads/{record['id']}/status")
    assert status.status_code == 200
    body = status.json()
    assert body == {key: record[key] for key in ("id", "status", "filename", "created_by", "created_at",
                                                 "progress", "counts")}
    assert body["counts"]["accepted"] == 1 and body["counts"]["rejected"] == 1


def test_a_future_service_date_is_rejected_on_its_cell(client):
    rows = invoice_rows(cs_invoice("FUTURE"))
    rows[0][LABEL["service_end_date"]] = date.today().replace(year=date.today().year + 1).strftime("%m/%d/%Y")
    body = upload(client, csv_bytes(rows), "f.csv").json()
    assert (2, LABEL["service_end_date"], "future_date") in problems_at(body)


def test_the_polled_record_is_byte_for_byte_the_json_of_the_upload_record(client, app):
    """GET /v1/uploads/{id} writes its JSON an invoice and a problem at a time; the bytes are those
    JSONResponse(upload_out(...)) would send: file-level problems, allowed lists, non-ASCII text, nulls."""
    from starlette.responses import JSONResponse

    from app.uploads.routes import upload_out

    rows = invoice_rows(ecm_invoice("BYTES1")) + invoice_rows(
        variant(ecm_invoice("BYTES2", cin="90000011A"), member_cin="12", lines__1__procedure_code_modifiers=["GQ"],
                member_last_name="Muñoz-Ølsen"))
    for row in rows:
        row["Notes (ignored)"] = "ß"
    body = upload(client, csv_bytes(rows, HEADERS + ["Notes (ignored)"]), "bytes.csv").json()
    assert body["counts"]["accepted"] == 1 and any(p.get("allowed") for p in body["problems"])
    r = client.get(f"/v1/uploads/{body['id']}")
    assert r.headers["content-type"] == "application/json"
    with app.state.database.sessionmaker() as session:
        upload_row = session.scalar(select(UploadRow).where(UploadRow.public_id == body["id"]))
        assert r.content == JSONResponse(upload_out(session, upload_row)).body
    assert r.json() == body
