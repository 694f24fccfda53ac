"""Dependencies shared by the routers: settings, database session, the rule context.

They are ``async def`` because they do no I/O: FastAPI runs a plain ``def`` dependency in its thread pool,
and those hand-offs were a tenth of an intake request's CPU."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.invoices.rules import RuleContext
from app.invoices.service import today_for_checks
from app.settings import Settings


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Opening a Session takes no connection; the endpoint (in a worker thread) takes one when it first
    # queries and gives it back when it commits, so closing here does not wait on the database.
    with request.app.state.database.sessionmaker() as session:
        yield session


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
