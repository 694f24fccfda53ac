"""Every HTTP request: a request id, a body-size limit, no control characters in the path or query (a NUL
would otherwise reach the database, which PostgreSQL refuses in text), one JSON log line (route template, key id, status,
timing — never the body or the query string) and, for /v1 resources, a row in the audit trail."""

import asyncio
import json
import logging
import re
import time
import uuid
from urllib.parse import parse_qsl

from starlette.exceptions import HTTPException

from app.auth.audit import AuditWriter, audit_values
from app.errors import TITLES
from app.invoices.problems import Problem

log = logging.getLogger("encounter_service.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _TooLarge(HTTPException):
    # An HTTPException, so that FastAPI's body reader passes it on instead of calling it a parse error.
    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than {limit} bytes; nothing was stored.")


class RequestMiddleware:
    def __init__(self, app, settings, database):  # noqa: ANN001
        self.app, self.settings, self.database = app, settings, database
        self.audit_writer = AuditWriter(database.engine)

    def _limit(self, path: str) -> int:
        return self.settings.upload_max_bytes if path.startswith("/v1/uploads") else self.settings.max_body_bytes

    async def __call__(self, scope, receive, send):  # noqa: ANN001
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started, response = time.perf_counter(), {"status": 500, "location": None, "started": False}
        limit = self._limit(scope["path"])

        async def send_with_id(message):  # noqa: ANN001
            if message["type"] == "http.response.start":
                response["started"], response["status"] = True, message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"location":
                        response["location"] = v.decode("latin-1")
                message = dict(message, headers=[*message.get("headers", []),
                                                 (b"x-request-id", request_id.encode())])
            await send(message)

        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        try:
            if refused := _control_characters(scope):
                await _send_problem(send_with_id, *refused)
                return
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise _TooLarge(limit)
            await self.app(scope, counting_receive, send_with_id)
        except _TooLarge:
            if response["started"]:
                raise
            await _too_large(send_with_id, limit)
        finally:
            self._finish(scope, state, request_id, response, time.perf_counter() - started)
        if scope["path"].startswith("/v1/"):
            await self._audit(scope, state, request_id, response)

    def _finish(self, scope, state, request_id, response, elapsed) -> None:  # noqa: ANN001
        route = scope.get("route")
        caller = state.get("caller")
        log.info("request", extra={
            "request_id": request_id, "method": scope["method"], "route": getattr(route, "path", "unmatched"),
            "status": response["status"], "ms": round(elapsed * 1000, 1),
            "key_id": caller.key_id if caller else None,
        })

    async def _audit(self, scope, state, request_id, response) -> None:  # noqa: ANN001
        values = audit_values(scope, state.get("caller"), request_id, response["status"], response["location"])
        try:
            await asyncio.wrap_future(self.audit_writer.submit(values))
        except Exception as exc:  # noqa: BLE001 - a failed audit write is logged, never turned into a 500 after the fact
            log.error("audit write failed", extra={"request_id": request_id, "error_type": type(exc).__name__})


def _control_characters(scope) -> tuple[int, str, list[Problem]] | None:  # noqa: ANN001
    """No identifier holds a control character, so such a path names nothing (404); in a query it is a 422."""
    if _CONTROL.search(scope["path"]):
        return 404, "No resource has this path.", [Problem(
            "path", "control_character", "The path contains a control character (such as NUL); identifiers are "
            "printable text.")]
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if _CONTROL.search(name) or _CONTROL.search(value):
            where = name if not _CONTROL.search(name) else "?"
            return 422, "A query parameter contains a control character.", [Problem(
                f"query.{where}", "control_character", "This query parameter contains a control character (such "
                "as NUL or a line break); send printable text.")]
    return None


async def _too_large(send, limit: int) -> None:  # noqa: ANN001
    await _send_problem(send, 413, f"The request body is larger than {limit} bytes; nothing was stored.",
                        [Problem("body", "body_too_large", f"Send at most {limit} bytes.")], close=True)


async def _send_problem(send, status: int, detail: str, problems: list[Problem], close: bool = False) -> None:  # noqa: ANN001
    body = {"type": "about:blank", "title": TITLES[status], "status": status, "detail": detail,
            "problems": [p.as_dict() for p in problems], "warnings": []}
    data = json.dumps(body).encode()
    connection = [(b"connection", b"close")] if close else []
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(data)).encode()), *connection]})
    await send({"type": "http.response.body", "body": data})
