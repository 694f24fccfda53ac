"""ASGI entry point for uvicorn: `uvicorn app.asgi:app`. Logs become JSON lines (see app/logs.py) however
uvicorn was started."""

from app.logs import configure
from app.main import create_app
from app.settings import get_settings

configure(get_settings().log_level.upper())
app = create_app()
