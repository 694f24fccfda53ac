"""From a segment and element of an 837P we wrote back to the invoice field it carries — so that a 999's
IK3/IK4 (or a pyx12 finding) can tell the provider "line 3, procedure code" instead of "SV1 01-2"."""

from collections.abc import Sequence
from dataclasses import dataclass

# NM101 entity code -> invoice field names for NM103 (organisation or last name), NM104, NM109
_NM1 = {
    "85": ("billing_provider", "billing_provider_first_name", "billing_provider_npi"),
    "82": ("rendering_provider", "rendering_provider_first_name", "rendering_provider_npi"),
    "IL": ("member", "member_first_name", "member_cin"),
    "PR": ("payer_name", None, "primary_payer_identifier"),
}
_ADDRESS_PREFIX = {"85": "billing_provider_", "82": "rendering_provider_", "IL": "member_residential_"}
_REF = {"EI": "billing_provider_tin", "G1": "authorization_number", "D9": "control_number",
        "EA": "medical_record_number"}
_CLM = {1: "invoice_number", 2: "invoice_amount", 5: "place_of_service"}
_SV1 = {2: "service_charge_amount", 4: "service_unit_count", 5: "place_of_service", 7: "member_diagnosis_codes"}


@dataclass(frozen=True)
class FieldRef:
    line_index: int | None  # 0-based position of the service line within its claim, None for claim-level fields
    field: str | None  # the invoice element's JSON name, None when the segment carries no invoice field


def parse_element_position(position: str | None) -> tuple[int | None, int | None]:
    """IK401 is `element` or `element:component` (the 999 may use its own component separator)."""
    if not position:
        return None, None
    digits = [p for p in position.replace(":", " ").replace("-", " ").replace(">", " ").split() if p.isdigit()]
    if not digits:
        return None, None
    return int(digits[0]), int(digits[1]) if len(digits) > 1 else None


def locate(segments: Sequence[str], claim: tuple[int, int], segment_no: int, element: int | None,
           component: int | None = None) -> FieldRef:
    """`segments` are the file's segments as text (index 0 = ISA = segment 1); `claim` is the claim's first
    (CLM) and last segment number; `segment_no` the segment the finding names (it may lie outside the claim,
    in its member or billing provider loop)."""
    if not 1 <= segment_no <= len(segments):
        return FieldRef(None, None)
    parts = segments[segment_no - 1].split("*")
    tag = parts[0]
    line_index = None
    claim_first, claim_last = claim
    if claim_first <= segment_no <= claim_last:
        lx_count = sum(1 for s in segments[claim_first - 1:segment_no] if s.startswith("LX*"))
        line_index = lx_count - 1 if lx_count else None
    return FieldRef(line_index, _field(segments, segment_no, parts, tag, element, component))


def _field(segments, segment_no, parts, tag, element, component) -> str | None:
    qualifier = parts[1] if len(parts) > 1 else ""
    if tag == "NM1":
        names = _NM1.get(qualifier)
        if not names:
            return None
        if element == 3:
            person = len(parts) > 2 and parts[2] == "1"
            return names[0] + ("_last_name" if person and qualifier != "PR" else
                               "_name" if qualifier != "PR" else "")
        return {4: names[1], 9: names[2]}.get(element) if element else None
    if tag in ("N3", "N4", "DMG", "PER"):
        entity = _owning_entity(segments, segment_no)
        prefix = _ADDRESS_PREFIX.get(entity)
        if tag == "DMG":
            return "member_date_of_birth"
        if tag == "PER":
            return "billing_provider_phone_number" if entity == "85" else None
        if prefix is None:
            return None
        if tag == "N3":
            return prefix + "address"
        return prefix + {1: "city", 2: "state", 3: "zip"}.get(element or 1, "city")
    if tag == "REF":
        return _REF.get(qualifier)
    if tag == "CLM":
        return _CLM.get(element or 1)
    if tag == "HI":
        return "member_diagnosis_codes"
    if tag == "SV1":
        if element in (None, 1):
            return "procedure_code_modifiers" if component and component >= 3 else "procedure_code"
        return _SV1.get(element)
    if tag == "DTP" and qualifier == "472":
        return "service_start_date"
    return None


def _owning_entity(segments: Sequence[str], segment_no: int) -> str | None:
    """N3/N4/PER/DMG belong to the name loop opened by the nearest NM1 above them."""
    for text in reversed(segments[max(0, segment_no - 8):segment_no - 1]):
        if text.startswith("NM1*"):
            return text.split("*")[1]
    return None


def field_path(ref: FieldRef, invoice_line_number: int | None) -> str | None:
    """The same `loc` the intake rules use: `lines[2].procedure_code` (0-based) or a top-level name."""
    if ref.field is None:
        return None
    line_fields = {"procedure_code", "procedure_code_modifiers", "service_charge_amount", "service_unit_count",
                   "place_of_service", "member_diagnosis_codes", "service_start_date"}
    if ref.field in line_fields and invoice_line_number is not None:
        return f"lines[{invoice_line_number - 1}].{ref.field}"
    return ref.field
