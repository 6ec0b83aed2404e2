"""Database engine and sessions: the one place that opens transactions and commits."""

from __future__ import annotations

import io
import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Engine,
    Row,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger("freemarket.db")


def _sqlite_connect(dbapi_connection: object, _record: object) -> None:
    # SQLite ignores foreign keys unless asked per connection; WAL lets the worker write while
    # the API reads; busy_timeout turns "database is locked" into a short wait.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # SQLite's own lower() folds ASCII only; case-insensitive search must work for Cyrillic too.
    dbapi_connection.create_function(  # type: ignore[attr-defined]
        "lower", 1, _unicode_lower, deterministic=True
    )


def _begin_before_savepoint(conn: Connection, _name: object) -> None:
    # pysqlite opens a transaction lazily, before the first write, but not before a SAVEPOINT;
    # an outermost SAVEPOINT would then COMMIT everything on RELEASE. Open it ourselves.
    driver = conn.connection.driver_connection
    if driver is not None and not driver.in_transaction:  # type: ignore[attr-defined]
        driver.execute("BEGIN")  # type: ignore[attr-defined]


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """Create an engine for `url`, preparing SQLite's directory and pragmas."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "savepoint", _begin_before_savepoint)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    event.listen(engine, "connect", _note_checkin)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection that sat idle may have been closed by the server (restart, idle timeout,
# failover); one checked in a moment ago is as good as a ping. `pool_pre_ping` pinged on every
# checkout: a `SELECT 1` round trip per API request (10-12 % of a read's profile, issue 14).
IDLE_PING_SECONDS = 5.0
_CHECKED_IN_AT = "freemarket_checked_in_at"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN_AT] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    checked_in = record.info.get(_CHECKED_IN_AT)
    if checked_in is not None and time.monotonic() - checked_in < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        # psycopg2 opened a transaction for the ping; end it so the caller starts clean.
        dbapi_connection.rollback()
    except Exception as exc:
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


@lru_cache(maxsize=8)
def get_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> Engine:
    """One engine (and pool) per database URL and pool size per process."""
    return make_engine(url, pool_size=pool_size, max_overflow=max_overflow)


# One factory per engine, kept on the engine: each sessionmaker is a new Session subclass, and
# SQLAlchemy builds a class's event dispatch on its first use, so a factory per unit of work
# cost every API request that work (16 % of a read's thread-pool time, issue 14). On the
# engine rather than in a module-level map, so it goes when the engine goes.
_FACTORY_ATTRIBUTE = "_freemarket_session_factory"
_FACTORY_LOCK = threading.Lock()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (one factory per engine)."""
    factory: sessionmaker[Session] | None = getattr(engine, _FACTORY_ATTRIBUTE, None)
    if factory is None:
        with _FACTORY_LOCK:
            factory = getattr(engine, _FACTORY_ATTRIBUTE, None)
            if factory is None:
                factory = sessionmaker(bind=engine, expire_on_commit=False)
                setattr(engine, _FACTORY_ATTRIBUTE, factory)
    return factory


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """Run a block in one transaction: commit on success, roll back on any error."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# Work outside the database that must follow the transaction's fate (photo files): kept on the
# session until its outermost transaction ends, then run for a commit or for a rollback.
_AFTER_COMMIT = "freemarket_after_commit"
_AFTER_ROLLBACK = "freemarket_after_rollback"
_COMMITTED = "freemarket_committed"
Callback = Callable[[], None]


def after_commit(session: Session, callback: Callback) -> None:
    """Run `callback` once the session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def after_rollback(session: Session, callback: Callback) -> None:
    """Run `callback` if the session's transaction ends without committing (error, rollback)."""
    session.info.setdefault(_AFTER_ROLLBACK, []).append(callback)


def _run_all(callbacks: list[Callback], when: str) -> None:
    # The transaction's outcome is settled: a failing callback must not turn a commit into an
    # error for the caller, nor stop the others. It leaves an unused file at worst; log it.
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("%s callback %r failed", when, callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # Also emitted when a SAVEPOINT is released; only the outermost commit makes work durable.
    if not session.in_nested_transaction():
        session.info[_COMMITTED] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    # The outermost transaction is over: committed, or rolled back (an error, a failed commit,
    # a session closed without committing). Either way, the other list no longer applies.
    committed = session.info.pop(_COMMITTED, False)
    on_commit = session.info.pop(_AFTER_COMMIT, [])
    on_rollback = session.info.pop(_AFTER_ROLLBACK, [])
    if committed:
        _run_all(on_commit, "after-commit")
    else:
        _run_all(on_rollback, "after-rollback")


# PostgreSQL's "try the transaction again" errors: serialization failure and deadlock.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
# How often a unit of work is tried before its caller hears that the database is busy.
ATTEMPTS = 5


def is_retryable(exc: BaseException) -> bool:
    """True if the transaction lost a race the database resolved by aborting it: run it again."""
    if not isinstance(exc, DBAPIError):
        return False
    if getattr(exc.orig, "pgcode", None) in RETRYABLE_SQLSTATES:
        return True
    # SQLite refuses a write from a transaction whose snapshot another writer made stale.
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)


