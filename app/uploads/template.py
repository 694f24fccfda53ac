"""The template workbook and CSV: one row per service line, one column per DHCS data element (the labels of
app.invoices.elements, which the upload reader matches), drop-down lists for the closed value sets."""

import csv
import io
from datetime import date

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from app.codetable import CodeTables
from app.invoices.service import today_for_checks
from app.uploads.columns import DATE_FIELDS, ELEMENTS, MONEY_FIELDS

DATA_SHEET = "Invoice Lines"
LISTS_SHEET = "Lists"
DATE_FORMAT = "mm/dd/yyyy"
MONEY_FORMAT = '"$"#,##0.00'
UNITS_FORMAT = "0.###"
# Identifiers and codes are text: as numbers Excel would drop leading zeros (POS 02, ZIP 02134).
TEXT_FIELDS = frozenset({
    "billing_provider_npi", "billing_provider_tin", "billing_provider_phone_number", "billing_provider_zip",
    "rendering_provider_npi", "rendering_provider_tin", "rendering_provider_phone_number", "rendering_provider_zip",
    "member_cin", "medical_record_number", "member_residential_zip", "invoice_number", "control_number",
    "authorization_number", "primary_payer_identifier", "procedure_code", "procedure_code_modifiers",
    "place_of_service", "member_diagnosis_codes",
})
LAST_TEMPLATE_ROW = 50_001
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
OPTIONAL_FILL = PatternFill("solid", fgColor="5B9BD5")
EXAMPLE_FONT = Font(italic=True, color="7F7F7F")

_PROVIDER = {
    "billing_provider_npi": "1999999992", "billing_provider_tin": "12-3456789",
    "billing_provider_name": "Sunny Days Care Coordination", "billing_provider_phone_number": "(916) 555-0100",
    "billing_provider_address": "100 Main St", "billing_provider_city": "Sacramento",
    "billing_provider_state": "CA", "billing_provider_zip": "95814-1234",
    "rendering_provider_npi": "1234567893", "rendering_provider_tin": "123456789",
    "rendering_provider_name": "Alex Smith", "rendering_provider_first_name": "Alex",
    "rendering_provider_last_name": "Smith", "rendering_provider_phone_number": "916-555-0101",
    "rendering_provider_address": "100 Main St", "rendering_provider_city": "Sacramento",
    "rendering_provider_state": "CA", "rendering_provider_zip": "95814",
    "primary_payer_identifier": "FAKEPLAN01", "payer_name": "Fake Medi-Cal Health Plan",
}
# Invoice numbers beginning with EXAMPLE are never submitted (see grouping.EXAMPLE_PREFIX).
EXAMPLES = [
    {**_PROVIDER, "member_cin": "91234567A", "medical_record_number": "MRN0042", "member_first_name": "Jane",
     "member_last_name": "Doe", "member_homelessness_indicator": "N",
     "member_residential_address": "200 Elm St Apt 3", "member_residential_city": "Sacramento",
     "member_residential_state": "CA", "member_residential_zip": "95814", "member_date_of_birth": date(1980, 1, 15),
     "invoice_amount": 100, "invoice_date": date(2025, 3, 10), "invoice_number": "EXAMPLE-ECM-1",
     "control_number": "CTL-0001", "authorization_number": "AUTH556677", "procedure_code": "G9008",
     "procedure_code_modifiers": "U1", "service_start_date": date(2025, 3, 5),
     "service_end_date": date(2025, 3, 5), "service_name": "ECM care coordination", "service_unit_count": 1,
     "place_of_service": "11", "member_diagnosis_codes": "F32.9", "service_unit_cost": 100,
     "service_charge_amount": 100},
    {**_PROVIDER, "member_cin": "98765432B", "member_first_name": "John", "member_last_name": "Roe",
     "member_homelessness_indicator": "Y", "member_residential_address": "1 Shelter Way",
     "member_residential_city": "Sacramento", "member_residential_state": "CA", "member_residential_zip": "95811",
     "member_date_of_birth": date(1975, 12, 30), "invoice_amount": 300, "invoice_date": date(2025, 3, 11),
     "invoice_number": "EXAMPLE-CS-1", "procedure_code": "H0043", "procedure_code_modifiers": "U6",
     "service_start_date": date(2025, 3, 1), "service_end_date": date(2025, 3, 5),
     "service_name": "Housing transition navigation", "service_unit_count": 5, "place_of_service": "04",
     "member_diagnosis_codes": "Z59.01", "service_unit_cost": 60, "service_charge_amount": 300},
]

