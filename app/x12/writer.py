"""X12 5010 segment and envelope writer: typed values in, delimited text out.

Pure (stdlib only). The writer is the *second* lock against broken X12: invoice intake already rejects the
delimiters and control characters, but anything that still reaches a segment with `~ * : ^`, a control
character, a backtick (not in the 5010 extended character set) or a non-ASCII character makes the writer raise
`X12ValueError` instead of emitting a file whose elements silently shift (mapping §1: `*` in N3 passes pyx12).
Transliteration (José -> JOSE) is the caller's job (claim837p uses `app.invoices.fields.to_x12_ascii`).

Element values are typed:

| Python value          | Emitted as                                                     |
|-----------------------|----------------------------------------------------------------|
| `None` / `""`         | empty element (interior empties kept, trailing empties dropped)|
| `str`                 | verbatim (codes, identifiers: never changed)                   |
| `Text`                | free text: trimmed, inner whitespace collapsed, upper-cased    |
| `int`                 | decimal digits                                                 |
| `Decimal`             | minimal form: 100, 75.25, 62.5 (never 1E+2, never 100.00)     |
| `date`                | CCYYMMDD                                                       |
| `Composite`           | components joined with ':' (trailing empty components dropped) |

Segments are terminated with '~' followed by a newline ('~\\n', `SEGMENT_SUFFIX`): one segment per line is easy
to read, diff and grep, and pyx12 (and practically every receiver) skips CR/LF after the terminator
(mapping §1 "Line breaks"). `Interchange(line_breaks=False)` writes bare '~' for receivers that want that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

SEGMENT_TERMINATOR = "~"
ELEMENT_SEPARATOR = "*"
COMPONENT_SEPARATOR = ":"
REPETITION_SEPARATOR = "^"
SEGMENT_SUFFIX = "\n"
ISA_LENGTH = 106  # including the segment terminator

# Anything outside printable ASCII (controls, DEL, non-ASCII), the four delimiters, and the backtick
# (the only printable ASCII character missing from the 5010 extended character set).
_FORBIDDEN = re.compile(r"[^\x20-\x7e]|[~*:^`]")
_WHITESPACE_RUN = re.compile(r" {2,}")
_SEGMENT_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")


class X12ValueError(ValueError):
    """A value cannot be written into an X12 element (delimiter, control character, non-ASCII, bad shape)."""


class Text(str):
    """Free text (names, addresses): the writer trims it, collapses inner spaces and upper-cases it."""

    __slots__ = ()


class Composite(tuple):
    """A composite element: its components are joined with the component separator ':'."""

    def __new__(cls, *components: object) -> Composite:
        return super().__new__(cls, components)


def _describe(ch: str) -> str:
    names = {"~": "tilde (segment terminator)", "*": "asterisk (element separator)",
             ":": "colon (component separator)", "^": "caret (repetition separator)",
             "`": "backtick (not in the X12 5010 character set)"}
    if ch in names:
        return names[ch]
    if not ch.isascii():
        return f"non-ASCII character U+{ord(ch):04X}"
    return f"control character U+{ord(ch):04X}"


def check_value(value: str, where: str = "value") -> str:
    """Return `value` unchanged, or raise X12ValueError naming the first character an element cannot carry."""
    bad = _FORBIDDEN.search(value)
    if bad:
        raise X12ValueError(f"{where} contains a {_describe(bad.group())} at position {bad.start() + 1}; "
                            "it cannot be written into an X12 element.")
    return value


def format_decimal(value: Decimal | int) -> str:
    """Minimal X12 'R' form: 100, 75.25, 62.5, 0.5 (never exponent notation, no trailing zeros)."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise X12ValueError(f"expected a Decimal or int, got {type(value).__name__} ({value!r}); "
                            "floats are not accepted (use Decimal).")
    d = Decimal(value)
    if not d.is_finite():
        raise X12ValueError(f"{value!r} is not a finite number.")
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_date(value: date) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise X12ValueError(f"expected a date, got {type(value).__name__}.")
    if not 1 <= value.year <= 9999:
        raise X12ValueError(f"date {value!r} out of range.")
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _scalar(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, Text):
        check_value(value, where)
        return _WHITESPACE_RUN.sub(" ", value.strip()).upper()
    if isinstance(value, str):
        return check_value(value, where)
    if isinstance(value, bool):
        raise X12ValueError(f"{where}: booleans have no X12 form; pass 'Y'/'N'.")
    if isinstance(value, (Decimal, int)):
        return format_decimal(value)
    if isinstance(value, date):
        return format_date(value)
    raise X12ValueError(f"{where}: cannot write a {type(value).__name__} ({value!r}).")


