"""Test database: a fresh SQLite file, or, when DATABASE_URL points at PostgreSQL, a fresh database on that
server. Both are built by the Alembic migrations, exactly as in production."""

import os
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

from app.db import Base  # noqa: E402
from app.main import create_app  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.settings import Settings  # noqa: E402
from factories import ADMIN, ADMIN_KEY  # noqa: E402


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    server_url = os.environ.get("DATABASE_URL")
    if not server_url or server_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        upgrade(url)
        yield url
        return
    name = f"encounter_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, bootstrap_admin_key=ADMIN_KEY, rate_limit_per_minute=0)


@pytest.fixture
def app(settings):
    application = create_app(settings)
    yield application
    engine = application.state.database.engine
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "control_counters":  # the registry only ever moves forward
                conn.execute(table.delete())
    engine.dispose()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, headers=ADMIN) as c:  # the bootstrap admin; role tests send their own keys
        yield c
