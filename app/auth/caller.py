"""Who is calling, and may they. Every /v1 endpoint depends on one role guard: `Allow(...)` answers 401 without
a valid key, 429 over the key's rate, 403 for a role the endpoint does not admit. Provider keys are scoped
to their billing NPIs; the services answer 404 for anything outside that scope."""

import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool

ROLES = ("provider", "pipeline", "finance", "ops", "admin")
STAFF = ("finance", "ops", "admin")


@dataclass(frozen=True)
class Caller:
    key_id: str  # an internal id, safe for logs and the audit trail
    role: str
    npis: frozenset[str] = field(default_factory=frozenset)  # billing NPIs a provider key may act for

    @property
    def may_set_receipt_date(self) -> bool:
        """Plan staff keying in paper, fax or e-mail invoices, or importing history, date them by the plan's
        date stamp; providers never choose their own receipt date."""
        return self.role in ("admin", "finance")

    @property
    def is_provider(self) -> bool:
        return self.role == "provider"

    def may_act_for(self, billing_npi: str | None) -> bool:
        return not self.is_provider or billing_npi in self.npis

    @property
    def sees_member_details(self) -> bool:
        return self.role != "ops"


# In-process work that no HTTP caller started (the CLI, a resumed background job) acts as the local operator.
LOCAL_OPERATOR = Caller(key_id="local", role="admin")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="encounter-service"'})


async def authenticate(request: Request) -> Caller:
    cached = getattr(request.state, "caller", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Send an API key: `Authorization: Bearer <key>`.")
    token = token.strip()
    settings = request.app.state.settings
    bootstrap = settings.bootstrap_admin_key.get_secret_value() if settings.bootstrap_admin_key else ""
    if bootstrap and hmac.compare_digest(token.encode(), bootstrap.encode()):
        caller = Caller(key_id="bootstrap", role="admin")
    else:  # a database read: off the event loop
        caller, why = await run_in_threadpool(_resolve, request.app.state.database, token)
        if caller is None:
            raise _unauthorized(why)
    request.state.caller = caller
    wait = request.app.state.rate_limiter.wait_seconds(caller.key_id)
    if wait:
        raise HTTPException(429, f"More than {settings.rate_limit_per_minute} requests a minute with this key; "
                                 f"retry in {wait} s.", headers={"Retry-After": str(wait)})
    return caller


def _resolve(database, token: str) -> tuple[Caller | None, str]:  # noqa: ANN001 - app.db.Database
    from app.auth.keys import resolve
    from app.db import reading

    with database.sessionmaker() as session, reading(session):
        return resolve(session, token, datetime.now(UTC))


class Allow:
    """A dependency admitting the given roles (admin always)."""

    def __init__(self, *roles: str):
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles {unknown}")
        self.roles = tuple(dict.fromkeys((*roles, "admin")))

    async def __call__(self, caller: Annotated[Caller, Depends(authenticate)]) -> Caller:
        if caller.role not in self.roles:
            raise HTTPException(403, f"A {caller.role} key may not do this; it needs one of these roles: "
                                     f"{', '.join(self.roles)}.")
        return caller


async def current_caller(request: Request) -> Caller:
    """The caller an endpoint's role guard already authenticated."""
    return await authenticate(request)


CallerDep = Annotated[Caller, Depends(current_caller)]