def _drop_trailing_empties(parts: list[str]) -> list[str]:
    end = len(parts)
    while end and parts[end - 1] == "":
        end -= 1
    return parts[:end]


class Segment:
    """One segment built from typed element values. `str(seg)` is the segment without its terminator."""

    __slots__ = ("seg_id", "elements")

    def __init__(self, seg_id: str, *elements: object) -> None:
        if not isinstance(seg_id, str) or not _SEGMENT_ID.match(seg_id):
            raise X12ValueError(f"invalid segment identifier {seg_id!r}.")
        self.seg_id = seg_id
        rendered: list[str] = []
        for i, value in enumerate(elements, start=1):
            where = f"{seg_id}{i:02d}"
            if isinstance(value, Composite):
                parts = [_scalar(c, f"{where}-{j}") for j, c in enumerate(value, start=1)]
                rendered.append(COMPONENT_SEPARATOR.join(_drop_trailing_empties(parts)))
            elif isinstance(value, (list, tuple)):
                raise X12ValueError(f"{where}: use Composite(...) for a composite element.")
            else:
                rendered.append(_scalar(value, where))
        self.elements = tuple(_drop_trailing_empties(rendered))
        if not self.elements:
            raise X12ValueError(f"segment {seg_id} has no data; X12 does not allow empty segments.")

    def __str__(self) -> str:
        return ELEMENT_SEPARATOR.join((self.seg_id, *self.elements))

    def __repr__(self) -> str:
        return f"Segment({str(self)!r})"


def _fixed(value: str, width: int, where: str) -> str:
    check_value(value, where)
    if len(value) > width:
        raise X12ValueError(f"{where} is {len(value)} characters; the ISA field is {width} wide.")
    return value.ljust(width)


def isa_segment(
    *, sender_qualifier: str, sender_id: str, receiver_qualifier: str, receiver_id: str, created: datetime,
    control_number: int, usage: str, ack_requested: bool = False,
) -> str:
    """The fixed-width ISA, exactly 106 characters including the '~' (pyx12 refuses anything else)."""
    if not isinstance(control_number, int) or isinstance(control_number, bool) \
            or not 1 <= control_number <= 999_999_999:
        raise X12ValueError(f"ISA13 must be an integer 1..999999999, got {control_number!r}.")
    if usage not in ("T", "P"):
        raise X12ValueError(f"ISA15 usage must be T or P, got {usage!r}.")
    for where, q in (("ISA05", sender_qualifier), ("ISA07", receiver_qualifier)):
        if len(q) != 2:
            raise X12ValueError(f"{where} qualifier must be 2 characters, got {q!r}.")
    for where, v in (("ISA06", sender_id), ("ISA08", receiver_id)):
        if not v.strip():
            raise X12ValueError(f"{where} is empty.")
    fields = [
        "ISA", "00", " " * 10, "00", " " * 10,
        _fixed(sender_qualifier, 2, "ISA05"), _fixed(sender_id, 15, "ISA06"),
        _fixed(receiver_qualifier, 2, "ISA07"), _fixed(receiver_id, 15, "ISA08"),
        f"{created:%y%m%d}", f"{created:%H%M}", REPETITION_SEPARATOR, "00501", f"{control_number:09d}",
        "1" if ack_requested else "0", usage, COMPONENT_SEPARATOR,
    ]
    text = ELEMENT_SEPARATOR.join(fields) + SEGMENT_TERMINATOR
    if len(text) != ISA_LENGTH:  # cannot happen with the widths above; guards future edits
        raise X12ValueError(f"ISA is {len(text)} characters, not {ISA_LENGTH}.")
    return text


