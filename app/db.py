"""Engine and sessions. SQLite (WAL, busy timeout) by default; PostgreSQL through DATABASE_URL."""

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (
    ARRAY, Connection, DateTime, Dialect, Engine, Table, TypeDecorator, any_, create_engine, event, inspect, literal,
    literal_column,
)
from sqlalchemy.exc import DBAPIError
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

        queue = _WriterQueue.for_database(path, busy_timeout_ms / 1000) if path and path != ":memory:" else None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # IMMEDIATE takes the write lock up front, so concurrent writers queue on busy_timeout
            # instead of failing with "database is locked" when a read lock is upgraded. A read-only
            # phase (see reading()) asks for DEFERRED: WAL readers neither wait for nor block the writer.
            mode = conn.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
            if mode == "IMMEDIATE" and queue is not None and queue.enter():
                conn.connection._connection_record.info[_QUEUED] = queue
            conn.exec_driver_sql(f"BEGIN {mode}")

        if queue is not None:
            _leave_queue_when_done(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


_SQLITE_BEGIN = "sqlite_begin"
_QUEUED = "writer_queue"


class _WriterQueue:
    """SQLite writers of one database file wait here, one at a time, instead of in SQLite's busy handler.

    The busy handler sleeps in growing steps (up to 100 ms) and a newcomer can take the lock between two of a
    waiter's sleeps, so under load a few transactions waited over a second while the median was 60 ms. Here a
    process's writers queue on a lock, and one of them at a time waits on an flock shared by every process
    using the file, which the kernel hands over the moment it is released. A writer that cannot get the
    process lock within the busy timeout goes on without the queue, to SQLite's busy handler as before."""

    _by_path: dict[str, "_WriterQueue"] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str, timeout: float):
        self.path, self.timeout = path, timeout
        self.lock = threading.Lock()
        self.fd: int | None = None

    @classmethod
    def for_database(cls, path: str, timeout: float) -> "_WriterQueue":
        key = os.path.abspath(path)
        with cls._registry_lock:
            if key not in cls._by_path:
                cls._by_path[key] = cls(key, timeout)
            return cls._by_path[key]

    def enter(self) -> bool:
        if not self.lock.acquire(timeout=self.timeout):
            return False
        try:
            if self.fd is None:
                self.fd = os.open(self.path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise
        return True

    def leave(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()

    @classmethod
    def _after_fork(cls) -> None:
        # A forked child shares its parent's open file (and so its flock) and may inherit a held lock.
        for queue in cls._by_path.values():
            queue.lock, queue.fd = threading.Lock(), None
        cls._registry_lock = threading.Lock()


os.register_at_fork(after_in_child=_WriterQueue._after_fork)


def _leave_queue_when_done(engine: Engine) -> None:
    """Leave the writer queue after the transaction's COMMIT or ROLLBACK has run (SQLAlchemy's commit and
    rollback events fire before them), or when the connection goes back to the pool still holding it."""
    dialect = engine.dialect

    def leave(proxied) -> None:  # noqa: ANN001 - the pool's proxied DBAPI connection
        # The pool's reset hands over an ad-hoc proxy without .info: go to the pool entry both have.
        record = getattr(proxied, "_connection_record", None)
        queue = record.info.pop(_QUEUED, None) if record is not None else None
        if queue is not None:
            queue.leave()

    def finishing(run):  # noqa: ANN001
        def finish(proxied) -> None:  # noqa: ANN001
            try:
                run(proxied)
            finally:
                leave(proxied)
        return finish

    dialect.do_commit = finishing(dialect.do_commit)
    dialect.do_rollback = finishing(dialect.do_rollback)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record) -> None:  # noqa: ANN001
        queue = record.info.pop(_QUEUED, None)
        if queue is not None:
            queue.leave()


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


def insert_under_parent(session: Session, parent: Table, values: dict, children: list[tuple[Table, list[dict]]],
                        parent_key: str) -> list[int | None]:
    """INSERT one row into `parent`, then the rows of each child table with `parent_key` set to the parent's new id,
    in the session's transaction. Returns the new id of each statement's row where its table numbers rows itself
    and it inserted one row (else None): the parent's first.

    On SQLite, whose write lock this transaction holds from its first statement to COMMIT, the SQL and every
    parameter are made before the transaction begins, through the same compiled statements and bind processors
    Core would use, so that inside the lock only sqlite3 runs. On PostgreSQL (psycopg) every statement goes to the
    server in one pipeline, one round trip instead of one per statement. Elsewhere Core executes the same rows."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and dialect.driver == "psycopg" and _pipelines_supported():
        return _run_in_pipeline(session.connection(), parent, values, children, parent_key)
    if dialect.name != "sqlite":
        connection = session.connection()
        ids = [connection.execute(parent.insert(), values).inserted_primary_key[0]]
        for table, rows in children:
            for row in rows:
                row[parent_key] = ids[0]
            result = connection.execute(table.insert(), rows)
            ids.append(result.inserted_primary_key[0] if _numbered(table, rows) else None)
        return ids
    statements = [_DriverInsert(dialect, parent, [values])] + [_DriverInsert(dialect, t, rows) for t, rows in children]
    return _run_on_driver(session.connection(), statements, parent_key)


def insert_rows(engine: Engine, table: Table, rows: list[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in a transaction of their own; on SQLite with the SQL
    and every parameter made before the write lock is taken, as in insert_under_parent."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            connection.execute(table.insert(), rows)
        return
    statement = _DriverInsert(engine.dialect, table, rows)
    with engine.begin() as connection:
        _run_on_driver(connection, [statement])


def _run_on_driver(connection: Connection, statements: list["_DriverInsert"],
                   parent_key: str | None = None) -> list[int | None]:
    """Run the statements on the sqlite3 cursor of `connection`, whose transaction has begun (BEGIN IMMEDIATE: the
    write lock is ours), setting `parent_key` of the later statements' rows to the first one's new id."""
    dialect = connection.dialect
    cursor = connection.connection.driver_connection.cursor()
    ids: list[int | None] = []
    try:
        for statement in statements:
            if ids and parent_key:
                statement.fill(parent_key, ids[0])
            ids.append(statement.run(cursor))
    except dialect.loaded_dbapi.Error as error:
        raise _as_core_error(statement.sql, error, dialect) from error
    finally:
        cursor.close()
    return ids


def _as_core_error(sql: str, error: Exception, dialect: Dialect) -> DBAPIError:
    """A driver's error as Core would raise it (IntegrityError and so on), without the parameters: they hold PHI."""
    return DBAPIError.instance(sql, None, error, dialect.loaded_dbapi.Error, dialect=dialect)


@lru_cache(maxsize=1)
def _pipelines_supported() -> bool:
    import psycopg

    return psycopg.Pipeline.is_supported()


def _run_in_pipeline(connection: Connection, parent: Table, values: dict, children: list[tuple[Table, list[dict]]],
                     parent_key: str) -> list[int | None]:
    """insert_under_parent on psycopg: the statements sent together in one pipeline. The children cannot wait for
    the parent's id, so they read it on the server: currval() of the parent's sequence, which this session's INSERT
    of the parent has just advanced."""
    dialect = connection.dialect
    statements = [_PipelinedInsert(dialect, parent, [values])]
    statements += [_PipelinedInsert(dialect, table, rows, (parent_key, parent)) for table, rows in children]
    driver = connection.connection.driver_connection
    cursors = [driver.cursor() for _ in statements]
    try:
        with driver.pipeline():
            for statement, cursor in zip(statements, cursors):
                statement.send(cursor)
        ids = [statement.new_id(cursor) for statement, cursor in zip(statements, cursors)]
    except dialect.loaded_dbapi.Error as error:
        # Which statement failed is not known in a pipeline.
        raise _as_core_error("; ".join(s.sql for s in statements), error, dialect) from error
    finally:
        for cursor in cursors:
            cursor.close()
    for table, rows in children:
        for row in rows:
            row[parent_key] = ids[0]
    return ids


class _PipelinedInsert:
    """An INSERT as psycopg takes it: the SQL SQLAlchemy compiles for these columns (with RETURNING of the new id
    when one row goes into a table that numbers its rows), each row's values converted by the bind processors Core
    would apply. `from_parent` (column, parent table) fills that column with the parent's new id on the server."""

    def __init__(self, dialect: Dialect, table: Table, rows: list[dict], from_parent: tuple[str, Table] | None = None):
        column, parent = from_parent or (None, None)
        columns = tuple(k for k in rows[0] if k != column)
        self.numbered = _numbered(table, rows)
        self.sql, processors = _pipelined_sql(dialect, table, columns, column, parent, self.numbered)
        self.rows = [{name: process(row[name]) if (process := processors.get(name)) else row[name]
                      for name in columns} for row in rows]

    def send(self, cursor) -> None:  # noqa: ANN001 - a psycopg cursor in pipeline mode
        if len(self.rows) == 1:
            cursor.execute(self.sql, self.rows[0])
        else:
            cursor.executemany(self.sql, self.rows)

    def new_id(self, cursor) -> int | None:  # noqa: ANN001
        return cursor.fetchone()[0] if self.numbered else None


@lru_cache(maxsize=256)
def _pipelined_sql(dialect: Dialect, table: Table, columns: tuple[str, ...], parent_column: str | None,
                   parent: Table | None, returning: bool) -> tuple[str, dict]:
    statement = table.insert()
    if parent_column:
        # currval() of the sequence behind the parent's id: the id this session's INSERT of the parent just took.
        statement = statement.values({parent_column: literal_column(
            f"currval(pg_get_serial_sequence('{parent.name}', '{parent.autoincrement_column.name}'))")})
    if returning:
        statement = statement.returning(table.autoincrement_column)
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    assert not compiled.positional and not compiled.escaped_bind_names, "psycopg takes %(name)s parameters"
    return compiled.string, compiled._bind_processors  # what Connection.execute applies to the parameters


def _numbered(table: Table, rows: list[dict]) -> bool:
    return len(rows) == 1 and table.autoincrement_column is not None


class _DriverInsert:
    """An INSERT as sqlite3 takes it: the SQL SQLAlchemy compiles for these columns, and each row's values in
    bind order, converted by the bind processors Core would apply (dates, instants, Decimals, JSON, booleans)."""

    def __init__(self, dialect: Dialect, table: Table, rows: list[dict]):
        self.sql, self.names, self.processors = _compiled_insert(dialect, table, tuple(rows[0]))
        self.numbered = _numbered(table, rows)
        self.rows = [[value if process is None else process(value)
                      for value, process in zip(map(row.__getitem__, self.names), self.processors)]
                     for row in rows]

    def fill(self, name: str, value: object) -> None:
        i = self.names.index(name)
        process = self.processors[i]
        for row in self.rows:
            row[i] = value if process is None else process(value)

    def run(self, cursor) -> int | None:  # noqa: ANN001 - a sqlite3 cursor
        if len(self.rows) == 1:
            cursor.execute(self.sql, self.rows[0])
        else:
            cursor.executemany(self.sql, self.rows)
        return cursor.lastrowid if self.numbered else None


@lru_cache(maxsize=256)
def _compiled_insert(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[str, tuple, tuple]:
    compiled = table.insert().compile(dialect=dialect, column_keys=list(columns))
    assert compiled.positional, "the driver path takes positional parameters (sqlite3's qmark)"
    names = tuple(compiled.positiontup)
    processors = compiled._bind_processors  # what Connection.execute applies to this statement's parameters
    return compiled.string, names, tuple(processors.get(name) for name in names)


def id_in(column, ids: Sequence[int], dialect: Dialect):  # noqa: ANN001, ANN201 - a column, a condition
    """``column IN ids``. On PostgreSQL spelled ``column = ANY(array)``: one parameter, where an IN list is a bound
    parameter per id that SQLAlchemy renders and psycopg converts on every execution."""
    if dialect.name == "postgresql":
        return column == any_(literal(list(ids), ARRAY(column.type)))
    return column.in_(ids)


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


@contextmanager
def reading_before_write(session: Session) -> Iterator[None]:
    """The reads that decide a write. On SQLite they run in a transaction of their own, as reading() does, so that
    the write lock is held only by the writes. Elsewhere, where reading takes no lock, they share the writes'
    transaction: one connection checkout (and its pre-ping) and one COMMIT per request instead of two."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    with reading(session):
        yield


class Database:
    def __init__(self, url: str, busy_timeout_ms: int = 30000):
        self.url = url
        self.engine = make_engine(url, busy_timeout_ms)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # Sessions for requests that only read (GET): on SQLite their transactions begin DEFERRED, so a dashboard's
        # second of queries neither takes the write lock from intake nor queues behind another reader.
        self.read_sessionmaker = sessionmaker(self.engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"}),
                                              expire_on_commit=False)
