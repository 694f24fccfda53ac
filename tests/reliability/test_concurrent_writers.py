"""8 concurrent writers against a real server (uvicorn, 2 workers) on the test database: every invoice
stored once, retries (same body, same Idempotency-Key) never duplicate, no 5xx, no "database is locked"."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import create_engine, func, select

from app.invoices.models import InvoiceRow
from bench.http_intake import KEY, start_server
from bench.data import invoices

WRITERS, PER_WRITER = 8, 15


def test_eight_concurrent_writers_lose_nothing_and_retries_do_not_duplicate(app, database_url):
    bodies = [json.dumps(raw) for raw in invoices(WRITERS * PER_WRITER, lines=2, seed=23)]
    proc, base = start_server(database_url, workers=2)
    try:
        def writer(w: int) -> list[tuple[int, int, str]]:
            seen = []
            with httpx.Client(base_url=base, timeout=120,
                              headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}) as c:
                for body in bodies[w::WRITERS]:
                    key = str(uuid.uuid4())
                    first = c.post("/v1/invoices", content=body, headers={"Idempotency-Key": key})
                    again = c.post("/v1/invoices", content=body, headers={"Idempotency-Key": key})
                    plain_retry = c.post("/v1/invoices", content=body)
                    seen.append((first.status_code, again.status_code, plain_retry.status_code,
                                 first.json().get("id"), again.json().get("id"), plain_retry.json().get("id"),
                                 first.text + again.text + plain_retry.text))
            return seen

        with ThreadPoolExecutor(WRITERS) as pool:
            results = [r for chunk in pool.map(writer, range(WRITERS)) for r in chunk]
    finally:
        proc.terminate()
        proc.wait(30)
    with open(proc.log_path) as fh:
        server_log = fh.read()
    assert [(a, b, c) for a, b, c, *_ in results] == [(201, 200, 200)] * len(bodies)
    assert all(first == again == retry for _, _, _, first, again, retry, _ in results)
    assert "database is locked" not in server_log.lower()
    assert all("database is locked" not in text.lower() for *_, text in results)
    engine = create_engine(database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(InvoiceRow)) == len(bodies)
    engine.dispose()
