"""Schema migrations: upgrade, downgrade, status and drift checks over the shipped Alembic tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from freemarket.db.models import Base
from freemarket.errors import FreeMarketError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class MigrationError(FreeMarketError):
    """A migration request that cannot be carried out (unknown revision, failed step)."""


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where the database stands against the migrations shipped with this version."""

    current: str | None
    head: str
    pending: list[str] = field(default_factory=list)

    @property
    def at_head(self) -> bool:
        """True when no migration is waiting."""
        return self.current == self.head


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The newest revision shipped with this version."""
    head = _script().get_current_head()
    if head is None:
        raise MigrationError("no migrations are shipped with this build")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migration_status(engine: Engine) -> MigrationStatus:
    """Current revision, head, and the revisions still to apply (oldest first)."""
    current = current_revision(engine)
    head = head_revision()
    script = _script()
    pending = [
        rev.revision
        for rev in script.iterate_revisions(head, current or "base")
        if rev.revision != current
    ]
    pending.reverse()
    return MigrationStatus(current=current, head=head, pending=pending)


def _sqlite_pragma(conn: Connection, pragma: str) -> None:
    # Straight to the driver, outside any transaction: SQLite ignores this pragma inside one.
    conn.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def _run(engine: Engine, action: str, revision: str) -> None:
    cfg = _config(engine)
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the original; with foreign keys
            # on, that DROP would cascade and delete every row that references the table.
            # The pragma only takes effect outside a transaction, hence before BEGIN.
            _sqlite_pragma(conn, "foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                getattr(command, action)(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationError(f"migration broke {len(broken)} foreign key(s)")
        except Exception as exc:  # Alembic raises assorted types for a bad revision id
            if exc.__class__.__module__.startswith("alembic"):
                raise MigrationError(str(exc)) from exc
            raise
        finally:
            if sqlite:
                _sqlite_pragma(conn, "foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> MigrationStatus:
    """Upgrade the database to `revision` (default head) and return the new status."""
    _run(engine, "upgrade", revision)
    return migration_status(engine)


def downgrade(engine: Engine, revision: str) -> MigrationStatus:
    """Downgrade the database to `revision` (an id, `base`, or `-1`) and return the status."""
    _run(engine, "downgrade", revision)
    return migration_status(engine)


def schema_drift(engine: Engine) -> list[str]:
    """Differences between the models and the migrated database, as readable lines."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    return [_describe(diff) for diff in diffs]


def _describe(diff: object) -> str:
    # compare_metadata yields tuples, or lists of tuples for column modifications.
    entries = diff if isinstance(diff, list) else [diff]
    parts = []
    for entry in entries:
        kind, *rest = entry  # type: ignore[misc]
        target = next((getattr(r, "name", None) for r in rest if hasattr(r, "name")), None)
        table = next((r for r in rest if isinstance(r, str)), None)
        parts.append(f"{kind} {table + '.' if table else ''}{target or ''}".strip())
    return "; ".join(parts)


def check(engine: Engine) -> list[str]:
    """Problems that make the database unfit to serve: pending migrations or model drift."""
    status = migration_status(engine)
    if not status.at_head:
        return [f"database is at {status.current or 'empty'}, head is {status.head}"]
    return schema_drift(engine)