def retry_delays(attempts: int = ATTEMPTS) -> Iterator[float]:
    """Seconds to wait before each retry: short, growing, jittered so racers do not collide."""
    for attempt in range(attempts - 1):
        yield random.uniform(0, 0.02 * 2**attempt)


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    returning: tuple[str, ...] = (),
) -> list[Row[Any]]:
    """Insert rows, skipping any that collide with a unique key; return the inserted ones.

    Two workers may discover the same match (one from the want's side, one from the offer's):
    the database's unique key decides, neither transaction fails, and only the one that really
    inserted a row sees it returned (so only it announces it).
    """
    if not rows:
        return []
    postgres = is_postgres(session)
    if postgres and len(rows) >= COPY_THRESHOLD:
        return _copy_insert_ignoring_conflicts(session, table, rows, returning)
    if postgres:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table).on_conflict_do_nothing()
    if not returning and not postgres:
        session.execute(stmt, rows)
        return []
    # On PostgreSQL always with RETURNING: SQLAlchemy sends an INSERT ... ON CONFLICT without
    # RETURNING as one statement per row (its "insertmanyvalues" batching is off for upserts
    # without RETURNING, sqlalchemy#13130, a guard meant for DO UPDATE), so a new item's 15
    # search terms were 15 round trips; with RETURNING they are one statement. 15 rows, in one
    # sitting: 2.3-2.8 ms wall and 0.95 ms of CPU per call before, 1.0-1.1 ms and 0.55-0.63 ms
    # after (issue 14).
    # (Any one column will do when the caller wants nothing back.)
    shown = [table.c[name] for name in returning] or [table.c[0]]
    stmt = stmt.returning(*shown)
    inserted = list(session.execute(stmt, rows).all())
    return inserted if returning else []


# Below this many rows a multi-row INSERT is as quick; above it COPY wins by a wide margin.
COPY_THRESHOLD = 2000


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


# one encoder for every value: json.dumps with options builds a new encoder per call
_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode


def _copy_value(value: Any) -> str:
    """One field in PostgreSQL's COPY text format."""
    kind = type(value)
    # the common exact types first: a bulk write encodes millions of fields
    if kind is str:
        return value.translate(_COPY_ESCAPES)  # type: ignore[no-any-return]
    if kind is int or kind is float:
        return str(value)
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)  # str, not repr: numpy scalars repr as "np.float64(...)"
    if isinstance(value, dict | list):
        value = _JSON_TEXT(value)
    elif isinstance(value, datetime):
        value = value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _json_field(value: Any) -> str:
    # JSON text escapes every control character itself: only its backslashes need COPY's escape
    text = _JSON_TEXT(value)
    return text.translate(_COPY_ESCAPES) if "\\" in text else text


def _copy_column(values: list[Any]) -> list[str]:
    """One column's fields in COPY text format, with one encoder for the whole column.

    Per column rather than per field: the type dispatch runs once, not for every value. On
    50k match rows (ids, score, explanation) this took the encoding from 1.1-1.6 s of CPU to
    0.56-0.66 s (same text; 4 runs each, load average 6).
    """
    kinds = set(map(type, values))
    if kinds == {int} or kinds == {float}:  # exact types: bools and numpy scalars go below
        return list(map(str, values))
    if kinds <= {dict, list}:
        return list(map(_json_field, values))
    return list(map(_copy_value, values))


@dataclass(slots=True)
class _CopyBatch:
    """Rows encoded for COPY: the column order of every line, and the lines."""

    columns: list[str]
    text: str


def _copy_batch(rows: list[dict[str, Any]]) -> _CopyBatch:
    """COPY text of some rows (plain Python: runs while the database writes another batch)."""
    first = rows[0]
    # Columns that hold one value for the whole batch (a timestamp, a status) are encoded
    # once and written last, as one ready-made tail of every line.
    constant = [c for c in first if all(r[c] == first[c] for r in rows)]
    varying = [c for c in first if c not in constant]
    tail = "\t".join(_copy_value(first[c]) for c in constant)
    end = ("\t" + tail if varying and constant else tail) + "\n"
    if not varying:
        return _CopyBatch(constant, end * len(rows))
    fields = [_copy_column([r[c] for r in rows]) for c in varying]
    return _CopyBatch(varying + constant, end.join(map("\t".join, zip(*fields, strict=True))) + end)


