"""openapi.yaml is generated from the app; tests/test_openapi.py fails when the committed file is stale.

FastAPI documents a problem response under `application/json` and every parameter error as its own
`HTTPValidationError`; this service answers every failure as `application/problem+json` (app/errors.py),
so the document is corrected to say exactly that."""

from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI

from app.errors import PROBLEM_JSON
from app.settings import Settings

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}


def install_openapi(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problems_as_problem_json(generate())
        return app.openapi_schema

    app.openapi = openapi


def _problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if PROBLEM_JSON in content or status == "422":
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
                if status == "422" and response.get("description") == "Validation Error":
                    response["description"] = "The request's parameters or body are invalid; every problem is listed."
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def openapi_yaml() -> str:
    from app.main import create_app

    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return yaml.safe_dump(app.openapi(), sort_keys=False, allow_unicode=True, width=120)


def write_openapi(path: str | Path) -> None:
    Path(path).write_text(openapi_yaml())
