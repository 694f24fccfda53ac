"""Rows with the same billing NPI + invoice number are the lines of one invoice, wherever they sit in the file.

The file is parsed once: each row's invoice cells go to a temporary spool on disk and only (row number,
offset) stays in memory, so a 50,000-line workbook is never held as Python objects; an invoice's rows are
read back from the spool when its turn comes."""

import pickle
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from app.uploads.columns import Column
from app.uploads.reading import Sheet, cell_text

EXAMPLE_PREFIX = "EXAMPLE"  # the template's example rows; never submitted

Values = dict[str, str | None]  # invoice field -> cell text


@dataclass
class SheetRow:
    number: int  # spreadsheet row number
    values: Values


@dataclass
class Group:
    index: int  # order of first appearance in the file
    billing_npi: str | None
    invoice_number: str | None
    example: bool = False
    rows: list[tuple[int, int]] = field(default_factory=list)  # (row number, spool offset)

    @property
    def row_numbers(self) -> list[int]:
        return [n for n, _ in self.rows]


def _npi_key(text: str | None) -> str | None:
    return re.sub(r"[\s\-]", "", text) if text else None


def _group_key(number: int, values: Values) -> tuple:
    npi, invoice = _npi_key(values.get("billing_provider_npi")), values.get("invoice_number")
    if not npi or not invoice:
        # Without both halves of the key the row cannot be matched to others: it is an invoice of its own,
        # and the rules will say which half is missing.
        return ("row", number)
    return ("invoice", npi, invoice)


class SpooledGroups:
    """Pass over the sheet once; then iterate the invoices in order of first appearance."""

    def __init__(self, sheet: Sheet, columns: list[Column], on_progress: Callable[[int], None] | None = None,
                 progress_every: int = 2000):
        self._spool = tempfile.TemporaryFile(prefix="upload-spool-")
        self.groups: dict[tuple, Group] = {}
        self.rows = 0
        mapped = [(c.index, c.field) for c in columns if c.field]
        for number, cells in sheet.data_rows():
            values = {name: cell_text(cells[i]) if i < len(cells) else None for i, name in mapped}
            if not any(values.values()):
                continue  # blank rows (and rows holding only unmapped columns) are not invoice lines
            self.rows += 1
            key = _group_key(number, values)
            group = self.groups.get(key)
            if group is None:
                invoice = values.get("invoice_number")
                group = Group(len(self.groups), _npi_key(values.get("billing_provider_npi")), invoice,
                              example=bool(invoice and invoice.upper().startswith(EXAMPLE_PREFIX)))
                self.groups[key] = group
            group.rows.append((number, self._spool.tell()))
            pickle.dump(values, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
            if on_progress and self.rows % progress_every == 0:
                on_progress(self.rows)

    def __iter__(self) -> Iterator[Group]:
        return iter(self.groups.values())

    def __len__(self) -> int:
        return len(self.groups)

    def load(self, group: Group) -> list[SheetRow]:
        out = []
        for number, offset in group.rows:
            self._spool.seek(offset)
            out.append(SheetRow(number, pickle.load(self._spool)))
        return out

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> "SpooledGroups":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
