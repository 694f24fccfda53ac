"""openapi.yaml is generated from the app; tests/test_openapi.py fails when the committed file is stale."""

from pathlib import Path

import yaml

from app.settings import Settings


def openapi_yaml() -> str:
    from app.main import create_app

    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=120)


def write_openapi(path: str | Path) -> None:
    Path(path).write_text(openapi_yaml())
