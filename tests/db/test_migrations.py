"""Migrations on both backends: down to base and back, models match, bad revisions are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from freemarket.db import migrate
from freemarket.db.migrate import MigrationError
from freemarket.db.models import Base


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_down_and_up_again(engine: Engine) -> None:
    head = migrate.head_revision()
    model_tables = set(Base.metadata.tables)
    try:
        assert migrate.migration_status(engine).at_head
        assert model_tables <= _tables(engine)

        down = migrate.downgrade(engine, "base")
        assert down.current is None and not down.at_head
        assert down.pending and down.pending[-1] == head
        assert _tables(engine) & model_tables == set()
        assert migrate.check(engine) == [f"database is at empty, head is {head}"]

        up = migrate.upgrade(engine)
        assert up.current == head and up.at_head and up.pending == []
        assert model_tables <= _tables(engine)
        assert migrate.check(engine) == []

        migrate.downgrade(engine, "base")
        assert _tables(engine) & model_tables == set()
        migrate.upgrade(engine)
        assert migrate.check(engine) == []
    finally:
        if migrate.current_revision(engine) != head:
            migrate.upgrade(engine)


def test_categories_seeded_again_after_round_trip(engine: Engine) -> None:
    from sqlalchemy import func, select

    from freemarket.db.models import Category
    from freemarket.db.session import session_factory

    migrate.downgrade(engine, "base")
    migrate.upgrade(engine)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Category)) == 21


def test_unknown_revision_raises_migration_error(engine: Engine) -> None:
    with pytest.raises(MigrationError):
        migrate.downgrade(engine, "nonsense")
    with pytest.raises(MigrationError):
        migrate.upgrade(engine, "nonsense")
    # A refused request changes nothing.
    assert migrate.migration_status(engine).at_head
    assert migrate.check(engine) == []
