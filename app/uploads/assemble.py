"""From an invoice's spreadsheet rows to the invoice dict `POST /v1/invoices` takes, and from the problems
the invoice rules report (`lines[2].procedure_code_modifiers`) back to a row and a column. Pure: no I/O."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from app.invoices.fields import DATE_FORMATS
from app.invoices.problems import Problem
from app.invoices.schemas import InvoiceIn
from app.uploads.columns import INVOICE_FIELDS, LABELS, LINE_FIELDS, Column, column_letter
from app.uploads.grouping import SheetRow


@dataclass(frozen=True)
class Located:
    """A problem with its place in the provider's sheet."""

    severity: str  # error | warning
    row: int | None
    column: Column | None
    field: str | None
    code: str
    message: str
    allowed: list[str] | None = None

    @property
    def loc(self) -> str:
        return locate_text(self.row, self.column.header if self.column else None)


def locate_text(row: int | None, header: str | None) -> str:
    parts = []
    if row is not None:
        parts.append(f"row {row}")
    if header is not None:
        parts.append(f'column "{header}"')
    return ", ".join(parts) or "file"


def build_invoice(rows: list[SheetRow]) -> dict:
    """The invoice dict `POST /v1/invoices` takes: each row gives one service line; an invoice-level value is
    the one most rows carry (rows that disagree are reported by `disagreements`)."""
    raw: dict = {}
    for name in INVOICE_FIELDS:
        if name not in rows[0].values:
            continue
        first = rows[0].values[name]
        if all(r.values.get(name) == first for r in rows):  # the usual case: nothing to reconcile
            raw[name] = first
            continue
        by_key: dict[str, str | None] = {}
        counts = Counter()
        for r in rows:
            key = _canonical(r.values.get(name))
            by_key.setdefault(key, r.values.get(name))
            counts[key] += 1
        raw[name] = by_key[counts.most_common(1)[0][0]]
    raw["lines"] = [{name: row.values.get(name) for name in LINE_FIELDS if name in row.values} for row in rows]
    # The JSON API's own request model: an upload is shaped exactly like a JSON invoice before the rules run.
    return InvoiceIn.model_validate(raw).model_dump(exclude_unset=True)


_MONEY = re.compile(r"^\$?\s*-?[\d,]*\.?\d+$")


def _canonical(value: str | None) -> str:
    """Spellings of one value that mean the same (03/05/2024 vs an Excel date, $1,250 vs 1250) compare equal."""
    if value is None:
        return ""
    text = " ".join(value.split()).upper()
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            pass
    if _MONEY.match(text):
        try:
            return str(Decimal(text.replace("$", "").replace(",", "").replace(" ", "")).normalize())
        except InvalidOperation:
            pass
    return text


def _shown(value: str | None) -> str:
    return f'"{value}"' if value is not None else "a blank cell"


def disagreements(rows: list[SheetRow], columns_by_field: dict[str, Column], invoice_number: str | None
                  ) -> list[Located]:
    """An error on each cell whose provider, member or invoice value differs from the rest of its invoice.
    When no value holds a majority there is no telling which is right, so every cell of that column is
    flagged; nothing is chosen for the clerk."""
    if len(rows) < 2:
        return []
    out: list[Located] = []
    for name in INVOICE_FIELDS:
        column = columns_by_field.get(name)
        if column is None:
            continue
        first = rows[0].values.get(name)
        if all(r.values.get(name) == first for r in rows):
            continue
        keys = [_canonical(r.values.get(name)) for r in rows]
        counts = Counter(keys)
        if len(counts) == 1:
            continue
        (top, top_n), *rest = counts.most_common()
        majority = top if top_n * 2 > len(rows) else None
        first_row_of = {}
        for r, k in zip(rows, keys):
            first_row_of.setdefault(k, r)
        for r, k in zip(rows, keys):
            if k == majority:
                continue
            others = "; ".join(f"row {first_row_of[o].number} has {_shown(first_row_of[o].values.get(name))}"
                               for o in counts if o != k)
            out.append(Located(
                "error", r.number, column, name, "inconsistent_invoice_value",
                f"{LABELS[name]} must be the same on every row of invoice {invoice_number}: this row has "
                f"{_shown(r.values.get(name))}, but {others}. Provider, member and invoice columns are repeated "
                "on each line of an invoice; correct the row that is wrong.",
            ))
    return out


_LINE_LOC = re.compile(r"^lines\[(\d+)\](?:\.([a-z_]+))?")
_FIELD_LOC = re.compile(r"^([a-z_]+)")


def locate(problem: Problem, severity: str, row_numbers: list[int], columns_by_field: dict[str, Column]
           ) -> Located:
    """`lines[i].x` is the i-th row of the invoice; an invoice-level field is reported on its first row."""
    row, name = row_numbers[0], None
    line = _LINE_LOC.match(problem.loc)
    if line:
        index = int(line.group(1))
        if index < len(row_numbers):
            row = row_numbers[index]
        # A whole-line problem (a duplicate line) is about the procedure code and its dates and modifiers.
        name = line.group(2) or "procedure_code"
    elif problem.loc != "lines":
        whole = _FIELD_LOC.match(problem.loc)
        name = whole.group(1) if whole else None
    column = columns_by_field.get(name) if name else None
    return Located(severity, row, column, problem.loc, problem.code, problem.message, problem.allowed)


def located_dict(p: Located) -> dict:
    out = {
        "severity": p.severity, "loc": p.loc, "row": p.row,
        "column": p.column.header if p.column else None,
        "column_letter": column_letter(p.column.index) if p.column else None,
        "field": p.field, "code": p.code, "message": p.message,
    }
    if p.allowed is not None:
        out["allowed"] = p.allowed
    return out
