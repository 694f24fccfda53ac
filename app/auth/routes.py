"""GET /v1/audit: the audit trail, for admins."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app import cursors
from app.auth import audit
from app.auth.caller import Allow
from app.deps import SessionDep, SettingsDep

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(Allow("admin"))])


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    request_id: str
    key_id: str | None
    role: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    client_ip: str | None
    status: int
    outcome: str


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


@router.get("", response_model=AuditPage, responses={400: {"description": "Malformed cursor."}})
def list_audit_events(
    session: SessionDep, settings: SettingsDep,
    key_id: str | None = None,
    resource_type: Literal["invoice", "batch", "upload"] | None = None,
    resource_id: str | None = None,
    outcome: Literal["ok", "client_error", "denied", "server_error"] | None = None,
    since: datetime | None = None, until: datetime | None = None,
    cursor: str | None = None, limit: Annotated[int | None, Query(ge=1)] = None,
):
    """Who did what to which resource, when, from where, with what outcome — oldest first. Filter by key,
    resource, outcome and time; follow `next_cursor` for the next page."""
    after = cursors.decode("a", cursor)
    size = min(limit or settings.page_size_default, settings.page_size_max)
    rows = audit.query(session, key_id=key_id, resource_type=resource_type, resource_id=resource_id,
                       outcome=outcome, since=since, until=until, after_id=after, limit=size)
    next_cursor = cursors.encode("a", rows[-1].id) if len(rows) == size else None
    return AuditPage(items=[AuditEventOut.model_validate(r, from_attributes=True) for r in rows],
                     next_cursor=next_cursor)
