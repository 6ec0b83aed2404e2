"""joins_as_written: PostgreSQL keeps a statement's join order within the block, and only there."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from freemarket.db.session import is_postgres, joins_as_written, unit_of_work


def _limit(session: Session) -> str:
    return str(session.scalar(text("SHOW join_collapse_limit")))


def test_joins_as_written_holds_inside_the_block_only(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        if not is_postgres(session):
            with joins_as_written(session):  # nothing to set on SQLite, and nothing breaks
                assert session.scalar(text("SELECT 1")) == 1
            return
        default = _limit(session)
        with joins_as_written(session):
            assert _limit(session) == "1"
        assert _limit(session) == default != "1"
    with pytest.raises(RuntimeError), unit_of_work(engine) as session, joins_as_written(session):
        raise RuntimeError("the read failed")
    # The failed request's transaction was rolled back, and with it the setting.
    with unit_of_work(engine) as session:
        assert _limit(session) == default
