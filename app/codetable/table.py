"""Versioned tables of allowed HCPCS + modifier combinations (ECM and Community Supports).

Pure module: standard library only. The data lives in ``codes/allowed_codes/``, one CSV per effective
period, the period in the file name (``<from>_<to|open>.csv``, ``to`` inclusive). See ``codes/README.md``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

__all__ = [
    "COLUMNS",
    "CONFIDENCES",
    "ENCOUNTER_UNITS",
    "PROGRAMS",
    "CodeRow",
    "CodeTableError",
    "CodeTableVersion",
    "CodeTables",
    "load_code_list",
    "normalize_modifiers",
]

COLUMNS: tuple[str, ...] = (
    "hcpcs",
    "modifiers",
    "program",
    "service_name",
    "encounter_unit",
    "unit_conversion",
    "max_units_per_line",
    "limit_note",
    "source",
    "confidence",
)
PROGRAMS = frozenset({"ECM", "CS"})
ENCOUNTER_UNITS = frozenset(
    {"per encounter", "per 15 minutes", "per diem", "per service", "per month", "per meal"}
)
CONFIDENCES = frozenset({"seed", "public"})
MAX_MODIFIERS = 4  # an 837P service line carries at most four modifiers (SV101-3..6)

_HCPCS_RE = re.compile(r"^[A-Z][0-9]{4}$")
_MODIFIER_RE = re.compile(r"^[A-Z0-9]{2}$")
_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2}|open)$")


class CodeTableError(Exception):
    """A code table or code list file is malformed. The message names the file and, when known, the line."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        self.reason = message
        where = ""
        if file is not None:
            where = file if line is None else f"{file}, line {line}"
            where += ": "
        super().__init__(where + message)


def normalize_modifiers(modifiers: str | Iterable[str] | None) -> tuple[str, ...]:
    """Upper-case and strip modifiers; a string is split on spaces, commas, '+' or ':'. Empty items dropped."""
    if modifiers is None:
        return ()
    if isinstance(modifiers, str):
        items: Iterable[str] = re.split(r"[\s,+:]+", modifiers)
    else:
        items = modifiers
    return tuple(m.strip().upper() for m in items if m is not None and str(m).strip())


@dataclass(frozen=True)
class CodeRow:
    hcpcs: str
    modifiers: tuple[str, ...]
    program: str
    service_name: str
    encounter_unit: str
    unit_conversion: Decimal
    max_units_per_line: Decimal | None
    limit_note: str
    source: str
    confidence: str

    @property
    def modifier_set(self) -> frozenset[str]:
        return frozenset(self.modifiers)

    @property
    def key(self) -> tuple[str, frozenset[str]]:
        return (self.hcpcs, self.modifier_set)

    def describe(self) -> str:
        """E.g. ``G9008 U1+GQ (ECM phone/telehealth, clinical staff)``."""
        return f"{self.hcpcs} {'+'.join(self.modifiers)} ({self.service_name})"


@dataclass(frozen=True)
class CodeTableVersion:
    version: str  # file stem, e.g. "2026-01-01_open"
    effective_from: date
    effective_to: date | None  # inclusive; None = open
    rows: tuple[CodeRow, ...]
    _index: dict[tuple[str, frozenset[str]], CodeRow] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        index: dict[tuple[str, frozenset[str]], CodeRow] = {}
        for row in self.rows:
            if row.key in index:
                raise CodeTableError(
                    f"duplicate combination {row.describe()} (also {index[row.key].describe()})",
                    file=self.version,
                )
            index[row.key] = row
        object.__setattr__(self, "_index", index)

    def rows_for(self, hcpcs: str) -> list[CodeRow]:
        code = (hcpcs or "").strip().upper()
        return [r for r in self.rows if r.hcpcs == code]

    def match(self, hcpcs: str, modifiers: str | Iterable[str] | None) -> CodeRow | None:
        """The row whose HCPCS equals ``hcpcs`` and whose modifier set equals ``modifiers`` (as a set)."""
        code = (hcpcs or "").strip().upper()
        return self._index.get((code, frozenset(normalize_modifiers(modifiers))))

    def nearest(
        self, hcpcs: str, modifiers: str | Iterable[str] | None, limit: int = 5
    ) -> list[CodeRow]:
        """Allowed rows closest to an unmatched combination, for error messages.

        Rows with the same HCPCS first (fewest differing modifiers first), then, if there are none,
        rows sharing at least one modifier.
        """
        code = (hcpcs or "").strip().upper()
        mods = frozenset(normalize_modifiers(modifiers))
        same_code = [r for r in self.rows if r.hcpcs == code]
        if same_code:
            ranked = sorted(same_code, key=lambda r: len(r.modifier_set ^ mods))
        else:
            ranked = sorted(
                (r for r in self.rows if r.modifier_set & mods),
                key=lambda r: len(r.modifier_set ^ mods),
            )
        return ranked[:limit]

    def covers(self, on: date) -> bool:
        if on < self.effective_from:
            return False
        return self.effective_to is None or on <= self.effective_to

    def overlaps(self, other: CodeTableVersion) -> bool:
        a_end = self.effective_to or date.max
        b_end = other.effective_to or date.max
        return self.effective_from <= b_end and other.effective_from <= a_end


