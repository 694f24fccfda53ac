"""Tables of the security module."""

from app.db import Base  # noqa: F401
