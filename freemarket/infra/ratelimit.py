"""Fixed-window rate limits, in Redis when configured (shared by every replica) or in memory."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Protocol

from freemarket.errors import RateLimited

log = logging.getLogger("freemarket.infra.ratelimit")
WINDOW_SECONDS = 60


class RateLimiter(Protocol):
    """Counts hits per key and window."""

    def hit(self, key: str, *, limit: int, window: int = WINDOW_SECONDS) -> int | None:
        """Record a hit; None when allowed, else seconds until the window resets."""
        ...


class MemoryRateLimiter:
    """Per-process counters: right for one process (the embedded default) and for tests."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window: int = WINDOW_SECONDS) -> int | None:
        """Record a hit; None when allowed, else seconds until the window resets."""
        now = time.time()
        slot = int(now // window)
        with self._lock:
            if len(self._counts) > 100_000:
                # Old windows are never read again; drop them rather than grow without bound.
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= slot}
            count = self._counts.get((key, slot), 0) + 1
            self._counts[(key, slot)] = count
        if count <= limit:
            return None
        return max(1, math.ceil((slot + 1) * window - now))


class RedisRateLimiter:
    """Counters in Redis, so every API replica enforces the same limit."""

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, *, limit: int, window: int = WINDOW_SECONDS) -> int | None:
        """Record a hit; None when allowed, else seconds until the window resets."""
        import redis

        now = time.time()
        slot = int(now // window)
        name = f"freemarket:rl:{key}:{slot}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(name)
            pipe.expire(name, window + 1)
            count = int(pipe.execute()[0])
        except redis.RedisError as exc:
            # Fail open: an unreachable Redis must not take the whole site down with it.
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((slot + 1) * window - now))


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    """Redis-backed when a URL is configured, in-process otherwise."""
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


def enforce(limiter: RateLimiter, *, key: str, limit: int, what: str) -> None:
    """Raise RateLimited when `key` went over `limit` hits this minute."""
    retry_after = limiter.hit(key, limit=limit)
    if retry_after is not None:
        raise RateLimited(
            f"too many {what}; try again in {retry_after} s", retry_after=retry_after, what=what
        )
