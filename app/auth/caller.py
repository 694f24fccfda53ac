"""Who is calling: the identity every endpoint may depend on.

Until API keys land (issue 6) every request is the local operator with the admin role; endpoints already
take `CallerDep` so that roles, provider scoping and the audit trail plug in without touching them.
"""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

ROLES = ("provider", "pipeline", "finance", "ops", "admin")


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


LOCAL_OPERATOR = Caller(key_id="local", role="admin")


def current_caller(request: Request) -> Caller:
    return getattr(request.state, "caller", None) or LOCAL_OPERATOR


CallerDep = Annotated[Caller, Depends(current_caller)]
