"""A GET request only reads: on SQLite its transaction begins DEFERRED, so a dashboard's queries neither take the
write lock from intake (which would wait for them) nor queue behind another reader's."""

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from app.timeliness import queries


def another_writer_can_begin(database_url: str) -> bool:
    other = sqlite3.connect(make_url(database_url).database, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.rollback()
        return True
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        other.close()


@pytest.mark.parametrize("path, function", [("/v1/timeliness/summary", "summary_counts"),
                                            ("/v1/timeliness/providers", "provider_rows")])
def test_a_dashboard_request_leaves_the_write_lock_free_while_it_reads(client, database_url, monkeypatch, path,
                                                                       function):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    original = getattr(queries, function)
    seen = []

    def reading_then_checking(session, *args):  # noqa: ANN001, ANN002
        result = original(session, *args)
        assert session.in_transaction()  # its reads' transaction is still open here
        seen.append(another_writer_can_begin(database_url))
        return result

    monkeypatch.setattr(queries, function, reading_then_checking)
    assert client.get(path).status_code == 200
    assert seen == [True]


def test_a_write_request_still_takes_the_write_lock_up_front(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    with app.state.database.sessionmaker() as session:
        session.connection()
        assert not another_writer_can_begin(database_url)
