"""API keys: `esk_<key id>_<secret>`. The secret is 256 random bits, shown once, kept only as SHA-256 (a
slow hash adds nothing for a random secret of that size). The key id is public and goes in logs and audit."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.caller import ROLES, Caller
from app.auth.models import ApiKeyRow

PREFIX = "esk_"


@dataclass(frozen=True)
class NewKey:
    row: ApiKeyRow
    token: str  # shown once


class InvalidKeyRequest(ValueError):
    pass


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, role: str, npis: list[str] | None = None, expires_at: datetime | None = None,
               label: str | None = None) -> NewKey:
    if role not in ROLES:
        raise InvalidKeyRequest(f"role must be one of {', '.join(ROLES)}")
    npis = sorted(set(npis or []))
    if role == "provider" and not npis:
        raise InvalidKeyRequest("a provider key needs at least one billing NPI (--npi)")
    if role != "provider" and npis:
        raise InvalidKeyRequest("only provider keys are scoped to NPIs")
    bad = [n for n in npis if not (len(n) == 10 and n.isdigit())]
    if bad:
        raise InvalidKeyRequest(f"not a 10-digit NPI: {', '.join(bad)}")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidKeyRequest("the expiry must be in the future")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    row = ApiKeyRow(key_id=key_id, secret_sha256=_sha256(secret), role=role, npis=npis, label=label,
                    created_at=datetime.now(UTC), expires_at=expires_at)
    session.add(row)
    session.commit()
    return NewKey(row, f"{PREFIX}{key_id}_{secret}")


def revoke_key(session: Session, key_id: str) -> ApiKeyRow | None:
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.commit()
    return row


def list_keys(session: Session) -> list[ApiKeyRow]:
    return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))


def resolve(session: Session, token: str, now: datetime) -> tuple[Caller | None, str]:
    """The caller a bearer token stands for, or None and why not (for the 401's detail)."""
    body = token.removeprefix(PREFIX) if token.startswith(PREFIX) else None
    key_id, _, secret = (body or "").partition("_")
    if not key_id or not secret:
        return None, "The API key is malformed; keys look like esk_<id>_<secret>."
    row = session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
    if row is None or not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None, "The API key is not valid."
    if row.revoked_at is not None:
        return None, "The API key has been revoked."
    if row.expires_at is not None and row.expires_at <= now:
        return None, "The API key has expired."
    return Caller(key_id=row.key_id, role=row.role, npis=frozenset(row.npis or [])), ""
