"""What one request of each hot API route costs, in process: CPU time and database round trips.

    flock /work/bench.lock .venv/bin/python -m benchmarks.api_profile
    flock /work/bench.lock .venv/bin/py-spy record -r 500 -f raw -o /tmp/matches.txt -- \\
        .venv/bin/python -m benchmarks.api_profile --routes matches --requests 3000

The load-independent companion of `benchmarks/api.py` (same database, same callers): the app
is called through ASGI directly (no sockets, no HTTP parsing), `--concurrency` requests at a
time as wrk's connections would, and each route is charged the CPU time of this process (every
thread: the event loop and the thread pool) and of its PostgreSQL backends, per request, next
to hello world's in the same process. CPU time, unlike requests per second on a shared
machine, hardly moves when other processes compete for the cores, so it shows whether a change
made a route cheaper even when wall-clock figures are noise. `statements` counts the SQL
statements and commits each request sends (every one a round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from benchmarks.api import (
    BENCH_ENV,
    DATABASE,
    POST_CONNECTIONS,
    REDIS_URL,
    Server,
    _grown,
    cpu_snapshot,
    hello_app,
    item_bodies,
    pick_subjects,
    prepare_database,
    read_routes,
)


@dataclass
class Cost:
    """What one route cost per request."""

    cpu_us: float
    db_cpu_us: float
    statements: float
    wall_ms: float


# (path, headers, body): a GET when the body is None, else a JSON POST.
Request = tuple[str, list[tuple[bytes, bytes]], bytes | None]


async def _call(
    app: Any, path: str, headers: list[tuple[bytes, bytes]], body: bytes | None = None
) -> int:
    """One GET (or, with a body, a JSON POST) through the app's ASGI interface; the status."""
    raw_path, _, query = path.partition("?")
    if body is not None:
        headers = [
            *headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET" if body is None else "POST",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body or b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _drive(
    app: Any, requests: list[Request], concurrency: int, expect: range = range(200, 300)
) -> None:
    """Send every request, `concurrency` in flight at a time; any other status stops the run."""
    queue = list(reversed(requests))

    async def connection() -> None:
        while queue:
            path, headers, body = queue.pop()
            status = await _call(app, path, headers, body)
            if status not in expect:
                raise SystemExit(f"{path}: status {status}")

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def measure(
    app: Any,
    requests: list[Request],
    *,
    concurrency: int,
    statements: Callable[[], int],
    server: Server,
    expect: range = range(200, 300),
) -> Cost:
    """CPU per request of this process and of the database backends, and round trips."""
    loop = asyncio.get_event_loop()
    warm_up = requests[: max(10, len(requests) // 10)]
    loop.run_until_complete(_drive(app, warm_up, concurrency, expect))
    sent = statements()
    cpu, backends = time.process_time(), cpu_snapshot(server)[1]
    wall = time.perf_counter()
    loop.run_until_complete(_drive(app, requests, concurrency, expect))
    wall = time.perf_counter() - wall
    n = len(requests)
    return Cost(
        cpu_us=(time.process_time() - cpu) / n * 1e6,
        db_cpu_us=_grown(backends, cpu_snapshot(server)[1]) / n * 1e6,
        statements=(statements() - sent) / n,
        wall_ms=wall / n * 1e3,
    )


def _admission(app: Any) -> Any:
    """The admission control layer of a built middleware stack."""
    from freemarket.api.middleware import ConcurrencyLimit

    while not isinstance(app, ConcurrencyLimit):
        app = app.app
    return app


def main() -> None:
    """Profile hello world and each selected route; print the cost table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="items in the data set")
    parser.add_argument("--requests", type=int, default=1000, help="requests per route")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--routes", help="only routes whose name contains this text")
    parser.add_argument("--auth", choices=["bearer", "cookie"], default="bearer")
    args = parser.parse_args()

    url = prepare_database(args.n, fresh=False)
    subjects = pick_subjects(url, args.callers)
    os.environ.update(BENCH_ENV)
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL})
    # This measures what a request costs, not admission: every request is let in (queued as
    # long as it takes) so a slow route is not cut short by 503s. benchmarks/api.py keeps the
    # defaults, where shedding is part of what is measured.
    os.environ.update({"MAX_QUEUED_REQUESTS": "10000", "MAX_QUEUE_WAIT_MS": "60000"})
    from freemarket.api.app import create_app
    from freemarket.infra.settings import Settings

    app = create_app(Settings(_env_file=None))
    engine = app.state.engine
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    event.listen(engine, "before_cursor_execute", counted)
    event.listen(engine, "commit", counted)
    server = Server(os.getpid(), DATABASE)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())

    rng_callers = subjects.auth(args.auth)

    def report(name: str, cost: Cost) -> None:
        print(
            f"{name:<46} {cost.cpu_us:7.0f}us {base.cpu_us / cost.cpu_us:6.2f} "
            f"{cost.db_cpu_us:9.0f}us {cost.statements:6.1f} {cost.wall_ms:7.2f}ms",
            flush=True,
        )

    hello = hello_app()
    base = measure(
        hello,
        [("/hello", [], None)] * args.requests,
        concurrency=args.concurrency,
        statements=lambda: count,
        server=server,
    )
    print(
        f"{'route':<46} {'cpu/req':>9} {'ratio':>6} {'db cpu/req':>11} {'stmts':>6} {'wall/req':>9}"
    )
    print(
        f"{'hello world':<46} {base.cpu_us:7.0f}us {1:6.2f} {'-':>11} {'-':>6} "
        f"{base.wall_ms:7.2f}ms"
    )
    for name, paths in read_routes(subjects):
        if args.routes and args.routes not in name:
            continue
        requests = []
        for i in range(args.requests):
            uid, header, value = rng_callers[i % len(rng_callers)]
            path = paths[i % len(paths)].replace("{me}", str(uid))
            requests.append((path, [(header.lower().encode(), value.encode())], None))
        cost = measure(
            app, requests, concurrency=args.concurrency, statements=lambda: count, server=server
        )
        report(name, cost)
    post = f"POST /api/items/ ({POST_CONNECTIONS} in flight)"
    if not args.routes or args.routes in post:
        bodies = [body.encode() for body in item_bodies(500)]
        requests = []
        for i in range(args.requests):
            _uid, header, value = rng_callers[i % len(rng_callers)]
            auth = [(header.lower().encode(), value.encode())]
            requests.append(("/api/items/", auth, bodies[i % len(bodies)]))
        # At the benchmark's own concurrency for writes: the target is set at 8 connections.
        cost = measure(
            app, requests, concurrency=POST_CONNECTIONS, statements=lambda: count, server=server
        )
        report(post, cost)
    refused = "refused (503 overloaded, GET /api/items/{id})"
    if not args.routes or args.routes in refused:
        # What turning one request away costs, with every slot taken and no queue left.
        app.middleware_stack = app.middleware_stack or app.build_middleware_stack()
        gate = _admission(app.middleware_stack)
        gate.in_progress, queue = gate.limit, gate.queue
        gate.queue = 0
        _uid, header, value = rng_callers[0]
        path = f"/api/items/{subjects.item_ids[0]}"
        requests = [(path, [(header.lower().encode(), value.encode())], None)] * args.requests
        cost = measure(
            app,
            requests,
            concurrency=args.concurrency,
            statements=lambda: count,
            server=server,
            expect=range(503, 504),
        )
        gate.in_progress, gate.queue = 0, queue
        report(refused, cost)
    loop.run_until_complete(lifespan.__aexit__(None, None, None))


if __name__ == "__main__":
    main()
