"""Migrations on both backends: down to base and back, models match, bad revisions are refused."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

from freemarket import schema
from freemarket.models import Base
from freemarket.schema import MigrationError


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_down_and_up_again(engine: Engine) -> None:
    head = schema.head_revision()
    model_tables = set(Base.metadata.tables)
    try:
        assert schema.migration_status(engine).at_head
        assert model_tables <= _tables(engine)

        down = schema.downgrade(engine, "base")
        assert down.current is None and not down.at_head
        assert down.pending and down.pending[-1] == head
        assert _tables(engine) & model_tables == set()
        assert schema.check(engine) == [f"database is at empty, head is {head}"]

        up = schema.upgrade(engine)
        assert up.current == head and up.at_head and up.pending == []
        assert model_tables <= _tables(engine)
        assert schema.check(engine) == []

        schema.downgrade(engine, "base")
        assert _tables(engine) & model_tables == set()
        schema.upgrade(engine)
        assert schema.check(engine) == []
    finally:
        if schema.current_revision(engine) != head:
            schema.upgrade(engine)


def test_categories_seeded_again_after_round_trip(engine: Engine) -> None:
    from sqlalchemy import func, select

    from freemarket.db import session_factory
    from freemarket.models import Category

    schema.downgrade(engine, "base")
    schema.upgrade(engine)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Category)) == 21


def test_unknown_revision_raises_migration_error(engine: Engine) -> None:
    with pytest.raises(MigrationError):
        schema.downgrade(engine, "nonsense")
    with pytest.raises(MigrationError):
        schema.upgrade(engine, "nonsense")
    # A refused request changes nothing.
    assert schema.migration_status(engine).at_head
    assert schema.check(engine) == []
