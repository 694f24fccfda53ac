"""SQLite writers queue for the write lock in app.db._WriterQueue (one at a time per database file, across
threads and processes). The queue must be left on every way a write transaction ends, and must hand the lock
over: a writer that never left would stall every later one."""

import multiprocessing
import threading
import time

import pytest
from sqlalchemy import text

from app.db import make_engine



@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}", busy_timeout_ms=5000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM t")).scalar()


def begins_at_once(engine) -> bool:
    """Another thread's write transaction starts within a second (it would wait out the busy timeout if a
    finished transaction had kept its place in the queue)."""
    started = threading.Event()

    def write():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (0)"))
        started.set()

    threading.Thread(target=write, daemon=True).start()
    return started.wait(1.0)


def test_the_queue_is_left_on_commit_rollback_error_and_return_to_the_pool(engine):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
    assert begins_at_once(engine)

    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (2)"))
    conn.rollback()
    assert begins_at_once(engine)

    with pytest.raises(ZeroDivisionError), engine.begin() as failing:
        failing.execute(text("INSERT INTO t VALUES (3)"))
        1 / 0
    assert begins_at_once(engine)

    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t VALUES (4)"))
    conn.close()  # back to the pool mid-transaction: the pool rolls it back
    assert begins_at_once(engine)
    assert count(engine) == 5  # 1 and the four rows begins_at_once wrote


def test_a_reader_does_not_wait_for_the_queue(engine):
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        reader = engine.connect().execution_options(sqlite_begin="DEFERRED")
        started = time.monotonic()
        with reader.begin():
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # WAL: the last committed state
        assert time.monotonic() - started < 1.0
        reader.close()


def _write_many(url: str, n: int) -> None:
    engine = make_engine(url, busy_timeout_ms=30000)
    for i in range(n):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": i})
    engine.dispose()


def test_threads_and_processes_all_get_their_turn(engine, tmp_path):
    url = str(engine.url)
    threads = [threading.Thread(target=_write_many, args=(url, 50)) for _ in range(4)]
    processes = [multiprocessing.get_context("spawn").Process(target=_write_many, args=(url, 50)) for _ in range(2)]
    for worker in (*threads, *processes):
        worker.start()
    for worker in (*threads, *processes):
        worker.join(120)
    assert all(p.exitcode == 0 for p in processes)
    assert count(engine) == 6 * 50
