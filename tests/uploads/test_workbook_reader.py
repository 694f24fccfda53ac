"""The data pass over a workbook reads it with python-calamine when calamine reads every cell as openpyxl
does; these check that the text each cell gives the rules is the same either way, and that workbooks holding
what calamine reads otherwise are read with openpyxl."""

import io
import re
import zipfile
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import Workbook

from app.uploads.reading import _calamine_reads_alike, _calamine_rows, _xlsx_rows, cell_text, reopen


def _texts(rows):
    out = []
    for number, cells in rows:
        texts = [cell_text(c) for c in cells]
        while texts and texts[-1] is None:
            texts.pop()
        out.append((number, texts))
    while out and not out[-1][1]:
        out.pop()
    return out


def _workbook(rows, formats=None, start_col=1, start_row=1, title="Invoice Lines"):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for r, values in enumerate(rows, start=start_row):
        for c, value in enumerate(values, start=start_col):
            cell = ws.cell(row=r, column=c, value=value)
            if formats and c - start_col in formats and value is not None:
                cell.number_format = formats[c - start_col]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


VALUES = [
    ["Billing Provider NPI", "Invoice Number", "Amount", "Start", "When", "Flag", "Note"],
    [1234567890, "INV-1", 12.5, datetime(2024, 3, 1), time(13, 5), True, "  spaced\u00a0"],
    ["1234567890", 123456789012345, 3 * 1.1, date(2024, 3, 2), datetime(2024, 3, 1, 13, 5), False, None],
    [None, "=1+1", 0.1 + 0.2, 45352, timedelta(hours=30), -1.5, "ü ß 中"],
    [None, None, None, None, None, None, None],
    [123, "007", 1e20, datetime(1900, 3, 1), time(0, 0, 1), 1, ""],
]


@pytest.mark.parametrize("start_col,start_row", [(1, 1), (3, 1), (1, 4), (2, 3)])
def test_calamine_gives_the_cell_texts_openpyxl_gives(start_col, start_row):
    content = _workbook(VALUES, {3: "mm/dd/yyyy", 4: "h:mm", 2: "#,##0.00"}, start_col, start_row)
    assert _calamine_reads_alike(content)
    assert _texts(_calamine_rows(content, "Invoice Lines")) == _texts(_xlsx_rows(content, "Invoice Lines"))


@pytest.mark.parametrize("cell", [
    b'<c r="C2" t="e"><v>#N/A</v></c>',  # openpyxl: the text "#N/A"; calamine: an empty cell
    b'<c r="C2" t="n"><v>12345678901234567</v></c>',  # openpyxl keeps the int; calamine rounds it to a float
    b'<c r="C2" t="n"><v>-0</v></c>',  # openpyxl: 0; calamine: -0.0
    b'<c r="C2" t="d"><v>2024-03-01T00:00:00</v></c>',
])
def test_cells_calamine_reads_otherwise_send_the_workbook_to_openpyxl(cell):
    content = _with_cell(_workbook([VALUES[0], [1234567890, "X", 1, None]]), cell)
    assert not _calamine_reads_alike(content)
    _read_as_openpyxl_does(content)


@pytest.mark.parametrize("fmt", ['[$-409]mmmm d, yyyy', '"$"#,##0.00', "0.00;[Red]-0.00"])
def test_number_formats_calamine_might_read_otherwise_send_the_workbook_to_openpyxl(fmt):
    content = _workbook([VALUES[0], [1234567890, "X", datetime(2024, 3, 1), 12.5]], {2: fmt, 3: fmt})
    assert not _calamine_reads_alike(content)
    _read_as_openpyxl_does(content)


def _read_as_openpyxl_does(content: bytes) -> None:
    sheet = reopen("xlsx", content, "Invoice Lines", 1)
    assert _texts(sheet.data_rows()) == _texts(r for r in _xlsx_rows(content, "Invoice Lines") if r[0] > 1)


def _with_cell(content: bytes, cell: bytes) -> bytes:
    src, out = zipfile.ZipFile(io.BytesIO(content)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<c r="C2"[^>]*>.*?</c>', cell, data)
                assert cell in data
            dst.writestr(item, data)
    return out.getvalue()


def test_the_data_rows_of_a_plain_workbook_come_from_calamine_and_match():
    content = _workbook(VALUES, {3: "mm/dd/yyyy"}, 1, 3)
    sheet = reopen("xlsx", content, "Invoice Lines", 3)
    assert _texts(sheet.data_rows()) == _texts(r for r in _xlsx_rows(content, "Invoice Lines") if r[0] > 3)
