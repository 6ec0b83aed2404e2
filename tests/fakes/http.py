"""A threaded HTTP server on a free loopback port, answering with a plain function."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (method, path with query, content type, body) -> (status, content type, body)
Responder = Callable[[str, str, str, bytes], tuple[int, str, bytes]]


@contextmanager
def loopback_server(respond: Responder) -> Iterator[str]:
    """Serve `respond` for the block; yields the base URL (http://127.0.0.1:PORT)."""

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, content_type, body = respond(
                self.command,
                self.path,
                self.headers.get("Content-Type", ""),
                self.rfile.read(length),
            )
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a long poll cancelled at shutdown): nobody to tell

        do_GET = _handle
        do_POST = _handle

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
