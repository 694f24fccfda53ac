"""The allowed-code tables in codes/ and the pure loader in app/codetable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from app.codetable import CodeRow, CodeTableError, CodeTables, CodeTableVersion, load_code_list

CODES = Path(__file__).resolve().parents[2] / "codes"
ALLOWED = CODES / "allowed_codes"

HEADER = (
    "hcpcs,modifiers,program,service_name,encounter_unit,unit_conversion,"
    "max_units_per_line,limit_note,source,confidence\n"
)

# --- expected combinations, written out from reference/dhcs-code-table.md (independent of the CSVs) ---

ECM = {
    ("G9008", "U1"): "seed",
    ("G9008", "U1 GQ"): "seed",
    ("G9012", "U2"): "public",
    ("G9012", "U2 GQ"): "public",
    ("G9008", "U8"): "public",
    ("G9008", "U8 GQ"): "public",
    ("G9012", "U8"): "public",
    ("G9012", "U8 GQ"): "public",
}

CS_ALL_PERIODS = [
    ("H0043", "U6"), ("H2016", "U6"),                                   # housing transition navigation
    ("H0044", "U2"),                                                    # housing deposits
    ("T2040", "U6"), ("T2041", "U6"),                                   # tenancy and sustaining
    ("H0043", "U3"), ("H0044", "U3"),                                   # short-term post-hospitalization
    ("T2033", "U6"),                                                    # recuperative care
    ("H0045", "U6"), ("S5151", "U6"), ("S9125", "U6"),                  # respite
    ("T2012", "U6"), ("T2014", "U6"), ("T2018", "U6"), ("T2020", "U6"),
    ("H2014", "U6"), ("H2024", "U6"), ("H2026", "U6"),                  # day habilitation (7)
    ("T2038", "U4"),                                                    # NF transition/diversion to ALF
    ("T2038", "U5"),                                                    # community transition
    ("S5130", "U6"), ("T1019", "U6"),                                   # personal care and homemaker
    ("S5165", "U6"),                                                    # environmental accessibility
    ("S5165", "U5"),                                                    # asthma remediation
    ("S5170", "U6"), ("S9470", "U6"), ("S9977", "U6"),                  # medically tailored meals
    ("H0014", "U6"),                                                    # sobering centers
]

CS_FROM_2026 = [
    ("H0044", "U5"),                                                    # non-recurring set-up expenses
    ("S9452", "U5"), ("S9452", "U6"),                                   # nutrition education ind./group
    ("S9977", "U4"), ("S9977", "U5"), ("S9977", "U7"), ("S9977", "U8"), ("S9977", "U9"),
    ("H0040", "U1"), ("H0040", "U2"), ("H0043", "U2"), ("H0044", "U6"),  # transitional rent
    ("T1016", "U8"), ("T1016", "U8 GQ"),                                # housing outreach initiation
]


def _combos(version: CodeTableVersion) -> set[tuple[str, frozenset[str]]]:
    return {(r.hcpcs, frozenset(r.modifiers)) for r in version.rows}


def _key(hcpcs: str, mods: str) -> tuple[str, frozenset[str]]:
    return (hcpcs, frozenset(mods.split()))


@pytest.fixture(scope="module")
def tables() -> CodeTables:
    return CodeTables.load(ALLOWED)


@pytest.fixture(scope="module")
def v2025(tables: CodeTables) -> CodeTableVersion:
    v = tables.in_force(date(2025, 12, 31))
    assert v is not None
    return v


@pytest.fixture(scope="module")
def v2026(tables: CodeTables) -> CodeTableVersion:
    v = tables.in_force(date(2026, 1, 1))
    assert v is not None
    return v


def _write(directory: Path, name: str, body: str) -> Path:
    p = directory / name
    p.write_text(body, encoding="utf-8")
    return p


GOOD_ROW = "G9008,U1,ECM,ECM in person,per encounter,1,,,seed 002,seed\n"


# --- shipped data --------------------------------------------------------------------------------


def test_shipped_directory_has_exactly_the_two_periods(tables: CodeTables) -> None:
    assert [(v.version, v.effective_from, v.effective_to) for v in tables.versions] == [
        ("2022-01-01_2025-12-31", date(2022, 1, 1), date(2025, 12, 31)),
        ("2026-01-01_open", date(2026, 1, 1), None),
    ]


def test_2022_table_holds_exactly_the_reference_rows_without_2026_additions(v2025) -> None:
    expected = {_key(h, m) for (h, m) in ECM} | {_key(h, m) for (h, m) in CS_ALL_PERIODS}
    assert _combos(v2025) == expected
    assert len(v2025.rows) == 8 + 28


def test_2026_table_is_complete_not_a_delta(v2026) -> None:
    expected = (
        {_key(h, m) for (h, m) in ECM}
        | {_key(h, m) for (h, m) in CS_ALL_PERIODS}
        | {_key(h, m) for (h, m) in CS_FROM_2026}
    )
    assert _combos(v2026) == expected
    assert len(v2026.rows) == 8 + 28 + 14


@pytest.mark.parametrize("which", ["v2025", "v2026"])
def test_ecm_rows_have_program_and_confidence_from_the_reference(which, request) -> None:
    version = request.getfixturevalue(which)
    for (hcpcs, mods), confidence in ECM.items():
        row = version.match(hcpcs, mods.split())
        assert row is not None, (hcpcs, mods)
        assert row.program == "ECM"
        assert row.confidence == confidence, (hcpcs, mods)
        assert row.source


def test_only_the_two_g9008_u1_rows_are_seed_confidence(v2026) -> None:
    seed = {(r.hcpcs, frozenset(r.modifiers)) for r in v2026.rows if r.confidence == "seed"}
    assert seed == {_key("G9008", "U1"), _key("G9008", "U1 GQ")}
    assert all(r.program == "CS" for r in v2026.rows if r.hcpcs not in {"G9008", "G9012"})


def test_every_row_shows_a_source_and_a_known_unit(v2026) -> None:
    for r in v2026.rows:
        assert r.source.strip(), r.describe()
        assert r.encounter_unit in {
            "per encounter", "per 15 minutes", "per diem", "per service", "per month", "per meal"
        }
        assert r.unit_conversion > 0


def test_unit_limits_kept_as_row_data(v2025) -> None:
    sobering = v2025.match("H0014", ["U6"])
    recuperative = v2025.match("T2033", ["U6"])
    deposit = v2025.match("H0044", ["U2"])
    assert sobering.encounter_unit == "per diem" and sobering.max_units_per_line == Decimal(1)
    assert "24 hours" in sobering.limit_note
    assert recuperative.encounter_unit == "per diem" and recuperative.max_units_per_line == Decimal(90)
    assert deposit.max_units_per_line == Decimal(1)
    assert v2025.match("T2040", ["U6"]).max_units_per_line is None


# --- matching ------------------------------------------------------------------------------------


def test_g9008_without_modifiers_matches_nothing(v2025, v2026) -> None:
    assert v2025.match("G9008", []) is None
    assert v2026.match("G9008", ()) is None
    assert v2026.match("G9008", None) is None


def test_g9008_u1_gq_matches_in_either_order_and_case(v2025) -> None:
    a = v2025.match("G9008", ["GQ", "U1"])
    b = v2025.match("G9008", ["U1", "GQ"])
    c = v2025.match("g9008", ["gq", " u1 "])
    assert a is not None and a is b is c
    assert a.describe() == "G9008 U1+GQ (ECM phone/telehealth, clinical staff)"


def test_extra_or_missing_modifier_does_not_match(v2025) -> None:
    assert v2025.match("G9008", ["U1", "GQ", "25"]) is None
    assert v2025.match("G9008", ["GQ"]) is None
    assert v2025.match("G9012", ["U1"]) is None  # U1 belongs to G9008, not G9012


def test_rows_for_returns_every_modifier_set_of_a_code(v2026) -> None:
    assert {frozenset(r.modifiers) for r in v2026.rows_for("s9977")} == {
        frozenset({m}) for m in ("U4", "U5", "U6", "U7", "U8", "U9")
    }
    assert v2026.rows_for("Z9999") == []


def test_nearest_names_same_code_rows_first(v2025) -> None:
    names = [r.describe() for r in v2025.nearest("G9008", ["U2"])]
    assert names and all(n.startswith("G9008 ") for n in names)


# --- version by date -----------------------------------------------------------------------------


def test_version_chosen_by_service_date(tables: CodeTables) -> None:
    assert tables.in_force(date(2025, 12, 31)).version == "2022-01-01_2025-12-31"
    assert tables.in_force(date(2026, 1, 1)).version == "2026-01-01_open"
    assert tables.in_force(date(2022, 1, 1)).version == "2022-01-01_2025-12-31"
    assert tables.in_force(date(2040, 6, 1)).version == "2026-01-01_open"
    assert tables.in_force(date(2021, 12, 31)) is None


def test_2026_only_code_absent_before_2026(tables: CodeTables) -> None:
    assert tables.in_force(date(2025, 12, 31)).match("S9452", ["U5"]) is None
    assert tables.in_force(date(2026, 1, 1)).match("S9452", ["U5"]) is not None
    assert tables.in_force(date(2025, 12, 31)).match("H0040", ["U1"]) is None
    assert tables.in_force(date(2025, 12, 31)).match("T1016", ["U8", "GQ"]) is None


def test_covers_is_inclusive_at_both_ends() -> None:
    v = CodeTableVersion("2022-01-01_2025-12-31", date(2022, 1, 1), date(2025, 12, 31), ())
    assert v.covers(date(2022, 1, 1)) and v.covers(date(2025, 12, 31))
    assert not v.covers(date(2021, 12, 31)) and not v.covers(date(2026, 1, 1))


# --- malformed files -----------------------------------------------------------------------------


def test_bad_encounter_unit_error_names_file_and_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2022-01-01_open.csv",
        HEADER + GOOD_ROW + "G9012,U2,ECM,ECM in person,per fortnight,1,,,x,public\n",
    )
    with pytest.raises(CodeTableError) as exc:
        CodeTables.load(tmp_path)
    assert exc.value.file == "2022-01-01_open.csv" and exc.value.line == 3
    assert "2022-01-01_open.csv, line 3" in str(exc.value)
    assert "encounter_unit" in str(exc.value)


@pytest.mark.parametrize(
    "bad_row, what",
    [
        ("G9008,,ECM,ECM,per encounter,1,,,x,seed\n", "modifiers"),
        ("G900,U1,ECM,ECM,per encounter,1,,,x,seed\n", "hcpcs"),
        ("G9008,U1 GQQ,ECM,ECM,per encounter,1,,,x,seed\n", "modifiers"),
        ("G9008,U1,XYZ,ECM,per encounter,1,,,x,seed\n", "program"),
        ("G9008,U1,ECM,ECM,per encounter,abc,,,x,seed\n", "unit_conversion"),
        ("G9008,U1,ECM,ECM,per encounter,1,-2,,x,seed\n", "max_units_per_line"),
        ("G9008,U1,ECM,ECM,per encounter,1,,,x,maybe\n", "confidence"),
        ("G9008,U1,ECM,ECM,per encounter,1,,,,seed\n", "source"),
        ("G9008,U1,ECM,ECM,per encounter,1\n", "columns"),
    ],
)
def test_malformed_row_rejected_with_file_and_line(tmp_path: Path, bad_row: str, what: str) -> None:
    _write(tmp_path, "2022-01-01_open.csv", HEADER + GOOD_ROW + "\n" + bad_row)
    with pytest.raises(CodeTableError) as exc:
        CodeTables.load(tmp_path)
    assert "2022-01-01_open.csv, line 4" in str(exc.value)
    assert what in str(exc.value)


def test_wrong_header_rejected_at_line_1(tmp_path: Path) -> None:
    _write(tmp_path, "2022-01-01_open.csv", HEADER.replace("encounter_unit", "unit") + GOOD_ROW)
    with pytest.raises(CodeTableError, match=r"2022-01-01_open\.csv, line 1: header"):
        CodeTables.load(tmp_path)


def test_duplicate_combination_rejected_even_in_other_modifier_order(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "2022-01-01_open.csv",
        HEADER
        + "G9008,U1 GQ,ECM,telehealth,per encounter,1,,,x,seed\n"
        + "G9008,GQ U1,ECM,telehealth again,per encounter,1,,,x,seed\n",
    )
    with pytest.raises(CodeTableError, match=r"line 3: duplicate combination .*line 2"):
        CodeTables.load(tmp_path)


def test_bad_file_name_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "2022_codes.csv", HEADER + GOOD_ROW)
    with pytest.raises(CodeTableError, match=r"2022_codes\.csv"):
        CodeTables.load(tmp_path)


def test_period_ending_before_it_starts_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "2025-01-01_2024-12-31.csv", HEADER + GOOD_ROW)
    with pytest.raises(CodeTableError, match="before it starts"):
        CodeTables.load(tmp_path)


def test_overlapping_periods_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "2022-01-01_2025-12-31.csv", HEADER + GOOD_ROW)
    _write(tmp_path, "2025-12-31_open.csv", HEADER + GOOD_ROW)
    with pytest.raises(CodeTableError, match="overlap"):
        CodeTables.load(tmp_path)


def test_two_open_periods_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "2022-01-01_open.csv", HEADER + GOOD_ROW)
    _write(tmp_path, "2026-01-01_open.csv", HEADER + GOOD_ROW)
    with pytest.raises(CodeTableError, match="overlap"):
        CodeTables.load(tmp_path)


def test_new_version_is_picked_up_by_dropping_a_file(tmp_path: Path) -> None:
    _write(tmp_path, "2022-01-01_2025-12-31.csv", HEADER + GOOD_ROW)
    _write(tmp_path, "2026-01-01_open.csv", HEADER + GOOD_ROW.replace("ECM in person", "renamed"))
    _write(tmp_path, "README.md", "not a table")
    tables = CodeTables.load(tmp_path)
    assert [v.version for v in tables.versions] == ["2022-01-01_2025-12-31", "2026-01-01_open"]
    assert tables.in_force(date(2026, 3, 1)).match("G9008", ["U1"]).service_name == "renamed"


def test_blank_conversion_defaults_to_one_and_numbers_are_decimal(tmp_path: Path) -> None:
    _write(tmp_path, "2022-01-01_open.csv", HEADER + "T2033,U6,CS,Recup,per diem,,90,,x,public\n")
    row = CodeTables.load(tmp_path).versions[0].rows[0]
    assert isinstance(row, CodeRow)
    assert row.unit_conversion == Decimal(1) and isinstance(row.unit_conversion, Decimal)
    assert row.max_units_per_line == Decimal("90")


def test_empty_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(CodeTableError, match="no code table files"):
        CodeTables.load(tmp_path)


# --- code lists ----------------------------------------------------------------------------------


def test_place_of_service_list() -> None:
    pos = load_code_list(CODES / "place_of_service.csv")
    assert pos["02"] == "Telehealth Provided Other than in Patient's Home"
    assert pos["10"] == "Telehealth Provided in Patient's Home"
    assert pos["04"] == "Homeless Shelter"
    assert pos["27"].startswith("Outreach Site")
    assert pos["99"] == "Other Place of Service"
    for code in ("11", "12", "13", "14", "16"):
        assert code in pos
    assert "00" not in pos
    assert "28" not in pos  # unassigned
    assert all(len(c) == 2 and c.isdigit() for c in pos)


def test_us_states_list() -> None:
    states = load_code_list(CODES / "us_states.csv")
    assert states["CA"] == "California"
    assert states["DC"] == "District of Columbia"
    for code in ("AS", "GU", "MP", "PR", "VI", "AA", "AE", "AP"):
        assert code in states
    assert len(states) == 50 + 1 + 5 + 3


def test_code_list_duplicate_rejected_with_line(tmp_path: Path) -> None:
    p = _write(tmp_path, "us_states.csv", "code,name\nCA,California\nCA,Again\n")
    with pytest.raises(CodeTableError, match=r"us_states\.csv, line 3: duplicate code"):
        load_code_list(p)
