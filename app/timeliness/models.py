"""Tables of the timeliness module."""

from app.db import Base  # noqa: F401
