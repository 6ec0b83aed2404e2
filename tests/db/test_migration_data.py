"""Migrations keep existing rows: upgrading a populated database loses nothing."""

from __future__ import annotations

from sqlalchemy import Engine, text

from freemarket.db import migrate


def test_upgrade_and_downgrade_keep_rows(engine: Engine) -> None:
    """Rows written under the first schema survive every later migration and the way back."""
    migrate.downgrade(engine, "base")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, language, role, is_banned, trust_score, "
                "rating_count, created_at) VALUES ('anna', 'ru', 'user', false, 0, 0, "
                "CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO items (user_id, kind, category, title, description, metadata, "
                "delivery, active, created_at, updated_at) VALUES (1, 'offer', 'books', "
                "'Книга', '', '{}', false, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 1
        # An unrated user has no trust score after 0002, rather than a misleading 0.
        assert conn.execute(text("SELECT trust_score FROM users")).scalar() is None
    migrate.downgrade(engine, "0001")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 1
        assert conn.execute(text("SELECT trust_score FROM users")).scalar() == 0
    migrate.upgrade(engine)
    assert migrate.check(engine) == []
