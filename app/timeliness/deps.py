"""The timeliness policy (conventions + CalHR calendar), loaded once at start-up."""

from typing import Annotated

from fastapi import Depends, Request

from app.timeliness.policy import TimelinessPolicy, policy_from_settings


async def get_policy(request: Request) -> TimelinessPolicy:
    return policy_of(request.app.state)


def policy_of(state) -> TimelinessPolicy:  # noqa: ANN001 - the app's state
    if getattr(state, "timeliness", None) is None:
        state.timeliness = policy_from_settings(state.settings)
    return state.timeliness


PolicyDep = Annotated[TimelinessPolicy, Depends(get_policy)]