INSTRUCTIONS = [
    "How to fill in this workbook",
    "",
    f"1. Use the '{DATA_SHEET}' sheet: one row per service line. An invoice with three service lines takes three rows.",
    "2. Rows with the same Billing Provider NPI and Invoice Number are the lines of one invoice. Repeat the provider, "
    "member, payer and invoice columns on every row of the invoice: they must be the same on each row.",
    "3. Dates: a real Excel date or text MM/DD/YYYY (e.g. 03/05/2025). Money: a number or text such as $1,234.50.",
    "4. Procedure Code Modifiers: 1-4 modifiers separated by spaces (e.g. U1 GQ). Member Diagnosis Codes: 1-4 "
    "ICD-10-CM codes separated by spaces or commas (e.g. Z59.01 F32.9).",
    "5. The two grey rows are examples. Rows whose Invoice Number begins with EXAMPLE are never submitted: overwrite "
    "or delete them.",
    "6. You may add your own columns (they are ignored) and move columns around: columns are matched by header name.",
    "7. After uploading, download the checked file (annotated.xlsx): it shows each row's status and puts every "
    "problem next to its row, with the cells to fix highlighted. Fix them and upload the file again; invoices "
    "already accepted are not stored twice.",
    "",
    "Columns",
]


def _lists_sheet(wb: Workbook, code_tables: CodeTables, places: dict[str, str], states: dict[str, str]
                 ) -> dict[str, str]:
    """A hidden sheet holding the drop-down values; returns field -> range formula."""
    ws = wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    table = code_tables.in_force(today_for_checks()) or code_tables.versions[-1]
    lists = {
        "procedure_code": sorted({r.hcpcs for r in table.rows}),
        "procedure_code_modifiers": sorted({" ".join(r.modifiers) for r in table.rows}),
        "place_of_service": sorted(places),
        "state": sorted(states),
        "member_homelessness_indicator": ["Y", "N"],
    }
    formulas = {}
    for col, (name, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(col)
        ws.cell(row=1, column=col, value=name)
        for row, value in enumerate(values, start=2):
            ws.cell(row=row, column=col, value=value).number_format = "@"
        formulas[name] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"
    ws.cell(row=1, column=len(lists) + 1, value=f"code table {table.version}")
    return formulas


def _validation(formula: str, title: str, strict: bool) -> DataValidation:
    dv = DataValidation(type="list", formula1=f"={formula}", allow_blank=True, showDropDown=False)
    dv.showErrorMessage = True
    # Modifier sets and codes may be typed in another order or be valid under an older table: warn, let the
    # server decide. Place of service, states and Y/N are closed lists.
    dv.errorStyle = "stop" if strict else "warning"
    dv.errorTitle = title
    dv.error = f"Pick a value from the list ({title})." if strict else \
        f"{title}: not in the current code table's list. Check it; the upload will say if it is not allowed."
    return dv


def template_workbook(code_tables: CodeTables, places: dict[str, str], states: dict[str, str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    for col, element in enumerate(ELEMENTS, start=1):
        cell = ws.cell(row=1, column=col, value=element.label)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL if element.required else OPTIONAL_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.comment = Comment(f"{'Required' if element.required else 'Optional'}. {element.description}".strip(),
                               "encounter-service")
        dim = ws.column_dimensions[get_column_letter(col)]
        dim.width = max(14, min(len(element.label) + 2, 40))
        dim.number_format = _format_of(element.name)
        for row, example in enumerate(EXAMPLES, start=2):
            value = example.get(element.name)
            c = ws.cell(row=row, column=col, value=value)
            c.font = EXAMPLE_FONT
            c.number_format = _format_of(element.name)
    ws.row_dimensions[1].height = 45
    ws.freeze_panes = "A2"

    formulas = _lists_sheet(wb, code_tables, places, states)
    for col, element in enumerate(ELEMENTS, start=1):
        name = element.name
        key = "state" if name.endswith("_state") else name
        if key not in formulas:
            continue
        strict = key not in ("procedure_code", "procedure_code_modifiers")
        dv = _validation(formulas[key], element.label, strict)
        letter = get_column_letter(col)
        dv.add(f"{letter}2:{letter}{LAST_TEMPLATE_ROW}")
        ws.add_data_validation(dv)

    _instructions(wb.create_sheet("Instructions", 1))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _format_of(name: str) -> str:
    if name in DATE_FIELDS:
        return DATE_FORMAT
    if name in MONEY_FIELDS:
        return MONEY_FORMAT
    if name == "service_unit_count":
        return UNITS_FORMAT
    return "@" if name in TEXT_FIELDS else "General"


def _instructions(ws) -> None:
    for line in INSTRUCTIONS:
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["Column", "Required", "What to enter", "Example"])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for element in ELEMENTS:
        example = EXAMPLES[0].get(element.name) or EXAMPLES[1].get(element.name) or ""
        if isinstance(example, date):
            example = example.strftime("%m/%d/%Y")
        ws.append([element.label, "yes" if element.required else "no", element.description, str(example)])
    ws.column_dimensions["A"].width = 45
    ws.column_dimensions["B"].width = 10
    ws.column_dimensions["C"].width = 60
    ws.column_dimensions["D"].width = 30


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%m/%d/%Y")
    return str(value)


def template_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([e.label for e in ELEMENTS])
    for example in EXAMPLES:
        writer.writerow([_csv_value(example.get(e.name)) for e in ELEMENTS])
    # The BOM makes Excel open the file as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")
