"""ASGI middleware: request body limits (size and JSON depth), security headers, load shedding."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from freemarket.domain import jsonpolicy
from freemarket.errors import InvalidInput


class BodyLimits:
    """Read the body whole before any route: 413 past its limit, 422 if its JSON nests too deep.

    The limit is `max_bytes`, or `upload_max_bytes` on paths matching `upload_paths` (photos
    are far larger than any JSON body). Reading the body here, rather than counting bytes as
    the route reads them, is what makes a chunked body without Content-Length a 413 too (the
    framework turns any error raised while it reads into a 400), and lets the JSON policy run
    once, before parsing and validation. Every body is capped, so holding one is cheap.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        upload_max_bytes: int | None = None,
        upload_paths: re.Pattern[str] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes
        self.upload_paths = upload_paths

    def limit_for(self, path: str) -> int:
        """The body limit of a request path."""
        if self.upload_paths is not None and self.upload_paths.fullmatch(path):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front, read and check the body, then replay it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the app will see the disconnect
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > limit:
                await _too_large(send, limit)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(headers.get(b"content-type")):
            try:
                jsonpolicy.check_body(body)
            except InvalidInput as exc:
                await _answer(
                    send, 422, {"detail": exc.message, "code": exc.code, "params": exc.params}
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    await _answer(
        send,
        413,
        {
            "detail": f"request body larger than {limit} bytes",
            "code": "body_too_large",
            "params": {"max_bytes": limit},
        },
    )


def _is_json(content_type: bytes | None) -> bool:
    # FastAPI parses a body without Content-Type as JSON, and any */*+json type too.
    if content_type is None:
        return True
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


# The web UI's sources: its own files, the Telegram Login Widget (a script from telegram.org that
# opens an iframe on oauth.telegram.org), photos from the API or an S3 bucket's https URLs.
CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; script-src 'self' https://telegram.org; "
    b"frame-src https://oauth.telegram.org; img-src 'self' data: blob: https:; "
    b"style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; "
    b"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CSP = b"content-security-policy"


def security_headers(*, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries, HSTS included when served over HTTPS.

    deploy/nginx/security-headers.conf sends the same ones in production (a test compares).
    """
    extra = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (CSP, CONTENT_SECURITY_POLICY),
    ]
    if hsts:
        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return extra


class SecurityHeaders:
    """Add the headers every response should carry (and HSTS when served over HTTPS).

    `docs_paths` (FastAPI's interactive API docs, which load their scripts from a CDN) get
    every header but the Content-Security-Policy.
    """

    def __init__(
        self, app: ASGIApp, *, hsts: bool, docs_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.extra = security_headers(hsts=hsts)
        self.docs_extra = [header for header in self.extra if header[0] != CSP]
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Append the headers to the response start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self.docs_extra if scope.get("path") in self.docs_paths else self.extra

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    header for header in extra if header[0] not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConcurrencyLimit:
    """Admission control: `limit` requests in progress, a bounded queue, 503 for the rest.

    Without it an overloaded worker accepts everything and answers each request after every
    one queued before it: seconds of latency for all, timeouts, and probes that time out too.
    Up to `limit` requests run; up to `queue` more wait for a slot, first come first served,
    each at most `max_wait` seconds (its queueing delay); a request finding the queue full, or
    whose foreseen wait (the requests ahead of it times the recent time per request) is longer,
    or that waits longer, gets 503 with Retry-After, which tells clients (and nginx, which
    retries another replica on 503) to come back. Probes and metrics never wait and are never
    refused. Fewer requests in progress also keep the event loop responsive: every request in
    progress is a thread competing with the loop for the GIL, and with 32 of them /health
    went unanswered for seconds under overload (issue 14; 8 or 4 did better on 2 cores).

    It is the outermost layer of the app's own, so a refusal costs no other layer's work
    (metrics, headers, body checks, routing): its answer is rendered once, with the headers
    every response carries (`headers`), and it counts itself through `on_refuse`.

    uvicorn's own `--limit-concurrency` does not fit: it counts open connections, so idle
    keep-alive connections (nginx keeps many) use up the limit; it refuses /health too; and
    its 503 has no Retry-After.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        retry_after: int,
        queue: int = 0,
        max_wait: float = 0.0,
        headers: list[tuple[bytes, bytes]] | None = None,
        on_refuse: Callable[[Scope, float], None] | None = None,
        exempt_paths: frozenset[str] = frozenset({"/health", "/health/ready", "/metrics"}),
    ) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.queue = queue
        self.max_wait = max_wait
        self.on_refuse = on_refuse
        self.exempt_paths = exempt_paths
        # One event loop per process runs every request, so plain counters are race-free.
        self.in_progress = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        # Recent time a request holds its slot (moving average), to foresee a newcomer's wait.
        self.service_time = 0.0
        body = {
            "detail": f"the server is busy; try again in {retry_after} s",
            "code": "overloaded",
            "params": {"retry_after": retry_after},
        }
        self.refusal_body = json.dumps(body).encode()
        self.refusal_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.refusal_body)).encode()),
            (b"retry-after", str(retry_after).encode()),
            *(headers or []),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on while under the limit, else queue it briefly or answer 503."""
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        if self.in_progress < self.limit:
            self.in_progress += 1
        else:
            arrived = time.perf_counter()
            if not await self._wait_for_slot():
                await self._refuse(scope, send, arrived)
                return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.service_time += (time.perf_counter() - started - self.service_time) / 16
            self.in_progress -= 1
            self._wake_next()

    async def _wait_for_slot(self) -> bool:
        """Queue for a slot (counted in when handed over); False when full or waited too long."""
        # Refused at once when the queue is full, or when the requests ahead of this one would
        # already take longer than it may wait: waiting first would only make its 503 slower.
        foreseen = (len(self.waiting) + 1) * self.service_time / self.limit
        if len(self.waiting) >= self.queue or foreseen > self.max_wait:
            return False
        slot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(slot)
        try:
            await asyncio.wait_for(asyncio.shield(slot), self.max_wait)
        except TimeoutError:
            if slot.done():
                # Handed a slot just as the wait ran out: take it rather than lose it.
                return True
            self.waiting.remove(slot)
            return False
        except asyncio.CancelledError:
            # The client went away while waiting: give back a slot it was handed, if any.
            if slot.done():
                self.in_progress -= 1
                self._wake_next()
            else:
                self.waiting.remove(slot)
            raise
        return True

    def _wake_next(self) -> None:
        """Hand a freed slot to the longest-waiting request (it counts itself in on waking)."""
        while self.waiting and self.in_progress < self.limit:
            slot = self.waiting.popleft()
            if not slot.done():
                # Counted in now, so no newcomer takes the slot before the woken request runs.
                self.in_progress += 1
                slot.set_result(None)
                return

    async def _refuse(self, scope: Scope, send: Send, arrived: float) -> None:
        # New message dicts each time: a layer outside (CORS) may add to their headers.
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": list(self.refusal_headers),
            }
        )
        await send({"type": "http.response.body", "body": self.refusal_body})
        if self.on_refuse is not None:
            self.on_refuse(scope, time.perf_counter() - arrived)
