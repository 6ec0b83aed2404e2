"""A streamed recompute (one want category at a time) stores what matching all at once stores."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import delete, select, true
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, Notification
from freemarket.infra.settings import Settings
from freemarket.matching.core import engine
from freemarket.matching.core.engine import VectorizedCorpus, match_corpus
from freemarket.matching.params import thresholds_from
from freemarket.matching.recompute import recompute
from freemarket.matching.store import load_listings, replace_matches
from tests.conftest import MakeUser
from tests.matching.core.test_engine import _corpus


def _stored(db: Session) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every match and notification, without ids and timestamps, in a stable order."""
    matches = sorted(
        db.execute(
            select(
                Match.want_item_id,
                Match.offer_item_id,
                Match.score,
                Match.computed_by,
                Match.explanation,
            )
        ).tuples()
    )
    pair = {
        m.id: (m.want_item_id, m.offer_item_id)
        for m in db.execute(select(Match.id, Match.want_item_id, Match.offer_item_id))
    }
    notes = sorted(
        (
            n.user_id,
            n.channel,
            n.kind,
            n.dedupe_key,
            n.status,
            sorted(n.payload.items()),
            pair[n.match_id],
        )
        for n in db.scalars(select(Notification))
    )
    return matches, notes


def _market(db: Session, make_user: MakeUser) -> None:
    """400 items of 20 people (some with Telegram) in two categories and `other`."""
    people = [make_user(f"u{i}", telegram_id=1000 + i if i % 3 == 0 else None) for i in range(20)]
    for x in _corpus(400, seed=29):
        db.add(
            Item(
                user_id=people[x.user_id].id,
                kind=x.kind,
                category=x.category,
                title=x.title,
                description=x.description,
                city=x.city,
                latitude=x.lat,
                longitude=x.lon,
                delivery=x.delivery,
            )
        )
    db.commit()


def test_streamed_recompute_stores_what_one_batch_stores(
    db: Session, settings: Settings, make_user: MakeUser
) -> None:
    """Matches with scores and explanations, and notifications, row for row."""
    _market(db, make_user)
    thresholds = thresholds_from(settings)

    report = recompute(db, thresholds=thresholds)
    db.commit()
    assert [p.category for p in report.partitions] == ["bicycles", "sports", "other"]
    streamed = _stored(db)
    assert streamed[0] and streamed[1]
    assert report.totals.added == len(streamed[0])

    db.execute(delete(Notification))
    db.execute(delete(Match))
    db.commit()
    # what the recompute stored before streaming: every candidate at once, one replacement
    corpus = VectorizedCorpus.build(load_listings(db))
    replace_matches(
        db, scope=[true()], candidates=match_corpus(corpus, thresholds), thresholds=thresholds
    )
    db.commit()
    assert _stored(db) == streamed


def test_cli_recompute_may_fork_matchers(
    db: Session, settings: Settings, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`match --recompute` shows progress without a thread, so matching may use every core."""
    import cli.matching

    _market(db, make_user)
    threads: list[int] = []
    fork_pool = engine.fork_pool

    @contextmanager
    def watched(workers: int | None) -> Iterator[object]:
        threads.append(threading.active_count())
        with fork_pool(workers) as pool:
            yield pool

    @contextmanager
    def transaction() -> Iterator[Session]:
        yield db

    monkeypatch.setattr(engine, "fork_pool", watched)
    monkeypatch.setattr(cli.matching, "transaction", transaction)
    monkeypatch.setattr(cli.matching, "settings", lambda: settings)
    cli.matching._recompute(categories=[], dry_run=True, json_output=True)
    # matched under the progress bar, with no thread besides the caller's
    assert threads and set(threads) == {threading.active_count()}


def test_failed_recompute_stores_nothing(
    db: Session, settings: Settings, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write failing after another category was written leaves every stored match as it was."""
    from freemarket.matching import recompute as recompute_module

    _market(db, make_user)
    thresholds = thresholds_from(settings)
    recompute(db, thresholds=thresholds)
    db.commit()
    before = _stored(db)
    # rescored and removed pairs would show if any category's write were kept
    db.execute(delete(Notification))
    db.execute(delete(Match).where(Match.id % 2 == 0))
    db.execute(Match.__table__.update().values(score=0.5))
    db.commit()
    kept = _stored(db)
    written: list[str] = []
    replace = recompute_module.replace_matches

    def failing(session: Session, **kwargs: Any) -> Any:
        written.append(threading.current_thread().name)
        if len(written) == 2:
            raise RuntimeError("the disk is full")
        return replace(session, **kwargs)

    monkeypatch.setattr(recompute_module, "replace_matches", failing)
    with pytest.raises(RuntimeError, match="disk is full"):
        recompute(db, thresholds=thresholds)
    db.rollback()
    assert len(written) == 2 and written[0].startswith("recompute-writer")
    assert _stored(db) == kept != before
