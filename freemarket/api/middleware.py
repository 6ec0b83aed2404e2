"""ASGI middleware: request body size limit, security headers, load shedding."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodySizeLimit:
    """Answer 413 when a request body exceeds its limit, declared or streamed.

    The limit is `max_bytes`, or `upload_max_bytes` on paths matching `upload_paths` (photos
    are far larger than any JSON body).
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
        """Check Content-Length up front, then count streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._reject(send, limit)
            return
        received = 0
        responded = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not responded:
                await self._reject(send, limit)

    async def _reject(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "detail": f"request body larger than {limit} bytes",
                "code": "body_too_large",
                "params": {"max_bytes": limit},
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def security_headers(*, hsts: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response carries, HSTS included when served over HTTPS."""
    extra = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if hsts:
        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return extra


class SecurityHeaders:
    """Add the headers every response should carry (and HSTS when served over HTTPS)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.extra = security_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Append the headers to the response start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    header for header in self.extra if header[0] not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConcurrencyLimit:
    """Load shedding: refuse requests beyond `limit` in progress with 503 and Retry-After.

    Without it an overloaded worker accepts everything and answers each request after every
    one queued before it: seconds of latency for all, timeouts, and probes that time out too.
    Refusing the excess at once keeps the accepted requests fast and tells clients (and nginx,
    which retries another replica on 503) to come back. Probes and metrics are never refused.

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
        exempt_paths: frozenset[str] = frozenset({"/health", "/health/ready", "/metrics"}),
    ) -> None:
        self.app = app
        self.limit = limit
        self.retry_after = retry_after
        self.exempt_paths = exempt_paths
        # One event loop per process runs every request, so a plain counter is race-free.
        self.in_progress = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on while under the limit, else answer 503 at once."""
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        if self.in_progress >= self.limit:
            await self._refuse(send)
            return
        self.in_progress += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_progress -= 1

    async def _refuse(self, send: Send) -> None:
        body = {
            "detail": f"the server is busy; try again in {self.retry_after} s",
            "code": "overloaded",
            "params": {"retry_after": self.retry_after},
        }
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(self.retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})
