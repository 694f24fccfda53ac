"""Tables of the auth module."""

from app.db import Base  # noqa: F401
