"""Field parsers: each takes the raw value a caller sent, records what is wrong with it, and returns the
normalised value (or None). Pure: no I/O, no framework."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from app.invoices.problems import Findings

X12_DELIMITERS = {"~": "tilde", "*": "asterisk", ":": "colon", "^": "caret"}
# Printable ASCII the 5010 extended character set does not contain (besides the delimiters above).
NOT_IN_X12_CHARSET = {"`": "backtick"}
# Characters that do not decompose under NFKD but have an obvious ASCII spelling.
TRANSLITERATIONS = str.maketrans(
    {
        "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o", "Ł": "L", "ł": "l",
        "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th", "ı": "i",
        "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
        "\u00a0": " ",
    }
)


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "") or raw == []


def as_text(raw: object) -> str:
    if isinstance(raw, bool):
        return "Y" if raw else "N"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def to_x12_ascii(value: str) -> str | None:
    """The form an 837P can carry: accents stripped, known letters spelled out. None if impossible."""
    decomposed = unicodedata.normalize("NFKD", value.translate(TRANSLITERATIONS))
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return ascii_only if ascii_only.isascii() else None


def required(f: Findings, loc: str, raw: object, label: str) -> bool:
    if is_blank(raw):
        f.error(loc, "required", f"{label} is required.")
        return False
    return True


# Plain printable ASCII needs no character-by-character look unless it holds one of these.
_NOT_IN_837P = re.compile("[" + re.escape("".join(X12_DELIMITERS) + "".join(NOT_IN_X12_CHARSET)) + "]")


def _fits(f: Findings, loc: str, label: str, length: int, min_len: int, max_len: int) -> bool:
    if length > max_len:
        f.error(loc, "too_long", f"{label} is {length} characters; the 837P allows at most {max_len}.")
        return False
    if length < min_len:
        f.error(loc, "too_short", f"{label} must be at least {min_len} characters.")
        return False
    return True


def free_text(
    f: Findings, loc: str, raw: object, label: str, *, max_len: int, min_len: int = 1,
    is_required: bool = True,
) -> str | None:
    """Names, addresses, service names: stored as given; rejected when they would break an X12 segment."""
    if is_blank(raw):
        if is_required:
            required(f, loc, raw, label)
        return None
    value = as_text(raw)
    if value.isascii() and value.isprintable() and not _NOT_IN_837P.search(value):
        return value if _fits(f, loc, label, len(value), min_len, max_len) else None  # what nearly every value is
    ok = True
    for i, ch in enumerate(value):
        # What the 837P would carry for this character: a fullwidth '＊' is spelled '*' and would split a segment.
        spelled = ch if ch.isascii() else (to_x12_ascii(ch) or "")
        delimiter = next((d for d in X12_DELIMITERS if d in spelled), None)
        banned = next((c for c in NOT_IN_X12_CHARSET if c in spelled), None)
        read_as = "" if spelled == ch else f", which the 837P would carry as '{delimiter or banned}',"
        if delimiter:
            f.error(
                loc, "x12_delimiter",
                f"{label} contains '{ch}' ({X12_DELIMITERS[delimiter]}){read_as} at position {i + 1}; "
                "the X12 delimiters ~ * : ^ cannot appear in an 837P value. Remove or replace it.",
            )
            ok = False
        elif banned:
            f.error(
                loc, "invalid_character",
                f"{label} contains '{ch}' ({NOT_IN_X12_CHARSET[banned]}){read_as} at position {i + 1}, which "
                "the X12 5010 character set does not allow. Remove or replace it.",
            )
            ok = False
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            f.error(
                loc, "control_character",
                f"{label} contains the control character U+{ord(ch):04X} at position {i + 1}. "
                "Remove it (line breaks and tabs are not allowed).",
            )
            ok = False
    if not ok:
        return None
    ascii_form = to_x12_ascii(value)
    if ascii_form is None:
        bad = next(ch for ch in value if to_x12_ascii(ch) is None)
        f.error(
            loc, "unsupported_character",
            f"{label} contains '{bad}', which has no Latin-alphabet spelling the 837P could carry. "
            "Give the name in Latin letters.",
        )
        return None
    if not _fits(f, loc, label, len(ascii_form), min_len, max_len):
        return None
    if ascii_form != value:
        f.warn(
            loc, "transliterated",
            f"{label} is stored as given; the 837P will carry it as '{ascii_form.upper()}' "
            "(X12 allows only the basic Latin alphabet).",
        )
    return value


def identifier(
    f: Findings, loc: str, raw: object, label: str, *, max_len: int, min_len: int = 1,
    is_required: bool = True,
) -> str | None:
    """Invoice numbers, authorization, control and record numbers: printable ASCII without delimiters."""
    value = free_text(f, loc, raw, label, max_len=max_len, min_len=min_len, is_required=is_required)
    if value is not None and not value.isascii():
        f.warnings = [w for w in f.warnings if w.loc != loc]
        f.error(loc, "invalid_format", f"{label} must use ASCII letters, digits and punctuation only.")
        return None
    return value


def _digits_only(raw: object) -> str:
    return re.sub(r"[\s\-().+/]", "", as_text(raw))


def _ascii_digits(value: str) -> bool:
    """str.isdigit() also accepts '²' and '１２３', which int() or an 837P cannot take."""
    return value.isascii() and value.isdigit()


def npi(f: Findings, loc: str, raw: object, label: str, *, is_required: bool = True) -> str | None:
    if is_blank(raw):
        if is_required:
            required(f, loc, raw, label)
        return None
    value = _digits_only(raw)
    if not (len(value) == 10 and _ascii_digits(value)):
        f.error(loc, "invalid_format", f"{label} must be 10 digits; got {len(value)} characters.",
                ["10 digits, e.g. 1999999992"])
        return None
    if value[0] not in "12" or not npi_check_digit_ok(value):
        f.error(
            loc, "invalid_check_digit",
            f"{label} {value} fails the NPI check digit (Luhn over 80840 + the NPI, first digit 1 or 2). "
            "Check the number against NPPES.",
        )
        return None
    return value


def npi_check_digit_ok(value: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed("80840" + value)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def fixed_digits(
    f: Findings, loc: str, raw: object, label: str, *, lengths: tuple[int, ...], example: str,
    is_required: bool = True, why: str = "",
) -> str | None:
    if is_blank(raw):
        if is_required:
            required(f, loc, raw, label)
        return None
    value = _digits_only(raw)
    if _ascii_digits(value) and len(value) in lengths:
        return value
    want = " or ".join(str(n) for n in lengths)
    code = "zip_plus4_required" if why and _ascii_digits(value) and len(value) == 5 else "invalid_format"
    f.error(loc, code, f"{label} must be {want} digits{why}; got '{as_text(raw)}'.", [example])
    return None


def tin(f: Findings, loc: str, raw: object, label: str) -> str | None:
    return fixed_digits(f, loc, raw, label, lengths=(9,), example="123456789 or 12-3456789")


def phone(f: Findings, loc: str, raw: object, label: str) -> str | None:
    value = fixed_digits(f, loc, raw, label, lengths=(10, 11), example="9165550101 or (916) 555-0101")
    if value is None:
        return None
    if len(value) == 11:
        if value[0] != "1":
            f.error(loc, "invalid_format", f"{label} must be a 10-digit US number.", ["(916) 555-0101"])
            return None
        value = value[1:]
    return value


def zip_code(f: Findings, loc: str, raw: object, label: str, *, plus4: bool = False) -> str | None:
    if plus4:
        return fixed_digits(
            f, loc, raw, label, lengths=(9,), example="95814-1420",
            why=" (ZIP+4: the 837P requires the 9-digit ZIP for the billing provider, loop 2010AA N403)",
        )
    return fixed_digits(f, loc, raw, label, lengths=(5, 9), example="95814 or 95814-1420")


def code_from(
    f: Findings, loc: str, raw: object, label: str, allowed: dict[str, str], *, is_required: bool = True,
    pad: int = 0,
) -> str | None:
    if is_blank(raw):
        if is_required:
            required(f, loc, raw, label)
        return None
    value = as_text(raw).upper().replace(" ", "")
    if pad and value.isdigit():
        value = value.zfill(pad)
    if value in allowed:
        return value
    f.error(loc, "invalid_code", f"{label} '{as_text(raw)}' is not a recognised code.",
            [f"{k} ({v})" for k, v in allowed.items()])
    return None


CIN_PATTERN = re.compile(r"^[0-9]{8}[A-Z]$")


def cin(f: Findings, loc: str, raw: object, label: str) -> str | None:
    if not required(f, loc, raw, label):
        return None
    value = as_text(raw).upper().replace(" ", "").replace("-", "")
    if CIN_PATTERN.match(value):
        return value
    f.error(loc, "invalid_format", f"{label} must be 8 digits followed by a letter (9 characters).",
            ["91234567A"])
    return None


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
_TWO_DIGIT_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z|([0-9]{2})/([0-9]{2})/([0-9]{4})\Z")


def a_date(f: Findings, loc: str, raw: object, label: str, *, is_required: bool = True) -> date | None:
    if is_blank(raw):
        if is_required:
            required(f, loc, raw, label)
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = as_text(raw)
    if (shape := _TWO_DIGIT_DATE.match(text)) is not None:  # strptime's answer, without strptime's cost
        iso_year, iso_month, iso_day, us_month, us_day, us_year = shape.groups()
        try:
            value = date(int(iso_year or us_year), int(iso_month or us_month), int(iso_day or us_day))
        except ValueError:
            value = None
        if value is not None and value.year >= 1900:
            return value
    for fmt in DATE_FORMATS:
        try:
            value = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if value.year < 1900:
            break
        return value
    f.error(loc, "invalid_date", f"{label} '{text}' is not a real calendar date in an accepted format.",
            ["MM/DD/YYYY", "YYYY-MM-DD"])
    return None


_PLAIN_NUMBER = re.compile(r"^\d+(\.\d+)?$|^\.\d+$")
_GROUPED_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")


def decimal_value(
    f: Findings, loc: str, raw: object, label: str, *, places: int, money: bool,
    positive: bool = False,
) -> Decimal | None:
    """Money: '$1,234.50' and 1234.5 both read as 1234.50; ambiguous spellings ('1,5') are refused."""
    if is_blank(raw):
        required(f, loc, raw, label)
        return None
    if isinstance(raw, bool):
        text = "?"
    else:
        text = as_text(raw).replace(" ", "")
    if money and text.startswith("$"):
        text = text[1:]
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if _GROUPED_NUMBER.match(body):
        body = body.replace(",", "")
    if not _PLAIN_NUMBER.match(body):
        example = "125.50 or $1,250.00" if money else "1 or 1.5"
        f.error(loc, "invalid_number", f"{label} '{as_text(raw)}' is not a number.", [example])
        return None
    value = Decimal(body)
    if negative and value != 0:
        f.error(loc, "negative", f"{label} cannot be negative.")
        return None
    if -value.as_tuple().exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        unit = "cents (2 decimal places)" if money else f"{places} decimal places"
        f.error(loc, "too_precise", f"{label} {body} has more than {unit}.")
        return None
    if positive and value <= 0:
        f.error(loc, "not_positive", f"{label} must be greater than 0.")
        return None
    if value >= Decimal(10) ** 12:
        f.error(loc, "too_large", f"{label} {body} is too large.")
        return None
    return value.quantize(Decimal(1).scaleb(-places)) if money else value


YES = {"Y", "YES", "TRUE", "1"}
NO = {"N", "NO", "FALSE", "0"}


def yes_no(f: Findings, loc: str, raw: object, label: str) -> bool | None:
    if not required(f, loc, raw, label):
        return None
    if isinstance(raw, bool):
        return raw
    text = as_text(raw).upper()
    if text in YES:
        return True
    if text in NO:
        return False
    f.error(loc, "invalid_code", f"{label} must be Y or N; got '{as_text(raw)}'.", ["Y", "N"])
    return None