class CodeTables:
    """All versions of the allowed-code table, sorted by effective_from, periods not overlapping."""

    versions: tuple[CodeTableVersion, ...]

    def __init__(self, versions: Iterable[CodeTableVersion]):
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        for earlier, later in zip(ordered, ordered[1:]):
            if earlier.overlaps(later):
                raise CodeTableError(
                    f"effective periods overlap: {earlier.version} and {later.version}",
                    file=f"{later.version}.csv",
                )
        self.versions = ordered

    def __repr__(self) -> str:
        return f"CodeTables({[v.version for v in self.versions]!r})"

    @classmethod
    def load(cls, directory: Path) -> CodeTables:
        """Load every ``*.csv`` in ``directory``. Other files (e.g. a README) are ignored."""
        directory = Path(directory)
        if not directory.is_dir():
            raise CodeTableError(f"code table directory not found: {directory}")
        files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
        if not files:
            raise CodeTableError(f"no code table files (*.csv) in {directory}")
        return cls(_load_version(p) for p in files)

    def in_force(self, on: date) -> CodeTableVersion | None:
        for v in self.versions:
            if v.covers(on):
                return v
        return None

    def match(
        self, on: date, hcpcs: str, modifiers: str | Iterable[str] | None
    ) -> CodeRow | None:
        """Convenience: the matching row in the version in force on ``on`` (None if none)."""
        v = self.in_force(on)
        return v.match(hcpcs, modifiers) if v is not None else None


# --------------------------------------------------------------------------------------------------
# parsing


def _parse_period(path: Path) -> tuple[date, date | None]:
    m = _FILE_RE.match(path.stem)
    if not m:
        raise CodeTableError(
            "file name must be <YYYY-MM-DD>_<YYYY-MM-DD|open>.csv", file=path.name
        )
    try:
        start = date.fromisoformat(m.group(1))
        end = None if m.group(2) == "open" else date.fromisoformat(m.group(2))
    except ValueError as exc:
        raise CodeTableError(f"bad date in file name: {exc}", file=path.name) from None
    if end is not None and end < start:
        raise CodeTableError("period ends before it starts", file=path.name)
    return start, end


def _read_rows(path: Path, expected_header: tuple[str, ...]):
    """Yield (line_number, cells) for each non-blank data row after checking the header."""
    reader = None
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, strict=True)
            header: list[str] | None = None
            for cells in reader:
                line = reader.line_num
                if not cells or all(not c.strip() for c in cells):
                    continue
                if header is None:
                    header = [c.strip() for c in cells]
                    if tuple(header) != expected_header:
                        raise CodeTableError(
                            f"header must be {','.join(expected_header)!r}, got {','.join(header)!r}",
                            file=path.name,
                            line=line,
                        )
                    continue
                if len(cells) != len(expected_header):
                    raise CodeTableError(
                        f"expected {len(expected_header)} columns, got {len(cells)}",
                        file=path.name,
                        line=line,
                    )
                yield line, [c.strip() for c in cells]
            if header is None:
                raise CodeTableError("empty file (no header row)", file=path.name)
    except csv.Error as exc:
        line = reader.line_num if reader is not None else None
        raise CodeTableError(f"CSV error: {exc}", file=path.name, line=line) from None
    except UnicodeDecodeError as exc:
        raise CodeTableError(f"not UTF-8: {exc}", file=path.name) from None
    except OSError as exc:
        raise CodeTableError(f"cannot read: {exc}", file=path.name) from None