def _copy_write(
    connection: Connection, table: Table, batch: _CopyBatch, returning: tuple[str, ...]
) -> list[Row[Any]]:
    """COPY an encoded batch into a scratch table, then insert it skipping conflicts."""
    stage = f"stage_{table.name}_{uuid.uuid4().hex[:8]}"
    column_list = ", ".join(f'"{c}"' for c in batch.columns)
    connection.exec_driver_sql(
        f'CREATE TEMP TABLE "{stage}" (LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP'
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.copy_expert(f'COPY "{stage}" ({column_list}) FROM STDIN', io.StringIO(batch.text))
    cursor.close()
    returning_sql = " RETURNING " + ", ".join(f'"{c}"' for c in returning) if returning else ""
    result = connection.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({column_list}) SELECT {column_list} FROM "{stage}" '
        f"ON CONFLICT DO NOTHING{returning_sql}"
    )
    inserted = list(result.all()) if returning else []
    connection.exec_driver_sql(f'DROP TABLE "{stage}"')
    return inserted


def _copy_insert_ignoring_conflicts(
    session: Session, table: Table, rows: list[dict[str, Any]], returning: tuple[str, ...]
) -> list[Row[Any]]:
    """The same as insert_ignoring_conflicts, through COPY into a scratch table (PostgreSQL)."""
    return _copy_write(session.connection(), table, _copy_batch(rows), returning)


def insert_batches_ignoring_conflicts(
    session: Session,
    table: Table,
    batches: Iterable[list[dict[str, Any]]],
    *,
    returning: tuple[str, ...] = (),
) -> Iterator[list[Row[Any]]]:
    """``insert_ignoring_conflicts`` of each batch in turn; yields each batch's inserted rows.

    On PostgreSQL a batch is encoded (and, being an iterator, built) while the database still
    inserts the one before: the driver waits for the server without the GIL, so the server's
    work runs on another core than the Python that prepares the next batch. The connection is
    only ever used by one thread at a time, and at most two batches are held.
    """
    if not is_postgres(session):
        for rows in batches:
            if rows:
                yield insert_ignoring_conflicts(session, table, rows, returning=returning)
        return
    connection = session.connection()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-writer") as writer:
        pending: Future[list[Row[Any]]] | None = None
        for rows in batches:
            if not rows:
                continue
            batch = _copy_batch(rows)
            del rows
            if pending is not None:
                yield pending.result()
            pending = writer.submit(_copy_write, connection, table, batch, returning)
            del batch
        if pending is not None:
            yield pending.result()


def is_postgres(session: Session) -> bool:
    """True when the session's database is PostgreSQL (statements may then use arrays)."""
    return session.get_bind().dialect.name == "postgresql"


def in_list(column: Any, name: str, *, postgres: bool) -> Any:
    """`column IN (:name)` for a list bound at execution: one array parameter on PostgreSQL.

    An expanding IN list is rendered anew for every execution (a placeholder per element, ~10 %
    of a match read's CPU for a few hundred ids, issue 14); `= ANY(:name)` is one parameter and
    one statement text. SQLite has no arrays, so it keeps the expanding list.
    """
    if postgres:
        return column == any_(bindparam(name, type_=ARRAY(BigInteger)))
    return column.in_(bindparam(name, expanding=True))


# PostgreSQL searches every join order of a statement with up to join_collapse_limit (8)
# relations; for the match reads (a page joins 7) that search took 2.5-4.7 ms of a request's
# database CPU, three times their execution, and psycopg2 prepares nothing so it is paid per
# request (issue 14). Those statements are written in their best order: keep it.
_JOINS_AS_WRITTEN = text("SET LOCAL join_collapse_limit = 1")
_JOINS_SEARCHED = text("SET LOCAL join_collapse_limit TO DEFAULT")


@contextmanager
def joins_as_written(session: Session) -> Iterator[None]:
    """Within the block PostgreSQL joins in the written order instead of searching for one."""
    if not is_postgres(session):
        yield
        return
    session.execute(_JOINS_AS_WRITTEN)
    yield
    # Not in a `finally`: after an error the transaction is rolled back, which undoes the SET.
    session.execute(_JOINS_SEARCHED)
