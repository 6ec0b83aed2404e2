"""The fake Bot API (tests/fakes/telegram.py) as a server for containers on the stack network.

The stack's bot runs in a container and cannot reach the host's loopback, so the fake runs in
a container beside it (docker-compose.test.yml). GET /_calls lists what it received, for the
test to read through the port published on 127.0.0.1. Standard library only.

    python3 -m tests.ops.engine.telegram_api PORT TOKEN
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

from tests.fakes.telegram import FakeTelegram, _parse_body, error


def handler_for(state: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    """A request handler answering Bot API calls from `state`, plus GET /_calls."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            url = urlparse(self.path)
            if url.path == "/_calls":
                self._reply(200, [asdict(call) for call in state.calls])
                return
            length = int(self.headers.get("Content-Length") or 0)
            params = _parse_body(self.headers.get("Content-Type", ""), self.rfile.read(length))
            params.update(dict(parse_qsl(url.query)))
            path = url.path.strip("/").split("/")
            if len(path) != 2 or not path[0].startswith("bot"):
                self._reply(*error(404, "Not Found"))
                return
            self._reply(*state.answer(path[0][3:], path[1], params))

        do_GET = _handle
        do_POST = _handle

        def log_message(self, *_args: object) -> None:
            return

    return Handler


def main(port: int, token: str) -> None:
    """Serve the fake on 0.0.0.0:PORT inside its container until stopped."""
    server = ThreadingHTTPServer(("0.0.0.0", port), handler_for(FakeTelegram(token=token)))
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
