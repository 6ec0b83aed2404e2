"""Run a request again when its unit of work lost a race the database broke (deadlock, lock).

Each request is one unit of work (deps.get_db). When PostgreSQL aborts it to resolve a deadlock
or a serialization failure, or SQLite refuses a write from a stale snapshot, nothing was
committed and nothing was sent: the request is replayed from scratch, with the body it already
read, and only if every attempt fails does the caller hear 503 "busy, try again".
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from freemarket.db.session import is_retryable, retry_delays

log = logging.getLogger("freemarket.api")


class RetryLostRaces:
    """Replay a request whose transaction the database aborted, before anything was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record the body as it is read; on a retryable database error, play it again."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        recorded: list[Message] = []

        async def recording_receive() -> Message:
            message = await receive()
            recorded.append(message)
            return message

        for delay in (*retry_delays(), None):
            replay = list(recorded)

            async def replaying_receive(replay: list[Message] = replay) -> Message:
                return replay.pop(0) if replay else await recording_receive()

            started = False

            async def tracking_send(message: Message) -> None:
                nonlocal started
                started = started or message["type"] == "http.response.start"
                await send(message)

            attempt = dict(scope)
            try:
                await self.app(attempt, replaying_receive, tracking_send)
                return
            except Exception as exc:
                if started or not is_retryable(exc):
                    raise
                log.info("request lost a database race (%s); retrying", type(exc.orig).__name__)  # type: ignore[attr-defined]
                if delay is None:
                    break
                await asyncio.sleep(delay)
            finally:
                # The router records the matched route in the scope it was given; the metrics
                # middleware outside reads it from ours (else every request is "unmatched").
                if "route" in attempt:
                    scope["route"] = attempt["route"]
        await _busy(send)


async def _busy(send: Send) -> None:
    body = {
        "detail": "the database is busy with concurrent changes; try again",
        "code": "busy",
        "params": {},
    }
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
