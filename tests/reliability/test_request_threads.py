"""REQUEST_THREADS caps the threads that run the synchronous endpoints in each server process: the requests
beyond it wait for a thread instead of all contending for the interpreter at once."""

import threading
import time

from anyio import to_thread
from fastapi.testclient import TestClient

from app.main import create_app


def test_the_setting_caps_the_threads_that_run_sync_endpoints(settings):
    app = create_app(settings.model_copy(update={"request_threads": 2}))
    running, most = 0, 0
    lock = threading.Lock()

    @app.get("/slow-test")
    def slow() -> dict:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return {}

    with TestClient(app) as client:
        assert client.portal.call(lambda: to_thread.current_default_thread_limiter().total_tokens) == 2
        threads = [threading.Thread(target=client.get, args=("/slow-test",)) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    app.state.database.engine.dispose()
    assert most == 2
