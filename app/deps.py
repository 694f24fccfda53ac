"""Dependencies shared by the routers: settings, database session, the rule context.

Those that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, and those
hand-offs were a tenth of an intake request's CPU."""

from collections.abc import Iterator
from typing import Annotated

from anyio import CapacityLimiter
from anyio.lowlevel import RunVar
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.invoices.rules import RuleContext
from app.invoices.service import today_for_checks
from app.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    # A plain def: closing a session that read without committing rolls back, a database round trip that
    # must not run on the event loop.
    database = request.app.state.database
    with (database.read_sessionmaker if request.method in SAFE_METHODS else database.sessionmaker)() as session:
        yield session


SAFE_METHODS = ("GET", "HEAD")  # they only read (RFC 9110 9.2.1): their sessions begin as reads (Database)


_INTAKE_LIMITER: RunVar[CapacityLimiter] = RunVar("intake_limiter")


def intake_limiter(threads: int) -> CapacityLimiter:
    """The threads that run POST /v1/invoices in this process (one limiter per event loop, like anyio's own
    default). Further intake requests wait for one in arrival order, holding no thread, so the other
    synchronous endpoints keep theirs (REQUEST_THREADS)."""
    try:
        return _INTAKE_LIMITER.get()
    except LookupError:
        limiter = CapacityLimiter(threads)
        _INTAKE_LIMITER.set(limiter)
        return limiter


async def get_rule_context(request: Request) -> RuleContext:
    return rule_context(request.app.state)


def rule_context(state) -> RuleContext:  # noqa: ANN001 - the app's state
    return RuleContext(
        code_tables=state.code_tables, places_of_service=state.places_of_service, states=state.us_states,
        today=today_for_checks(), max_lines=state.settings.max_lines_per_invoice,
    )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
RuleContextDep = Annotated[RuleContext, Depends(get_rule_context)]