@dataclass
class _Open:
    kind: str
    control: str
    start_segment: int  # file segment number of the opening segment
    children: int = 0


class Interchange:
    """Accumulates one interchange (ISA .. IEA) and keeps every count and control number consistent.

    Segment numbers are 1-based positions in the whole file (ISA = 1), the numbering pyx12 reports findings in.
    """

    def __init__(self, *, line_breaks: bool = True) -> None:
        self._suffix = SEGMENT_TERMINATOR + (SEGMENT_SUFFIX if line_breaks else "")
        self._parts: list[str] = []
        self.segment_count = 0
        self._isa: _Open | None = None
        self._gs: _Open | None = None
        self._st: _Open | None = None
        self._closed = False

    # -- envelope --------------------------------------------------------------------------------------
    def open_interchange(self, **isa_fields) -> None:
        if self._isa or self._closed:
            raise X12ValueError("the interchange is already open.")
        isa = isa_segment(**isa_fields)
        self._parts.append(isa[:-1] + self._suffix)
        self.segment_count += 1
        self._isa = _Open("ISA", f"{isa_fields['control_number']:09d}", self.segment_count)

    def open_group(self, *, sender: str, receiver: str, created: datetime, control_number: int,
                   version: str = "005010X222A1", functional_id: str = "HC") -> None:
        if not self._isa or self._gs:
            raise X12ValueError("a group opens inside an interchange, one at a time.")
        if not isinstance(control_number, int) or not 1 <= control_number <= 999_999_999:
            raise X12ValueError(f"GS06 must be an integer 1..999999999, got {control_number!r}.")
        self._emit(Segment("GS", functional_id, sender, receiver, created.date(), f"{created:%H%M}",
                           control_number, "X", version))
        self._gs = _Open("GS", str(control_number), self.segment_count)
        self._isa.children += 1

    def open_transaction(self, control_number: str, *, transaction_set: str = "837",
                         version: str = "005010X222A1") -> int:
        if not self._gs or self._st:
            raise X12ValueError("a transaction opens inside a group, one at a time.")
        if not 4 <= len(control_number) <= 9:
            raise X12ValueError(f"ST02 must be 4-9 characters, got {control_number!r}.")
        number = self._emit(Segment("ST", transaction_set, control_number, version))
        self._st = _Open("ST", control_number, number)
        self._gs.children += 1
        return number

    def close_transaction(self) -> int:
        if not self._st:
            raise X12ValueError("no open transaction.")
        count = self.segment_count + 1 - self._st.start_segment + 1  # ST .. SE inclusive
        number = self._emit(Segment("SE", count, self._st.control))
        self._st = None
        return number

    def close_group(self) -> None:
        if not self._gs or self._st:
            raise X12ValueError("close the transaction before the group.")
        self._emit(Segment("GE", self._gs.children, self._gs.control))
        self._gs = None

    def close_interchange(self) -> None:
        if not self._isa or self._gs:
            raise X12ValueError("close the group before the interchange.")
        self._emit(Segment("IEA", self._isa.children, self._isa.control))
        self._isa = None
        self._closed = True

    # -- body ------------------------------------------------------------------------------------------
    def add(self, seg_id: str, *elements: object) -> int:
        """Write a segment inside the open transaction; returns its file segment number."""
        if not self._st:
            raise X12ValueError(f"{seg_id} written outside a transaction.")
        return self._emit(Segment(seg_id, *elements))

    def _emit(self, segment: Segment) -> int:
        self._parts.append(str(segment) + self._suffix)
        self.segment_count += 1
        return self.segment_count

    @property
    def transaction_segment_count(self) -> int:
        """Segments of the open transaction so far, ST included."""
        return self.segment_count - self._st.start_segment + 1 if self._st else 0

    def text(self) -> str:
        if not self._closed:
            raise X12ValueError("the interchange is not closed.")
        return "".join(self._parts)


def join_segments(segments: Iterable[Segment], *, line_breaks: bool = True) -> str:
    suffix = SEGMENT_TERMINATOR + (SEGMENT_SUFFIX if line_breaks else "")
    return "".join(str(s) + suffix for s in segments)
