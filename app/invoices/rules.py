"""Every check an invoice must pass, run in one sweep so the caller hears about all problems at once.
Pure: takes plain data (a dict from JSON or from a spreadsheet row group) and the code lists."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.codetable import CodeRow, CodeTables
from app.invoices import fields as fx
from app.invoices import icd10 as icd
from app.invoices.domain import Invoice, Member, Provider, ServiceLine
from app.invoices.elements import LABELS
from app.invoices.problems import Findings

CENT = Decimal("0.01")
MAX_MODIFIERS = 4
MAX_LINE_DIAGNOSES = 4  # SV107 holds four pointers
TELEHEALTH_POS = ("02", "10")
# 2010AA N3: "Post Office Box or Lock Box addresses are to be sent in the Pay-To Address Loop" (837P IG)
PO_BOX = re.compile(r"\b(?:P\.?\s?O\.?\s?BOX|POST\s+OFFICE\s+BOX|LOCK\s?BOX)\b", re.IGNORECASE)
INVOICE_NUMBER_MAX = 17  # CLM01 is invoice number + "-NN" and receivers keep 20 characters
# 837P element limits (005010X222A1): NM103 60, NM104 35, N301 55, N401 2-30, REF02 50, NM109 2-80.
NAME_MAX, FIRST_NAME_MAX, ADDRESS_MAX, CITY_MAX, REF_MAX, PAYER_ID_MAX, SERVICE_NAME_MAX = 60, 35, 55, 30, 50, 80, 80


@dataclass(frozen=True)
class RuleContext:
    code_tables: CodeTables
    places_of_service: dict[str, str]
    states: dict[str, str]
    today: date
    max_lines: int = 999


@dataclass
class CheckResult:
    findings: Findings
    invoice: Invoice | None = None
    # (line index, duplicate key) for every line that parsed, even when the invoice has other errors,
    # so the duplicate check can run in the same sweep.
    line_keys: list[tuple[int, tuple]] = field(default_factory=list)
    billing_npi: str | None = None
    member_cin: str | None = None
    invoice_number: str | None = None


def check_invoice(raw: Mapping[str, Any], ctx: RuleContext) -> CheckResult:
    f = Findings()
    result = CheckResult(findings=f)
    billing = _provider(f, raw, ctx, "billing")
    rendering = _provider(f, raw, ctx, "rendering")
    member = _member(f, raw, ctx)
    result.billing_npi = billing.get("npi")
    result.member_cin = member.get("cin")

    invoice_number = fx.identifier(f, "invoice_number", raw.get("invoice_number"), LABELS["invoice_number"],
                                   max_len=INVOICE_NUMBER_MAX)
    result.invoice_number = invoice_number
    invoice_date = fx.a_date(f, "invoice_date", raw.get("invoice_date"), LABELS["invoice_date"])
    control_number = fx.identifier(f, "control_number", raw.get("control_number"), LABELS["control_number"],
                                   max_len=REF_MAX, is_required=False)
    authorization_number = fx.identifier(f, "authorization_number", raw.get("authorization_number"),
                                         LABELS["authorization_number"], max_len=REF_MAX, is_required=False)
    payer_id = fx.identifier(f, "primary_payer_identifier", raw.get("primary_payer_identifier"),
                             LABELS["primary_payer_identifier"], max_len=PAYER_ID_MAX, min_len=2)
    payer_name = fx.free_text(f, "payer_name", raw.get("payer_name"), LABELS["payer_name"], max_len=NAME_MAX)
    invoice_amount = fx.decimal_value(f, "invoice_amount", raw.get("invoice_amount"), LABELS["invoice_amount"],
                                      places=2, money=True)
    _no_future(f, "invoice_date", invoice_date, LABELS["invoice_date"], ctx.today)

    lines = _lines(f, raw.get("lines"), ctx, result)

    parsed = [ln for ln in lines if ln is not None]
    if invoice_date and parsed:
        service_dates = [ln["service_end_date"] or ln["service_start_date"] for ln in parsed]
        latest = max((d for d in service_dates if d), default=None)
        if latest and invoice_date < latest:
            f.error("invoice_date", "date_order",
                    f"Invoice Date {invoice_date.isoformat()} is before the last service date "
                    f"{latest.isoformat()}; an invoice cannot be dated before the services it bills.")
    dob = member.get("date_of_birth")
    if dob:
        for i, ln in enumerate(lines):
            if ln and ln["service_start_date"] and dob > ln["service_start_date"]:
                f.error("member_date_of_birth", "date_order",
                        f"Member Date of Birth {dob.isoformat()} is after the service start date of "
                        f"line {i + 1} ({ln['service_start_date'].isoformat()}).")
                break
    if invoice_amount is not None and lines and all(ln and ln["charge_amount"] is not None for ln in lines):
        total = sum((ln["charge_amount"] for ln in lines), Decimal("0.00"))
        if total != invoice_amount:
            f.error("invoice_amount", "amount_mismatch",
                    f"Invoice Amount {invoice_amount} does not equal the sum of the line charges ({total}).",
                    [str(total)])
    if member.get("homeless") and parsed:
        all_dx = [d for ln in parsed for d in ln["diagnosis_codes"] or ()]
        if not any(d.startswith("Z59.0") for d in all_dx):
            f.warn("member_homelessness_indicator", "homeless_without_z59",
                   "The member is marked as experiencing homelessness but no Z59.0x diagnosis "
                   "(Z59.00, Z59.01 sheltered, Z59.02 unsheltered) is on the invoice; the 837P has no other "
                   "place for homelessness, so add the Z-code if it was observed.",
                   ["Z59.00", "Z59.01", "Z59.02"])
    _duplicate_lines_within(f, result.line_keys)

    if f.errors:
        return result
    result.invoice = Invoice(
        invoice_number=invoice_number, invoice_date=invoice_date, control_number=control_number,
        authorization_number=authorization_number, primary_payer_identifier=payer_id, payer_name=payer_name,
        invoice_amount=invoice_amount, billing_provider=Provider(**billing),
        rendering_provider=Provider(**rendering), member=Member(**member),
        lines=tuple(ServiceLine(line_number=i + 1, **ln) for i, ln in enumerate(lines)),
    )
    return result


def _provider(f: Findings, raw: Mapping[str, Any], ctx: RuleContext, role: str) -> dict[str, Any]:
    p = f"{role}_provider_"

    def loc(name: str) -> str:
        return p + name

    def label(name: str) -> str:
        return LABELS[p + name]

    provider = {
        "npi": fx.npi(f, loc("npi"), raw.get(loc("npi")), label("npi"), is_required=role == "billing"),
        "tin": fx.tin(f, loc("tin"), raw.get(loc("tin")), label("tin")),
        "name": fx.free_text(f, loc("name"), raw.get(loc("name")), label("name"), max_len=NAME_MAX),
        "first_name": fx.free_text(f, loc("first_name"), raw.get(loc("first_name")), label("first_name"),
                                   max_len=FIRST_NAME_MAX, is_required=False),
        "last_name": fx.free_text(f, loc("last_name"), raw.get(loc("last_name")), label("last_name"),
                                  max_len=NAME_MAX, is_required=False),
        "phone": fx.phone(f, loc("phone_number"), raw.get(loc("phone_number")), label("phone_number")),
        "address": fx.free_text(f, loc("address"), raw.get(loc("address")), label("address"), max_len=ADDRESS_MAX),
        "city": fx.free_text(f, loc("city"), raw.get(loc("city")), label("city"), max_len=CITY_MAX, min_len=2),
        "state": fx.code_from(f, loc("state"), raw.get(loc("state")), label("state"), ctx.states),
        "zip": fx.zip_code(f, loc("zip"), raw.get(loc("zip")), label("zip"), plus4=role == "billing"),
    }
    if role == "billing" and provider["address"] and PO_BOX.search(provider["address"]):
        f.error(loc("address"), "po_box_billing_address",
                f"{label('address')} is a post office or lock box; the 837P billing provider address (loop 2010AA) "
                "must be the street address where the provider is located.")
    return provider


def _member(f: Findings, raw: Mapping[str, Any], ctx: RuleContext) -> dict[str, Any]:
    def get(name: str) -> tuple[str, Any, str]:
        return name, raw.get(name), LABELS[name]

    state_raw = raw.get("member_residential_state")
    member = {
        "cin": fx.cin(f, *get("member_cin")),
        "medical_record_number": fx.identifier(f, *get("medical_record_number"), max_len=REF_MAX, is_required=False),
        "first_name": fx.free_text(f, *get("member_first_name"), max_len=FIRST_NAME_MAX),
        "last_name": fx.free_text(f, *get("member_last_name"), max_len=NAME_MAX),
        "homeless": fx.yes_no(f, *get("member_homelessness_indicator")),
        "address": fx.free_text(f, *get("member_residential_address"), max_len=ADDRESS_MAX),
        "city": fx.free_text(f, *get("member_residential_city"), max_len=CITY_MAX, min_len=2),
        "state": "CA" if fx.is_blank(state_raw) else fx.code_from(f, *get("member_residential_state"), ctx.states),
        "zip": fx.zip_code(f, *get("member_residential_zip")),
        "date_of_birth": fx.a_date(f, *get("member_date_of_birth")),
    }
    _no_future(f, "member_date_of_birth", member["date_of_birth"], LABELS["member_date_of_birth"], ctx.today)
    return member


def _no_future(f: Findings, loc: str, value: date | None, label: str, today: date) -> None:
    if value and value > today:
        f.error(loc, "future_date", f"{label} {value.isoformat()} is in the future (today is {today.isoformat()}).")


def _lines(f: Findings, raw_lines: Any, ctx: RuleContext, result: CheckResult) -> list[dict | None]:
    if fx.is_blank(raw_lines):
        f.error("lines", "required", "An invoice needs at least one service line.")
        return []
    if not isinstance(raw_lines, Sequence) or isinstance(raw_lines, str):
        f.error("lines", "invalid_type", "lines must be a list of service lines.")
        return []
    if len(raw_lines) > ctx.max_lines:
        f.error("lines", "too_many", f"An invoice may carry at most {ctx.max_lines} lines; split it into several invoices.")
        return []
    out = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            f.error(f"lines[{i}]", "invalid_type", "Each service line must be an object.")
            out.append(None)
            continue
        line = _line(f, f"lines[{i}]", raw, ctx)
        if line is not None and line["procedure_code"] and line["modifiers"] is not None \
                and line["service_start_date"] and line["service_end_date"]:
            key = (line["procedure_code"], " ".join(sorted(line["modifiers"])), line["service_start_date"],
                   line["service_end_date"])
            result.line_keys.append((i, key))
        out.append(line)
    return out


def _line(f: Findings, at: str, raw: Mapping[str, Any], ctx: RuleContext) -> dict[str, Any]:
    def get(name: str) -> tuple[str, Any, str]:
        return f"{at}.{name}", raw.get(name), LABELS[name]

    start = fx.a_date(f, *get("service_start_date"))
    end = fx.a_date(f, *get("service_end_date"))
    _no_future(f, f"{at}.service_start_date", start, "Service Start Date", ctx.today)
    _no_future(f, f"{at}.service_end_date", end, "Service End Date", ctx.today)
    if start and end and end < start:
        f.error(f"{at}.service_end_date", "date_order",
                f"Service End Date {end.isoformat()} is before Service Start Date {start.isoformat()}.")
    code = _procedure_code(f, *get("procedure_code"))
    modifiers = _modifiers(f, *get("procedure_code_modifiers"), options=_modifier_options(code, start, ctx))
    units = fx.decimal_value(f, *get("service_unit_count"), places=3, money=False, positive=True)
    unit_cost = fx.decimal_value(f, *get("service_unit_cost"), places=2, money=True)
    charge = fx.decimal_value(f, *get("service_charge_amount"), places=2, money=True)
    pos = fx.code_from(f, *get("place_of_service"), ctx.places_of_service, pad=2)
    dx = _diagnoses(f, *get("member_diagnosis_codes"))
    service_name = fx.free_text(f, *get("service_name"), max_len=SERVICE_NAME_MAX, is_required=False)

    if units is not None and unit_cost is not None and charge is not None:
        expected = (units * unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)
        if charge != expected:
            f.error(f"{at}.service_charge_amount", "amount_mismatch",
                    f"Service Charge Amount {charge} does not equal Service Unit Count {units} x Service Unit "
                    f"Cost {unit_cost} = {expected}.", [str(expected)])

    row, version = None, None
    if code and modifiers is not None and start:
        row, modifiers, version = _match_code_table(f, at, code, modifiers, start, ctx)
    if row and pos and "GQ" in row.modifiers and pos not in TELEHEALTH_POS:
        f.warn(f"{at}.place_of_service", "telehealth_pos",
               f"Modifier GQ marks a telehealth service but Place of Service is {pos}; telehealth is expected "
               "with POS 02 (other than the patient's home) or 10 (the patient's home).", list(TELEHEALTH_POS))
    if row and units is not None and row.max_units_per_line is not None \
            and units * row.unit_conversion > row.max_units_per_line:
        f.warn(f"{at}.service_unit_count", "exceeds_unit_limit",
               f"{units} units exceed the code table's limit of {row.max_units_per_line} "
               f"({row.encounter_unit}) for {row.describe()}: {row.limit_note}")
    return {
        "procedure_code": code,
        "modifiers": modifiers,
        "service_start_date": start,
        "service_end_date": end,
        "service_name": service_name,
        "unit_count": units,
        "place_of_service": pos,
        "diagnosis_codes": dx,
        "unit_cost": unit_cost,
        "charge_amount": charge,
        "program": row.program if row else None,
        "encounter_unit": row.encounter_unit if row else None,
        "encounter_units": (units * row.unit_conversion) if row and units is not None else None,
        "code_table_version": version,
    }


def _procedure_code(f: Findings, loc: str, raw: Any, label: str) -> str | None:
    if not fx.required(f, loc, raw, label):
        return None
    value = fx.as_text(raw).upper().replace(" ", "")
    if len(value) == 5 and value[0].isalpha() and value[1:].isdigit():
        return value
    f.error(loc, "invalid_format", f"{label} '{fx.as_text(raw)}' is not a HCPCS Level II code "
            "(a letter and four digits).", ["G9008", "H0043"])
    return None


def _modifier_options(code: str | None, on: date | None, ctx: RuleContext) -> tuple[str, list[str]] | None:
    """For a code sent without modifiers: the sentence and list naming the modifier sets the table allows."""
    table = ctx.code_tables.in_force(on) if code and on else None
    candidates = table.rows_for(code) if table else []
    if not candidates:
        return None
    options = " or ".join(f"{'+'.join(r.modifiers)} ({r.service_name})" for r in candidates)
    return f"{code} needs {options}", [f"{r.hcpcs} {' '.join(r.modifiers)}" for r in candidates]


def _missing_modifiers(f: Findings, loc: str, label: str, options: tuple[str, list[str]] | None) -> None:
    if options:
        f.error(loc, "required", f"{label} is required: {options[0]}.", options[1])
    else:
        fx.required(f, loc, None, label)


def _modifiers(
    f: Findings, loc: str, raw: Any, label: str, *, options: tuple[str, list[str]] | None = None,
) -> tuple[str, ...] | None:
    if fx.is_blank(raw):
        _missing_modifiers(f, loc, label, options)
        return None
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").replace("+", " ").split()
    values = [fx.as_text(m).upper().replace(" ", "") for m in items if not fx.is_blank(m)]
    ok = True
    for j, m in enumerate(values):
        if len(m) != 2 or not m.isalnum():
            f.error(f"{loc}[{j}]", "invalid_format", f"Modifier '{m}' must be exactly 2 letters or digits.")
            ok = False
    if len(values) > MAX_MODIFIERS:
        f.error(loc, "too_many", f"A line carries at most {MAX_MODIFIERS} modifiers; got {len(values)}.")
        ok = False
    if len(set(values)) != len(values):
        f.error(loc, "repeated_modifier", "The same modifier appears twice on the line.")
        ok = False
    if not values:
        _missing_modifiers(f, loc, label, options)
        ok = False
    return tuple(values) if ok else None


def _match_code_table(
    f: Findings, at: str, code: str, modifiers: tuple[str, ...], on: date, ctx: RuleContext,
) -> tuple[CodeRow | None, tuple[str, ...], str | None]:
    table = ctx.code_tables.in_force(on)
    if table is None:
        f.error(f"{at}.service_start_date", "no_code_table",
                f"No ECM/Community Supports code table is in force on {on.isoformat()}.",
                [f"{v.effective_from.isoformat()} to {v.effective_to.isoformat() if v.effective_to else 'open'}"
                 for v in ctx.code_tables.versions])
        return None, modifiers, None
    row = table.match(code, modifiers)
    given = "+".join(modifiers) if modifiers else "no modifiers"
    if row is None:
        candidates = table.rows_for(code)
        if not candidates:
            f.error(f"{at}.procedure_code", "code_not_allowed",
                    f"{code} is not an ECM or Community Supports code in the DHCS code table in force on "
                    f"{on.isoformat()} (version {table.version}).",
                    sorted({r.hcpcs for r in table.rows}))
        else:
            needs, allowed = _modifier_options(code, on, ctx)
            f.error(f"{at}.procedure_code_modifiers", "modifier_combination_not_allowed",
                    f"{code} with {given} is not an allowed combination on {on.isoformat()} "
                    f"(code table {table.version}); {needs}.", allowed)
        return None, modifiers, None
    if tuple(modifiers) != row.modifiers:
        f.warn(f"{at}.procedure_code_modifiers", "modifiers_reordered",
               f"Modifiers {given} are sent in the code table's order {'+'.join(row.modifiers)}.")
    if row.confidence != "seed":
        f.warn(f"{at}.procedure_code", "unconfirmed_code_row",
               f"{row.describe()} comes from {row.source}, not from the DHCS documents on file; the plan should "
               "confirm it against the current DHCS Coding Options before production use.")
    return row, row.modifiers, table.version


def _with_dot(code: str) -> str:
    """ICD-10-CM's dot follows the category (3 characters). The library's add_dot() scans its whole code list
    on first use of each code and fills that list lazily without a lock, which breaks under threads."""
    code = code.replace(".", "")
    return code if len(code) <= 3 or "-" in code else f"{code[:3]}.{code[3:]}"  # "A00-A09" names a block


def _diagnoses(f: Findings, loc: str, raw: Any, label: str) -> tuple[str, ...] | None:
    if not fx.required(f, loc, raw, label):
        return None
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").replace(";", " ").split()
    values: list[str] = []
    ok = True
    for j, item in enumerate(items):
        code = fx.as_text(item).upper().replace(" ", "").replace(".", "")
        if not code:
            continue
        dotted = _with_dot(code) if icd.is_valid_item(code) else None
        if dotted is None:
            f.error(f"{loc}[{j}]", "unknown_diagnosis",
                    f"'{fx.as_text(item)}' is not an ICD-10-CM code.", ["e.g. Z59.01", "F32.9"])
            ok = False
        elif not icd.is_leaf(code):
            leaves = [d for d in icd.get_descendants(code) if icd.is_leaf(d)]
            f.error(f"{loc}[{j}]", "diagnosis_not_billable",
                    f"{dotted} is a category, not a billable ICD-10-CM code; use a more specific code.",
                    [_with_dot(d) for d in leaves[:20]])
            ok = False
        elif dotted in values:
            f.error(f"{loc}[{j}]", "repeated_diagnosis", f"{dotted} appears twice on the line.")
            ok = False
        else:
            values.append(dotted)
    if ok and not values:
        fx.required(f, loc, None, label)
        return None
    if len(values) > MAX_LINE_DIAGNOSES:
        f.error(loc, "too_many", f"A line points to at most {MAX_LINE_DIAGNOSES} diagnosis codes "
                f"(837P SV107); got {len(values)}. Put the others on the invoice's other lines.")
        ok = False
    return tuple(values) if ok else None


def _duplicate_lines_within(f: Findings, line_keys: list[tuple[int, tuple]]) -> None:
    seen: dict[tuple, int] = {}
    for i, key in line_keys:
        if key in seen:
            f.error(f"lines[{i}]", "duplicate_line",
                    f"Line {i + 1} repeats line {seen[key] + 1} (same procedure code, modifiers and service "
                    "dates); the state denies the whole encounter for a duplicate line. Combine them into one "
                    "line with the total unit count.")
        else:
            seen[key] = i
