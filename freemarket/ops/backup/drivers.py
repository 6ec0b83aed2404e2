"""The database drivers of backups: SQLite (online backup API) and PostgreSQL (pg_dump)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from freemarket.ops.backup.manifest import BackupError, VerificationFailed
from freemarket.ops.process import (
    run,
    run_pipe,
)

PG_LIB_DIR = Path("/usr/lib/postgresql")


# --- databases ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _State:
    revision: str | None
    row_counts: dict[str, int]


class _Database(Protocol):
    """One backend's way to dump, inspect, test-restore and restore its database."""

    backend: str
    extension: str
    label: str

    def server_version(self) -> str: ...

    def exists(self) -> bool: ...

    def dump(self, dest: Path) -> _State: ...

    def state(self) -> _State: ...

    def scratch_state(self, dump: Path) -> _State: ...

    def restore(self, dump: Path) -> None: ...


def _database(database_url: str) -> _Database:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _SQLiteDatabase(url)
    if backend == "postgresql":
        return _PostgresDatabase(url)
    raise BackupError(f"backups support PostgreSQL and SQLite, not {backend}")


def _sqlite_state(conn: sqlite3.Connection) -> _State:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    revision = None
    if "alembic_version" in counts:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return _State(revision=revision, row_counts=counts)


class _SQLiteDatabase:
    """SQLite through its online backup API: consistent even while the service writes."""

    backend = "sqlite"
    extension = "sqlite3"

    def __init__(self, url: URL) -> None:
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        self.path = Path(url.database)
        self.label = self.path.name

    @staticmethod
    def _connect(path: Path) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(path, timeout=30, isolation_level=None))

    def _existing(self) -> Path:
        if not self.path.is_file():
            raise BackupError(f"the SQLite database {self.path} does not exist")
        return self.path

    def server_version(self) -> str:
        """The SQLite library version."""
        return sqlite3.sqlite_version

    def exists(self) -> bool:
        """Whether the database file is there (a new server's is not)."""
        return self.path.is_file()

    def dump(self, dest: Path) -> _State:
        """Copy the live database into `dest`; return what the copy holds."""
        with self._connect(self._existing()) as src, self._connect(dest) as dst:
            src.backup(dst)
            # A self-contained file: no -wal/-shm companions to lose when copying it around.
            dst.execute("PRAGMA journal_mode=DELETE")
            return _sqlite_state(dst)

    def state(self) -> _State:
        """Revision and row counts of the live database."""
        with self._connect(self._existing()) as conn:
            return _sqlite_state(conn)

    def scratch_state(self, dump: Path) -> _State:
        """Restore `dump` into a temporary file and return what it holds."""
        with tempfile.TemporaryDirectory(prefix="fm-verify-") as tmp:
            scratch = Path(tmp) / "scratch.db"
            with self._connect(dump) as src, self._connect(scratch) as dst:
                src.backup(dst)
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise VerificationFailed(f"integrity check failed: {problems[0]}")
                return _sqlite_state(dst)

    def restore(self, dump: Path) -> None:
        """Replace the live database's content with `dump`, in one step (creating the file on
        a new server, where it does not exist yet)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect(dump) as src, self._connect(self.path) as dst:
            src.backup(dst)


def pg_client_tool(name: str, major: int, lib_dir: Path | None = None) -> Path:
    """The `name` client (pg_dump, pg_restore, psql) of PostgreSQL `major`, or a clear error."""
    candidate = (lib_dir or PG_LIB_DIR) / str(major) / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    # Not a Debian layout: a client on PATH will do if it is the same major version.
    on_path = shutil.which(name)
    if on_path:
        result = run([on_path, "--version"], what=f"{name} --version")
        found = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
        if found and int(found.group(1)) == major:
            return Path(on_path)
    raise BackupError(
        f"no {name} for PostgreSQL {major} (looked for {candidate}); "
        f"install postgresql-client-{major}"
    )


def _pg_env(url: URL) -> dict[str, str]:
    # Credentials travel in the environment, never on a command line others can read.
    env = {"PGDATABASE": url.database or "", "PGAPPNAME": "freemarket-backup"}
    for var, value in (
        ("PGHOST", url.host or url.query.get("host")),
        ("PGPORT", url.port or url.query.get("port")),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGSSLMODE", url.query.get("sslmode")),
    ):
        if value:
            # A query key given twice arrives as a tuple; libpq takes one value.
            env[var] = str(value[0] if isinstance(value, tuple) else value)
    return env


def _pg_state(conn: Connection) -> _State:
    quote = conn.dialect.identifier_preparer.quote
    tables = conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ).scalars()
    counts = {
        t: conn.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar_one() for t in tables
    }
    revision = None
    if "alembic_version" in counts:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return _State(revision=revision, row_counts=counts)


class _PostgresDatabase:
    """PostgreSQL through pg_dump's custom format, with clients matching the server's major."""

    backend = "postgresql"
    extension = "pgdump"

    def __init__(self, url: URL) -> None:
        self.url = url
        self.label = url.database or "postgres"
        self._major: int | None = None
        self._version: str | None = None

    @contextmanager
    def _connect(self, url: URL | None = None, autocommit: bool = False) -> Iterator[Connection]:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = create_engine(url or self.url, poolclass=NullPool, **options)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _server(self) -> tuple[str, int]:
        if self._version is None or self._major is None:
            with self._connect() as conn:
                number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
                version = str(conn.execute(text("SHOW server_version")).scalar_one())
            self._version, self._major = version.split()[0], number // 10000
        return self._version, self._major

    def server_major(self) -> int:
        """The server's major version (15 for 15.4)."""
        return self._server()[1]

    def server_version(self) -> str:
        """The server's version, e.g. `15.4`."""
        return self._server()[0]

    def exists(self) -> bool:
        """Whether the database answers (it may be empty: pg_restore fills it)."""
        self._server()
        return True

    def _tool(self, name: str) -> Path:
        return pg_client_tool(name, self.server_major())

    def dump(self, dest: Path) -> _State:
        """pg_dump the database into `dest`; counts come from the very snapshot dumped."""
        pg_dump = self._tool("pg_dump")
        with self._connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump joins this transaction's snapshot, so the manifest's row counts
                # describe exactly the rows in the dump even while the service writes.
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                state = _pg_state(conn)
                run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dest}"],
                    what="pg_dump",
                    env=_pg_env(self.url),
                )
        return state

    def state(self) -> _State:
        """Revision and row counts of the live database."""
        with self._connect() as conn:
            return _pg_state(conn)

    def _load(self, dump: Path, url: URL) -> None:
        # pg_restore turns the dump into SQL and psql replays it after recreating the schema,
        # all in one transaction: tables a newer migration added do not linger, and a failed
        # restore leaves the database exactly as it was.
        with self._connect(url) as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            quoted = conn.dialect.identifier_preparer.quote(schema)
        run_pipe(
            [self._tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", dump],
            [
                self._tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--command=DROP SCHEMA IF EXISTS {quoted} CASCADE",
                f"--command=CREATE SCHEMA {quoted}",
                "--file=-",
            ],
            what="pg_restore",
            env=_pg_env(url),
        )

    def scratch_state(self, dump: Path) -> _State:
        """Restore `dump` into a temporary database on the same server, inspect, drop it."""
        scratch = f"fm_verify_{secrets.token_hex(6)}"
        with self._connect(autocommit=True) as conn:
            try:
                conn.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE template0'))
            except DBAPIError as exc:
                raise BackupError(
                    f"cannot create a scratch database to verify in (the database user needs "
                    f"CREATEDB): {str(exc.orig).strip().splitlines()[0]}"
                ) from exc
        scratch_url = self.url.set(database=scratch)
        try:
            self._load(dump, scratch_url)
            with self._connect(scratch_url) as conn:
                return _pg_state(conn)
        finally:
            with self._connect(autocommit=True) as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))

    def restore(self, dump: Path) -> None:
        """Replace the configured database's schema with the dump's, atomically."""
        self._load(dump, self.url)
