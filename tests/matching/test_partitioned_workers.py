"""N partitioned workers store exactly the matches and notifications one worker stores."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import Engine, Table, delete, insert, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Job, Match, Notification, User
from freemarket.domain import items, jobs
from freemarket.infra.settings import Settings
from freemarket.matching.partition import Partition, category_partition
from freemarket.matching.worker import MatchWorker
from tests.conftest import MakeUser

# categories of all three partitions (see category_partition), and `other`
CATEGORIES = ["bicycles", "sports", "kids", "phones", "tools", "electronics", "home", "other"]
NOUNS = ["велосипед", "шлем", "самокат", "телефон", "зарядка", "дрель", "чайник", "коляска"]
WORDS = ["детский", "новый", "синий", "складной", "samsung", "bosch", "горный", "20"]
CITIES = ["Москва", "Химки", "Тверь"]
RESULT_TABLES: list[Table] = [Notification.__table__, Match.__table__]  # type: ignore[list-item]


def _title(rng: random.Random) -> str:
    return " ".join([rng.choice(NOUNS), *rng.sample(WORDS, 2)])


def _post(db: Session, rng: random.Random, people: list[User], n: int) -> list[Item]:
    posted = []
    for _ in range(n):
        owner = rng.choice(people)
        posted.append(
            items.create_item(
                db,
                owner=owner,
                kind=rng.choice(["want", "offer"]),
                category=rng.choice(CATEGORIES),
                title=_title(rng),
                description=rng.choice(WORDS),
                city=rng.choice(CITIES),
                delivery=rng.random() < 0.2,
            )
        )
    db.commit()
    return posted


def _snapshot(db: Session) -> dict[str, list[dict[str, Any]]]:
    """Every row of the tables the workers write, ids and all (to restore them)."""
    return {t.name: [dict(r._mapping) for r in db.execute(select(t))] for t in RESULT_TABLES}


def _restore(db: Session, rows: dict[str, list[dict[str, Any]]]) -> None:
    for table in RESULT_TABLES:
        db.execute(delete(table))
    for table in reversed(RESULT_TABLES):
        if rows[table.name]:
            db.execute(insert(table), rows[table.name])
    db.commit()


def _queue(db: Session) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in db.execute(select(Job.__table__).order_by(Job.id))]


def _requeue(db: Session, queued: list[dict[str, Any]]) -> None:
    db.execute(delete(Job))
    db.execute(insert(Job.__table__), queued)
    db.commit()


def _outcome(db: Session) -> dict[str, object]:
    """What the workers decided, without row ids and times."""
    pairs = {m.id: (m.want_item_id, m.offer_item_id) for m in db.scalars(select(Match))}
    return {
        "matches": sorted(
            (m.want_item_id, m.offer_item_id, m.score, m.computed_by, repr(m.explanation))
            for m in db.scalars(select(Match))
        ),
        "notifications": sorted(
            (n.user_id, n.channel, n.kind, n.dedupe_key, repr(n.payload), pairs.get(n.match_id))
            for n in db.scalars(select(Notification))
        ),
    }


def _drain(workers: list[MatchWorker], db: Session) -> None:
    """Run the partitions in turn until no job is left (held merges included)."""
    for _ in range(50):
        for worker in workers:
            worker.run_until_idle()
        db.expire_all()
        if db.scalar(select(Job.id).limit(1)) is None:
            return
    raise AssertionError("the partitions never drained the queue")


def test_three_partitions_store_what_one_worker_stores(
    engine: Engine, settings: Settings, db: Session, make_user: MakeUser
) -> None:
    """Posts, then edits, a category move and withdrawals: same matches, same notifications."""
    assert {category_partition(c, 3) for c in CATEGORIES} == {1, 2, 3}
    rng = random.Random(5)
    people = [
        make_user(f"user{i}", city=CITIES[i % 3], telegram_id=5000 + i if i % 2 else None)
        for i in range(8)
    ]
    _post(db, rng, people, 60)
    single = MatchWorker(engine, settings)
    parts = [MatchWorker(engine, settings, partition=Partition(i, 3)) for i in (1, 2, 3)]
    for worker in [single, *parts]:
        worker.run_until_idle()  # every index built from the same 60 items (and their jobs run)
    first = _snapshot(db)
    assert first["matches"], "the corpus must produce matches"

    # more posts, matched incrementally: one worker, then (from the same state) the partitions
    _post(db, rng, people, 60)
    queued = _queue(db)
    single.run_until_idle()
    by_one = _outcome(db)
    _restore(db, first)
    _requeue(db, queued)
    _drain(parts, db)
    assert _outcome(db) == by_one
    # `other` wants got offers from more than one partition: the merge was exercised
    other_wants = set(
        db.scalars(select(Item.id).where(Item.category == "other", Item.kind == "want"))
    )
    spread = {
        category_partition(category, 3)
        for category in db.scalars(
            select(Item.category)
            .join(Match, Match.offer_item_id == Item.id)
            .where(Match.want_item_id.in_(other_wants))
        )
    }
    assert len(spread) >= 2, spread

    # edits, moves between partitions and withdrawals, from one state again
    second = _snapshot(db)
    for item in db.scalars(select(Item).order_by(Item.id).limit(12)).all():
        items.update_item(db, item=item, changes={"title": _title(rng)})
    for item in db.scalars(select(Item).order_by(Item.id).offset(12).limit(10)).all():
        moved = "other" if item.category != "other" else "phones"
        items.update_item(db, item=item, changes={"category": moved})
    for item in db.scalars(select(Item).order_by(Item.id).offset(22).limit(8)).all():
        items.deactivate_item(db, item=item)
    db.commit()
    queued = _queue(db)
    _drain(parts, db)
    by_parts = _outcome(db)
    _restore(db, second)
    _requeue(db, queued)
    single.run_until_idle()
    assert _outcome(db) == by_parts
    db.expire_all()
    assert db.scalar(select(Job.id).where(Job.kind != jobs.MATCH_ITEM).limit(1)) is None
