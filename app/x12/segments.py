"""Segments from typed values. Every value is checked for the delimiters and control characters before it
can reach a segment (intake already rejects them; this is the second lock)."""

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

ELEMENT, COMPONENT, REPETITION, SEGMENT = "*", ":", "^", "~"
_FORBIDDEN = re.compile(r"[~*:^\x00-\x1f\x7f]")


class X12ValueError(ValueError):
    pass


def clean(value: object) -> str:
    text = "" if value is None else str(value)
    if not text.isascii() or _FORBIDDEN.search(text):
        bad = next(ch for ch in text if not ch.isascii() or _FORBIDDEN.match(ch))
        raise X12ValueError(f"value holds U+{ord(bad):04X}, which cannot appear in an X12 element")
    return text.strip()


def is_clean(text: str) -> bool:
    """True when `text` (typically several values joined) holds no delimiter, control character or non-ASCII:
    one scan for many values. When it is False, check_named() finds and names the value."""
    return text.isascii() and _FORBIDDEN.search(text) is None


def check_named(values: Iterable[tuple[str, object]]) -> None:
    """clean() each (element name, value); the error names the element of the first bad value."""
    for name, value in values:
        try:
            clean(value)
        except X12ValueError as exc:
            raise X12ValueError(f"{name}: {exc}") from None


def check_all(values: Iterable[str]) -> None:
    """The second lock for many values at once (one scan instead of one per value): raises like clean()."""
    values = [v for v in values if v]
    text = "".join(values)
    if not text.isascii() or _FORBIDDEN.search(text):
        for v in values:
            clean(v)


def amount(value: Decimal) -> str:
    """Minimal decimal form: 100, 75.25, 62.5."""
    text = str(value)
    if "E" in text or "e" in text:
        return format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def ccyymmdd(day) -> str:  # noqa: ANN001 - a date
    return day.isoformat().replace("-", "")


class Raw:
    """A composite built by `composite()`: its ':' separators are intended."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def composite(*parts: object) -> str:
    values = [clean(p) for p in parts]
    while values and values[-1] == "":
        values.pop()
    return COMPONENT.join(values)


def segment(tag: str, *elements: object) -> str:
    try:
        values = [e.text if isinstance(e, Raw) else clean(e) for e in elements]
    except X12ValueError:
        check_named((f"{tag}{i:02d}", e) for i, e in enumerate(elements, start=1) if not isinstance(e, Raw))
        raise
    while values and values[-1] == "":
        values.pop()
    return ELEMENT.join([tag, *values])


def isa(*, sender_qualifier: str, sender_id: str, receiver_qualifier: str, receiver_id: str, date6: str,
        time4: str, control: int, usage: str) -> str:
    """ISA is fixed width: exactly 106 characters with its terminator."""
    if not 1 <= control <= 999_999_999:
        raise X12ValueError("ISA13 must be 1..999999999")
    fields = [
        "ISA", "00", " " * 10, "00", " " * 10,
        clean(sender_qualifier).ljust(2)[:2], clean(sender_id).ljust(15)[:15],
        clean(receiver_qualifier).ljust(2)[:2], clean(receiver_id).ljust(15)[:15],
        date6, time4, REPETITION, "00501", f"{control:09d}", "0", clean(usage), COMPONENT,
    ]
    text = ELEMENT.join(fields)
    if len(text) + 1 != 106:
        raise X12ValueError("ISA is not 106 characters")
    return text


def join(segments: Sequence[str]) -> str:
    terminator = SEGMENT + "\n"
    return terminator.join(segments) + terminator
