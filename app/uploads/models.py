"""Tables of the uploads module."""

from app.db import Base  # noqa: F401