def _decimal(value: str, column: str, *, file: str, line: int) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise CodeTableError(f"{column}: not a decimal number: {value!r}", file=file, line=line) from None
    if not d.is_finite() or d <= 0:
        raise CodeTableError(f"{column}: must be a number > 0, got {value!r}", file=file, line=line)
    return d


def _parse_row(cells: list[str], *, file: str, line: int) -> CodeRow:
    v = dict(zip(COLUMNS, cells))

    def fail(msg: str) -> CodeTableError:
        return CodeTableError(msg, file=file, line=line)

    hcpcs = v["hcpcs"].upper()
    if not _HCPCS_RE.match(hcpcs):
        raise fail(f"hcpcs: not a HCPCS Level II code: {v['hcpcs']!r}")

    modifiers = normalize_modifiers(v["modifiers"].split())
    if not modifiers:
        raise fail("modifiers: at least one modifier is required")
    if len(modifiers) > MAX_MODIFIERS:
        raise fail(f"modifiers: at most {MAX_MODIFIERS}, got {len(modifiers)}")
    for m in modifiers:
        if not _MODIFIER_RE.match(m):
            raise fail(f"modifiers: not a two-character modifier: {m!r}")
    if len(set(modifiers)) != len(modifiers):
        raise fail(f"modifiers: repeated modifier in {v['modifiers']!r}")

    program = v["program"].upper()
    if program not in PROGRAMS:
        raise fail(f"program: must be one of {sorted(PROGRAMS)}, got {v['program']!r}")
    if not v["service_name"]:
        raise fail("service_name: required")
    unit = v["encounter_unit"].lower()
    if unit not in ENCOUNTER_UNITS:
        raise fail(f"encounter_unit: must be one of {sorted(ENCOUNTER_UNITS)}, got {v['encounter_unit']!r}")
    conversion = (
        _decimal(v["unit_conversion"], "unit_conversion", file=file, line=line)
        if v["unit_conversion"]
        else Decimal(1)
    )
    max_units = (
        _decimal(v["max_units_per_line"], "max_units_per_line", file=file, line=line)
        if v["max_units_per_line"]
        else None
    )
    if not v["source"]:
        raise fail("source: required (every row must show where it comes from)")
    confidence = v["confidence"].lower()
    if confidence not in CONFIDENCES:
        raise fail(f"confidence: must be one of {sorted(CONFIDENCES)}, got {v['confidence']!r}")

    return CodeRow(
        hcpcs=hcpcs,
        modifiers=modifiers,
        program=program,
        service_name=v["service_name"],
        encounter_unit=unit,
        unit_conversion=conversion,
        max_units_per_line=max_units,
        limit_note=v["limit_note"],
        source=v["source"],
        confidence=confidence,
    )


def _load_version(path: Path) -> CodeTableVersion:
    start, end = _parse_period(path)
    rows: list[CodeRow] = []
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for line, cells in _read_rows(path, COLUMNS):
        row = _parse_row(cells, file=path.name, line=line)
        if row.key in seen:
            raise CodeTableError(
                f"duplicate combination {row.hcpcs} {'+'.join(sorted(row.modifier_set))} "
                f"(first at line {seen[row.key]}); modifiers are compared as a set",
                file=path.name,
                line=line,
            )
        seen[row.key] = line
        rows.append(row)
    if not rows:
        raise CodeTableError("no rows", file=path.name)
    return CodeTableVersion(version=path.stem, effective_from=start, effective_to=end, rows=tuple(rows))


def load_code_list(path: Path) -> dict[str, str]:
    """Read a ``code,name`` CSV (place_of_service.csv, us_states.csv) into {code: name}, file order kept."""
    path = Path(path)
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for line, (code, name) in _read_rows(path, ("code", "name")):
        if not code:
            raise CodeTableError("code: required", file=path.name, line=line)
        if not name:
            raise CodeTableError("name: required", file=path.name, line=line)
        if code in out:
            raise CodeTableError(
                f"duplicate code {code!r} (first at line {lines[code]})", file=path.name, line=line
            )
        out[code] = name
        lines[code] = line
    return out
