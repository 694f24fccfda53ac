"""Which spreadsheet column holds which invoice field. Headers are the DHCS element labels (or the JSON field
names), matched case-, space- and punctuation-insensitively, so "MEMBER CIN", "member_cin" and
"Member Client Identification Number (CIN)" all land on member_cin. Pure: no I/O."""

import re
from dataclasses import dataclass, field

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS, Element

ELEMENTS: list[Element] = INVOICE_ELEMENTS + LINE_ELEMENTS
INVOICE_FIELDS = tuple(e.name for e in INVOICE_ELEMENTS)
LINE_FIELDS = tuple(e.name for e in LINE_ELEMENTS)
LABELS = {e.name: e.label for e in ELEMENTS}
REQUIRED_FIELDS = [e.name for e in ELEMENTS if e.required]
DATE_FIELDS = frozenset({"member_date_of_birth", "invoice_date", "service_start_date", "service_end_date"})
MONEY_FIELDS = frozenset({"invoice_amount", "service_unit_cost", "service_charge_amount"})

# Columns the annotated workbook adds; a clerk who fixes that file and uploads it again sends them back.
STATUS_HEADER = "Upload Status"
PROBLEMS_HEADER = "Upload Problems"
ANNOTATION_HEADERS = (STATUS_HEADER, PROBLEMS_HEADER)

_PARENTHETICAL = re.compile(r"\([^)]*\)")


def squash(header: object) -> str:
    """'  Member  CIN* ' -> 'membercin': what is left when case, spaces and punctuation are ignored."""
    return re.sub(r"[^0-9a-z]", "", str(header or "").lower())


def _spellings(element: Element) -> set[str]:
    names = {element.label, element.name, _PARENTHETICAL.sub("", element.label)}
    # "Member Client Identification Number (CIN)" may head a column as just "CIN"; likewise MRN and POS.
    names.update(_PARENTHETICAL.findall(element.label))
    # Labels in the DHCS tables carry the format: "Member Date of Birth (MM/DD/YYYY)".
    return {squash(n) for n in names} - {""}


_BY_SPELLING: dict[str, str] = {}
for _e in ELEMENTS:
    for _s in _spellings(_e):
        _BY_SPELLING.setdefault(_s, _e.name)
# Singular and plural both occur in the wild.
for _name, _extra in (("procedure_code_modifiers", ("Procedure Code Modifier", "Modifiers", "Modifier")),
                      ("member_diagnosis_codes", ("Member Diagnosis Code", "Diagnosis Codes", "Diagnosis Code"))):
    for _s in _extra:
        _BY_SPELLING.setdefault(squash(_s), _name)
_ANNOTATIONS = {squash(h) for h in ANNOTATION_HEADERS}


def field_for(header: object) -> str | None:
    key = squash(header)
    if key in _BY_SPELLING:
        return _BY_SPELLING[key]
    return _BY_SPELLING.get(squash(_PARENTHETICAL.sub("", str(header or ""))))


@dataclass
class Column:
    index: int  # 0-based position in the sheet
    header: str  # as the provider wrote it
    field: str | None  # None: not an invoice field (ignored)

    def as_dict(self) -> dict:
        return {"index": self.index, "header": self.header, "field": self.field}


@dataclass
class HeaderMatch:
    columns: list[Column]
    missing_required: list[str] = field(default_factory=list)
    repeated: dict[str, list[Column]] = field(default_factory=dict)  # field -> the columns claiming it

    @property
    def known(self) -> int:
        return sum(1 for c in self.columns if c.field)

    @property
    def unknown(self) -> list[Column]:
        return [c for c in self.columns if c.field is None and squash(c.header) not in _ANNOTATIONS]


def match_headers(cells: list[object]) -> HeaderMatch:
    columns: list[Column] = []
    claimed: dict[str, list[Column]] = {}
    for i, cell in enumerate(cells):
        if cell is None or str(cell).strip() == "":
            continue
        col = Column(i, " ".join(str(cell).split()), field_for(cell))
        columns.append(col)
        if col.field:
            claimed.setdefault(col.field, []).append(col)
    present = set(claimed)
    return HeaderMatch(
        columns=columns,
        missing_required=[f for f in REQUIRED_FIELDS if f not in present],
        repeated={f: cols for f, cols in claimed.items() if len(cols) > 1},
    )


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
