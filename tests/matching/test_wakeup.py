"""Workers wake through Redis the moment a job is committed, and only then."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Match
from freemarket.domain import jobs
from freemarket.infra import wakeup
from freemarket.infra.settings import Settings
from freemarket.matching.worker import MatchWorker
from tests.conftest import MakeUser
from tests.matching.conftest import PostItem

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def waker(monkeypatch: pytest.MonkeyPatch) -> Iterator[wakeup.Waker]:
    """A waker on a private Redis key, reset afterwards."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required at {REDIS_URL}: {exc}")
    monkeypatch.setattr(wakeup, "WAKE_KEY", f"freemarket:test:wake:{uuid.uuid4().hex}")
    configured = wakeup.configure(REDIS_URL)
    assert configured is not None
    yield configured
    redis.Redis.from_url(REDIS_URL).delete(wakeup.WAKE_KEY)
    wakeup.configure(None)


def test_commit_nudges_and_rollback_does_not(waker: wakeup.Waker, db: Session) -> None:
    """A committed job wakes a worker; a rolled-back one does not."""
    jobs.enqueue(db, kind=jobs.MATCH_ITEM, payload={"item_id": 1})
    db.rollback()
    assert waker.wait(0.3) is False
    jobs.enqueue(db, kind=jobs.MATCH_ITEM, payload={"item_id": 1})
    db.commit()
    assert waker.wait(2) is True


def test_sleeping_worker_matches_a_new_item_at_once(
    waker: wakeup.Waker,
    engine: Engine,
    settings: Settings,
    db: Session,
    make_user: MakeUser,
    post_item: PostItem,
    run_worker: Callable[[], object],
) -> None:
    """With a 30 s poll interval, a posted item is still matched within a second or two."""
    anna = make_user("anna", city="Москва")
    boris = make_user("boris", city="Москва")
    post_item(anna, kind="want", category="sports", title="Беговые лыжи Fischer")
    run_worker()
    stop = threading.Event()
    worker = MatchWorker(engine, settings)
    thread = threading.Thread(target=worker.run_forever, args=(stop,), kwargs={"poll_seconds": 30})
    thread.start()
    try:
        time.sleep(0.3)  # let it fall asleep on the empty queue
        started = time.monotonic()
        post_item(boris, kind="offer", category="sports", title="Лыжи беговые Fischer")
        while time.monotonic() - started < 5:
            db.rollback()  # a fresh snapshot on every look
            if db.scalar(select(func.count()).select_from(Match)):
                break
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        waker.nudge()  # wake it so it sees the stop flag
        thread.join(timeout=35)
    assert db.scalar(select(func.count()).select_from(Match)) == 1
    assert elapsed < 3
