"""RFC 9457 problem responses: one shape for every failure, with the full list of problems."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.invoices.elements import INVOICE_ELEMENTS, LINE_ELEMENTS
from app.invoices.problems import Problem

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("encounter_service.errors")

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Payload too large", 415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal server error"}


def problem_response(
    status: int, detail: str | None = None, problems: list[Problem] = (), warnings: list[Problem] = (),
    title: str | None = None, headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "problems": [p.as_dict() for p in problems],
        "warnings": [w.as_dict() for w in warnings],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(parts: tuple) -> str:
    path = ""
    for part in parts:
        if part == "body":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


_INVOICE_FIELDS = [e.name for e in INVOICE_ELEMENTS] + ["lines"]
_LINE_FIELDS = [e.name for e in LINE_ELEMENTS]


def _validation_problem(err: dict) -> Problem:
    loc = _loc(tuple(err.get("loc", ())))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        in_line = any(isinstance(part, int) for part in err["loc"])
        return Problem(loc, "unknown_field", f"'{err['loc'][-1]}' is not a field of this request; check the spelling.",
                       _LINE_FIELDS if in_line else _INVOICE_FIELDS)
    if kind == "missing":
        return Problem(loc, "required", f"{loc} is required.")
    if kind in ("string_type", "list_type", "model_type", "dict_type", "model_attributes_type"):
        return Problem(loc, "invalid_type", f"{loc}: {err.get('msg', 'wrong type')}.")
    return Problem(loc, kind or "invalid", err.get("msg", "invalid value"))


async def _request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        e = next(e for e in errors if e.get("type") == "json_invalid")
        ctx = e.get("ctx") or {}
        return problem_response(400, "The request body is not valid JSON.", [
            Problem("body", "json_invalid", f"JSON parse error: {ctx.get('error', e.get('msg'))}.")])
    problems = [_validation_problem(e) for e in errors]
    return problem_response(422, f"The request has {len(problems)} problem(s).", problems)


async def _http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # The exception text may carry request data (PHI), so log only its type.
    log.error("unhandled error", extra={"error_type": type(exc).__name__, "path": request.url.path})
    return problem_response(500, "Something went wrong on our side; nothing was stored. Retry later.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unhandled)
