"""The DHCS minimum invoice data elements (Tables 1-4), named as the JSON fields and as readable labels.
The same names head the spreadsheet columns, so a problem can point at a field or a column."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Element:
    name: str
    label: str
    table: int
    required: bool
    description: str = ""


def _provider(role: str, npi_required: bool) -> list[Element]:
    r = role.capitalize()
    return [
        Element(f"{role}_provider_npi", f"{r} Provider NPI", 1, npi_required, "10-digit NPI (Luhn check)"),
        Element(f"{role}_provider_tin", f"{r} Provider TIN", 1, True, "9-digit tax ID; 12-3456789 accepted"),
        Element(f"{role}_provider_name", f"{r} Provider Name", 1, True, "organisation name, or the person's full name"),
        Element(f"{role}_provider_first_name", f"{r} Provider First Name", 1, False, "only when the provider is a person"),
        Element(f"{role}_provider_last_name", f"{r} Provider Last Name", 1, False, "only when the provider is a person"),
        Element(f"{role}_provider_phone_number", f"{r} Provider Phone Number", 1, True, "10 digits; (916) 555-0101 accepted"),
        Element(f"{role}_provider_address", f"{r} Provider Address", 1, True, "street address"),
        Element(f"{role}_provider_city", f"{r} Provider City", 1, True),
        Element(f"{role}_provider_state", f"{r} Provider State", 1, True, "USPS 2-letter code"),
        Element(
            f"{role}_provider_zip", f"{r} Provider Zip", 1, True,
            "9-digit ZIP+4 (the 837P requires it)" if role == "billing" else "5 or 9 digits",
        ),
    ]


INVOICE_ELEMENTS: list[Element] = [
    *_provider("billing", True),
    *_provider("rendering", False),
    Element("member_cin", "Member Client Identification Number (CIN)", 2, True, "8 digits and a letter"),
    Element("medical_record_number", "Medical Record Number (MRN)", 2, False),
    Element("member_first_name", "Member First Name", 2, True),
    Element("member_last_name", "Member Last Name", 2, True),
    Element("member_homelessness_indicator", "Member Homelessness Indicator", 2, True, "Y or N"),
    Element("member_residential_address", "Member Residential Address", 2, True, "a shelter or general delivery address is fine"),
    Element("member_residential_city", "Member Residential City", 2, True),
    Element("member_residential_state", "Member Residential State", 2, False, "not a DHCS element; defaults to CA"),
    Element("member_residential_zip", "Member Residential Zip", 2, True, "5 or 9 digits"),
    Element("member_date_of_birth", "Member Date of Birth", 2, True, "MM/DD/YYYY or YYYY-MM-DD"),
    Element("primary_payer_identifier", "Primary Payer Identifier", 3, True, "the plan's payer ID"),
    Element("payer_name", "Payer Name", 3, True),
    Element("invoice_amount", "Invoice Amount", 3, True, "sum of the line charges"),
    Element("invoice_date", "Invoice Date", 4, True, "MM/DD/YYYY or YYYY-MM-DD"),
    Element("invoice_number", "Invoice Number", 4, True, "unique per billing provider; at most 17 characters"),
    Element("control_number", "Control Number", 4, False),
    Element("authorization_number", "Authorization Number", 4, False),
]

LINE_ELEMENTS: list[Element] = [
    Element("procedure_code", "Procedure Code", 3, True, "HCPCS code from the ECM/CS code table"),
    Element("procedure_code_modifiers", "Procedure Code Modifiers", 3, True, "1-4 modifiers, e.g. U1 GQ"),
    Element("service_start_date", "Service Start Date", 3, True, "MM/DD/YYYY or YYYY-MM-DD"),
    Element("service_end_date", "Service End Date", 3, True, "MM/DD/YYYY or YYYY-MM-DD"),
    Element("service_name", "Service Name", 3, False),
    Element("service_unit_count", "Service Unit Count", 3, True, "greater than 0"),
    Element("place_of_service", "Place of Service (POS)", 3, True, "CMS 2-digit POS code"),
    Element("member_diagnosis_codes", "Member Diagnosis Codes", 3, True, "1-4 ICD-10-CM billable codes"),
    Element("service_unit_cost", "Service Unit Cost", 3, True),
    Element("service_charge_amount", "Service Charge Amount", 3, True, "units x unit cost"),
]

LABELS = {e.name: e.label for e in INVOICE_ELEMENTS + LINE_ELEMENTS}
