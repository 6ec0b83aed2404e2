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


def test_ratings_already_shown_stay_revealed(engine: Engine) -> None:
    """0011: answered ratings and ones older than the reveal period were shown: still are."""
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from freemarket.db.models import Exchange, ExchangeParty, Rating, User, utcnow

    migrate.downgrade(engine, "0010_item_search_terms")
    now = utcnow()
    with Session(engine) as session:
        # The schema of 0010 still requires a language (0013 made it optional).
        people = [User(username=name, language="ru") for name in ("a", "b", "c")]
        session.add_all(people)
        session.flush()
        a, b, _ = (p.id for p in people)
        exchanges = [Exchange(kind="direct", status="completed", proposed_by_id=a) for _ in "xyz"]
        session.add_all(exchanges)
        session.flush()
        x, y, z = (e.id for e in exchanges)
        session.add_all(ExchangeParty(exchange_id=e, user_id=u) for e in (x, y, z) for u in (a, b))
        session.flush()
        # Rating rows written as the old schema had them (no revealed_at column yet).
        rows = [
            (a, b, x, now),  # answered by the next one
            (b, a, x, now),
            (a, b, y, now - timedelta(days=20)),  # unanswered, but past the old 14 days
            (a, b, z, now - timedelta(days=2)),  # unanswered and recent: hidden
        ]
        # Inserted naming only the columns the old schema has (no revealed_at yet).
        session.execute(
            Rating.__table__.insert(),
            [
                {"from_user_id": r, "to_user_id": e, "tx_id": t, "score": 4, "created_at": at}
                for r, e, t, at in rows
            ],
        )
        session.commit()
    migrate.upgrade(engine)
    with Session(engine) as session:
        revealed = {
            (r.tx_id, r.from_user_id): r.revealed_at is not None
            for r in session.query(Rating).all()
        }
    assert revealed == {(x, a): True, (x, b): True, (y, a): True, (z, a): False}
