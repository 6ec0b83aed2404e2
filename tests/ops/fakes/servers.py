"""Loopback HTTP servers standing in for the Telegram Bot API and for FreeMarket itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.http import loopback_server
from tests.fakes.telegram import FakeTelegram

GOOD_TOKEN = "123456:AAHgoodTokenForTests0123456789abcdef"


@dataclass
class Route:
    """What the fake answers for one path: status, body and content type."""

    status: int = 200
    body: str | bytes = ""
    content_type: str = "text/plain"


@dataclass
class FakeServer:
    """A threaded HTTP server answering from `routes`, recording the paths it was asked."""

    routes: dict[str, Route] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str) -> Route:
        """The route for `path`: a static route, else the Bot API, else 404."""
        self.requests.append(path)
        if path in self.routes:
            return self.routes[path]
        if path.startswith("/bot"):
            return self._bot_api(path)
        return Route(404, "not found")

    def _bot_api(self, path: str) -> Route:
        # The real API's answers, from the shared fake, with this server's webhook state.
        token, _, method = path.removeprefix("/bot").partition("/")
        telegram = FakeTelegram(token=GOOD_TOKEN)
        status, body = telegram.answer(token, method, {})
        if status == 200 and method == "getWebhookInfo":
            body["result"] = {**body["result"], **self.webhook}
        return _json(status, body)


def _json(status: int, body: dict[str, Any]) -> Route:
    return Route(status, json.dumps(body), "application/json")


@contextmanager
def serve(server: FakeServer | None = None) -> Iterator[FakeServer]:
    """Run `server` on a free loopback port for the block; its `url` is set inside."""
    fake = server or FakeServer()

    def respond(_method: str, target: str, _type: str, _body: bytes) -> tuple[int, str, bytes]:
        route = fake.answer(target.split("?")[0])
        body = route.body.encode() if isinstance(route.body, str) else route.body
        return route.status, route.content_type, body

    with loopback_server(respond) as url:
        fake.url = url
        yield fake
