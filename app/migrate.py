"""Alembic, driven from code: the schema only changes through migrations/."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from app.settings import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str) -> None:
    from app.db import make_engine

    if database_url.startswith("sqlite"):
        make_engine(database_url).dispose()  # creates the data directory
    command.upgrade(alembic_config(database_url), "head")


def migrations_current(conn: Connection) -> bool:
    head = ScriptDirectory.from_config(alembic_config(str(conn.engine.url))).get_current_head()
    return MigrationContext.configure(conn).get_current_revision() == head
