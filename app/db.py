"""Engine and sessions. SQLite (WAL, busy timeout) by default; PostgreSQL through DATABASE_URL."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, TypeDecorator, create_engine, event, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    pass


class UTCDateTime(TypeDecorator):
    """An instant, always handed back as an aware UTC datetime (SQLite would drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC instant")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # noqa: ANN001
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, busy_timeout_ms: int = 30000) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy issue BEGIN itself (IMMEDIATE, see below) instead of pysqlite's lazy BEGIN.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # IMMEDIATE takes the write lock up front, so concurrent writers queue on busy_timeout
            # instead of failing with "database is locked" when a read lock is upgraded. A read-only
            # phase (see reading()) asks for DEFERRED: WAL readers neither wait for nor block the writer.
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_SQLITE_BEGIN, 'IMMEDIATE')}")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_SQLITE_BEGIN = "sqlite_begin"


def insert_values(obj: Base) -> dict:
    """The row a new ORM object would INSERT, for a Core insert that skips the unit of work: the attributes
    set, else the column's Python-side default (also set on the object, so it reads as the stored row), else
    NULL. An unset autoincrement primary key is left to the database."""
    out = {}
    state = obj.__dict__
    for attr in inspect(type(obj)).column_attrs:
        column = attr.columns[0]
        if attr.key in state:
            out[column.name] = state[attr.key]
        elif column.primary_key and column.autoincrement in (True, "auto"):
            continue
        elif column.default is not None:
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
            setattr(obj, attr.key, value)
            out[column.name] = value
        elif column.server_default is None:
            out[column.name] = None
    return out


@contextmanager
def reading(session: Session) -> Iterator[None]:
    """Queries that only read, in a transaction of their own that ends on exit, so that on SQLite the write
    lock is held only by the writes that follow, not while these run. Whatever is decided from these reads
    must be guarded by a constraint at write time (the writes run in a later transaction). Inside an
    open transaction this does nothing."""
    if session.in_transaction():
        yield
        return
    session.connection(execution_options={_SQLITE_BEGIN: "DEFERRED"})
    try:
        yield
    finally:
        session.commit()


class Database:
    def __init__(self, url: str, busy_timeout_ms: int = 30000):
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
