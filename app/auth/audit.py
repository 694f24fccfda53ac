"""Writing and reading the audit trail."""

import queue
import threading
from concurrent.futures import Future
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import AuditEventRow
from app.db import insert_rows

_RESOURCE_PARAMS = {"invoice_id": "invoice", "batch_id": "batch", "upload_id": "upload"}
_RESOURCE_PATHS = {"invoices": "invoice", "batches": "batch", "uploads": "upload"}


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "denied"
    return "client_error" if status < 500 else "server_error"


def _resource(scope, location: str | None) -> tuple[str | None, str | None]:  # noqa: ANN001
    for name, value in (scope.get("path_params") or {}).items():
        if name in _RESOURCE_PARAMS:
            return _RESOURCE_PARAMS[name], str(value)[:64]
    if location:  # a create: the new resource's id is in Location (/v1/invoices/<id>)
        parts = location.strip("/").split("/")
        if len(parts) >= 3 and parts[1] in _RESOURCE_PATHS:
            return _RESOURCE_PATHS[parts[1]], parts[2][:64]
    parts = scope["path"].strip("/").split("/")
    return (_RESOURCE_PATHS.get(parts[1]) if len(parts) > 1 else None), None


def audit_values(scope, caller, request_id: str, status: int, location: str | None) -> dict:  # noqa: ANN001
    route = scope.get("route")
    resource_type, resource_id = _resource(scope, location)
    client = scope.get("client")
    return dict(
        at=datetime.now(UTC), request_id=request_id, key_id=caller.key_id if caller else None,
        role=caller.role if caller else None, action=f"{scope['method']} {getattr(route, 'path', 'unmatched')}"[:80],
        resource_type=resource_type, resource_id=resource_id, client_ip=client[0] if client else None,
        status=status, outcome=_outcome(status),
    )


class AuditWriter:
    """Group commit: one thread per process writes every audit row waiting at that moment in one
    transaction. Each caller waits on its own row's Future, so a request finishes only once its row is
    stored (or the failure is known), exactly as with a write per request, but concurrent requests share
    one write lock and one commit instead of queueing for one each."""

    def __init__(self, engine):  # noqa: ANN001
        self._engine, self._queue = engine, queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, values: dict) -> Future:
        future: Future = Future()
        self._queue.put((values, future))
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
        return future

    def _run(self) -> None:
        while True:
            waiting = [self._queue.get()]
            while True:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                insert_rows(self._engine, AuditEventRow.__table__, [values for values, _ in waiting])
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request, which logs it
                for _, future in waiting:
                    future.set_exception(exc)
            else:
                for _, future in waiting:
                    future.set_result(None)


def query(session: Session, *, key_id=None, resource_type=None, resource_id=None, outcome=None,  # noqa: ANN001
          since: datetime | None = None, until: datetime | None = None, after_id: int | None = None,
          limit: int = 100) -> list[AuditEventRow]:
    q = select(AuditEventRow).order_by(AuditEventRow.id).limit(limit)
    for column, value in ((AuditEventRow.key_id, key_id), (AuditEventRow.resource_type, resource_type),
                          (AuditEventRow.resource_id, resource_id), (AuditEventRow.outcome, outcome)):
        if value is not None:
            q = q.where(column == value)
    if since is not None:
        q = q.where(AuditEventRow.at >= since)
    if until is not None:
        q = q.where(AuditEventRow.at < until)
    if after_id is not None:
        q = q.where(AuditEventRow.id > after_id)
    return list(session.scalars(q))
