"""Loopback HTTP servers standing in for the Telegram Bot API and for FreeMarket itself."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
        # The real API: /bot<token>/<method>, 401 {"ok":false,...} for a token it does not know.
        token, _, method = path.removeprefix("/bot").partition("/")
        if token != GOOD_TOKEN:
            return _json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method == "getMe":
            me = {
                "id": 123456,
                "is_bot": True,
                "first_name": "FreeMarket",
                "username": "freemarket_test_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
            return _json(200, {"ok": True, "result": me})
        if method == "getWebhookInfo":
            info = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
            return _json(200, {"ok": True, "result": {**info, **self.webhook}})
        return _json(404, {"ok": False, "error_code": 404, "description": "Not Found"})


def _json(status: int, body: dict[str, Any]) -> Route:
    return Route(status, json.dumps(body), "application/json")


@contextmanager
def serve(server: FakeServer | None = None) -> Iterator[FakeServer]:
    """Run `server` on a free loopback port for the block; its `url` is set inside."""
    fake = server or FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            route = fake.answer(self.path.split("?")[0])
            body = route.body.encode() if isinstance(route.body, str) else route.body
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
