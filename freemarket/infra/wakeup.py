"""Wake workers the moment a job is committed (through Redis when configured, else polling).

The job row in the database is the truth; the wake-up is only a nudge, so a lost nudge (Redis
down, a worker busy) costs at most one poll interval, never a job.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger("freemarket.infra.wakeup")

WAKE_KEY = "freemarket:wake:jobs"
# Enough tokens for every worker to wake; more would only make idle workers spin once.
MAX_TOKENS = 64


class Waker:
    """Sends and waits for job wake-ups over one Redis connection pool."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=1)

    def nudge(self) -> None:
        """Tell one sleeping worker that a job is waiting."""
        import redis

        try:
            pipe = self._redis.pipeline()
            pipe.lpush(WAKE_KEY, 1)
            pipe.ltrim(WAKE_KEY, 0, MAX_TOKENS - 1)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not wake workers: %s", type(exc).__name__)

    def wait(self, timeout: float) -> bool:
        """Sleep until nudged or `timeout` seconds pass; True when nudged."""
        import redis

        try:
            return self._redis.brpop([WAKE_KEY], timeout=max(timeout, 0.01)) is not None
        except redis.RedisError:
            return False


_waker: Waker | None = None


def configure(redis_url: str | None) -> Waker | None:
    """Use Redis at `redis_url` for wake-ups in this process (None: workers just poll)."""
    global _waker
    _waker = Waker(redis_url) if redis_url else None
    return _waker


def current() -> Waker | None:
    """This process's waker, if any."""
    return _waker


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session, *_args: Any) -> None:
    # jobs.enqueue marks the session; only once the jobs are committed may a worker look.
    if session.info.pop("jobs_enqueued", False) and _waker is not None:
        _waker.nudge()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session, *_args: Any) -> None:
    session.info.pop("jobs_enqueued", None)
