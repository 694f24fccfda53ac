"""Allowed HCPCS + modifier code tables (versioned by effective period) and simple code lists.

Pure module: no FastAPI or SQLAlchemy imports.
"""

from app.codetable.table import (
    COLUMNS,
    CONFIDENCES,
    ENCOUNTER_UNITS,
    PROGRAMS,
    CodeRow,
    CodeTableError,
    CodeTables,
    CodeTableVersion,
    load_code_list,
    normalize_modifiers,
)

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
