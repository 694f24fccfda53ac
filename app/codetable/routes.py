"""GET /v1/codes: the allowed-code table in force on a date."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

router = APIRouter(prefix="/v1/codes", tags=["codes"])


class CodeRowOut(BaseModel):
    hcpcs: str
    modifiers: list[str]
    program: str
    service_name: str
    encounter_unit: str
    unit_conversion: str
    max_units_per_line: str | None
    limit_note: str
    source: str
    confidence: str


class CodeTableOut(BaseModel):
    version: str
    effective_from: str
    effective_to: str | None
    rows: list[CodeRowOut]


@router.get("", response_model=CodeTableOut, responses={404: {"description": "No table in force on that date."}})
def codes_in_force(
    request: Request,
    on: Annotated[date | None, Query(description="Service date (YYYY-MM-DD); today when omitted.")] = None,
):
    """The allowed HCPCS + modifier combinations in force on a service date, each row with its source and
    confidence (seed = in the DHCS documents on file; public = secondary source, to confirm)."""
    day = on or date.today()
    table = request.app.state.code_tables.in_force(day)
    if table is None:
        raise HTTPException(404, f"No code table is in force on {day.isoformat()}.")
    return CodeTableOut(
        version=table.version,
        effective_from=table.effective_from.isoformat(),
        effective_to=table.effective_to.isoformat() if table.effective_to else None,
        rows=[
            CodeRowOut(
                hcpcs=r.hcpcs, modifiers=list(r.modifiers), program=r.program, service_name=r.service_name,
                encounter_unit=r.encounter_unit, unit_conversion=str(r.unit_conversion),
                max_units_per_line=None if r.max_units_per_line is None else str(r.max_units_per_line),
                limit_note=r.limit_note, source=r.source, confidence=r.confidence,
            )
            for r in table.rows
        ],
    )
