"""Dependencies shared by the routers: settings, database session, the rule context."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.invoices.rules import RuleContext
from app.invoices.service import today_for_checks
from app.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    yield from request.app.state.database.session()


def get_rule_context(request: Request) -> RuleContext:
    state = request.app.state
    return RuleContext(
        code_tables=state.code_tables, places_of_service=state.places_of_service, states=state.us_states,
        today=today_for_checks(), max_lines=state.settings.max_lines_per_invoice,
    )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
RuleContextDep = Annotated[RuleContext, Depends(get_rule_context)]
