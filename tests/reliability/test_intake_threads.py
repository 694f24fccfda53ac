"""INTAKE_THREADS caps the threads that run POST /v1/invoices in each server process. The intake requests
beyond it wait without holding a thread, so the other synchronous endpoints (REQUEST_THREADS) still run."""

import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.invoices import service
from app.main import create_app
from factories import ADMIN, ecm_invoice


def _slow_intake(monkeypatch):
    """service.submit_invoice replaced by one that sleeps and records how many run at once."""
    seen = {"running": 0, "most": 0}
    lock = threading.Lock()

    def slow(*args, **kwargs):
        with lock:
            seen["running"] += 1
            seen["most"] = max(seen["most"], seen["running"])
        time.sleep(0.5)
        with lock:
            seen["running"] -= 1
        raise service.IntakeRejected([], [])

    monkeypatch.setattr(service, "submit_invoice", slow)
    return seen


@pytest.mark.parametrize("intake_threads", [1, 3])
def test_the_setting_caps_the_threads_that_run_intake(settings, monkeypatch, intake_threads):
    seen = _slow_intake(monkeypatch)
    app = create_app(settings.model_copy(update={"intake_threads": intake_threads, "request_threads": 1}))
    with TestClient(app, headers=ADMIN) as client:
        answers = []
        posts = [threading.Thread(target=lambda n=n: answers.append(
            client.post("/v1/invoices", json=ecm_invoice(f"T{n}")).status_code)) for n in range(5)]
        for t in posts:
            t.start()
        time.sleep(0.15)  # every POST is in: intake_threads of them running, the rest waiting for a thread
        started = time.perf_counter()
        health = client.get("/healthz")  # a sync endpoint: needs the one request thread the waiting POSTs left
        health_s = time.perf_counter() - started
        for t in posts:
            t.join()
    app.state.database.engine.dispose()
    assert seen["most"] == intake_threads
    assert answers == [422] * 5
    assert health.status_code == 200 and health_s < 0.4
