"""Load shedding: past the limit and the queue requests get 503 + Retry-After; probes pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from freemarket.api.app import create_app
from freemarket.infra.settings import Settings

LIMIT = 2


def route_first(app: FastAPI) -> None:
    """Move the route added last ahead of the web UI's catch-all route."""
    app.router.routes.insert(0, app.router.routes.pop())


@pytest.fixture
def busy_app(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, threading.Event]]:
    """An app limited to LIMIT requests in progress (no queue), with a route that holds."""
    limited = settings.model_copy(
        update={
            "max_concurrent_requests": LIMIT,
            "max_queued_requests": 0,
            "overload_retry_after_seconds": 7,
        }
    )
    app: FastAPI = create_app(limited, engine=engine)
    release = threading.Event()
    inside = threading.Semaphore(0)

    @app.get("/api/test-hold")
    def hold() -> dict[str, str]:
        inside.release()
        release.wait(timeout=30)
        return {"held": "yes"}

    route_first(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.inside = inside  # type: ignore[attr-defined]
        yield client, release
        release.set()


def test_excess_requests_are_refused_at_once_and_probes_still_answer(
    busy_app: tuple[TestClient, threading.Event],
) -> None:
    client, release = busy_app
    answers: list[int] = []
    holders = [
        threading.Thread(target=lambda: answers.append(client.get("/api/test-hold").status_code))
        for _ in range(LIMIT)
    ]
    for thread in holders:
        thread.start()
    for _ in range(LIMIT):
        assert client.inside.acquire(timeout=10)  # type: ignore[attr-defined]

    started = time.monotonic()
    refused = client.get("/api/categories")
    assert time.monotonic() - started < 1.0
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "7"
    assert refused.json() == {
        "detail": "the server is busy; try again in 7 s",
        "code": "overloaded",
        "params": {"retry_after": 7},
    }
    # The refusal still carries the headers every response carries.
    assert refused.headers["x-content-type-options"] == "nosniff"
    # Liveness, readiness and metrics are never refused: operators must see an overload.
    assert client.get("/health").status_code == 200
    assert client.get("/health/ready").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'route="unmatched",status="503"' in metrics.text

    release.set()
    for thread in holders:
        thread.join(timeout=10)
    assert answers == [200] * LIMIT
    # Once the held requests finish, their slots are free again.
    assert client.get("/api/categories").status_code == 200


def test_a_failing_request_frees_its_slot(settings: Settings, engine: Engine) -> None:
    limited = settings.model_copy(update={"max_concurrent_requests": 1})
    app = create_app(limited, engine=engine)

    @app.get("/api/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    route_first(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):
            assert client.get("/api/test-boom").status_code == 500
        assert client.get("/api/categories").status_code == 200


def test_zero_turns_the_limit_off(settings: Settings, engine: Engine) -> None:
    unlimited = settings.model_copy(update={"max_concurrent_requests": 0})
    app = create_app(unlimited, engine=engine)
    release = threading.Event()
    entered = threading.Semaphore(0)

    @app.get("/api/test-hold")
    def hold() -> dict[str, str]:
        entered.release()
        release.wait(timeout=30)
        return {"held": "yes"}

    route_first(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        threads = [threading.Thread(target=client.get, args=("/api/test-hold",)) for _ in range(5)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(5):
                assert entered.acquire(timeout=10)
            assert client.get("/api/categories").status_code == 200
        finally:
            release.set()
            for thread in threads:
                thread.join(timeout=10)


def test_default_limit_is_on() -> None:
    assert Settings(_env_file=None).max_concurrent_requests > 0


def test_queued_requests_wait_for_a_slot_and_are_refused_when_it_takes_too_long(
    settings: Settings, engine: Engine
) -> None:
    limited = settings.model_copy(
        update={
            "max_concurrent_requests": 1,
            "max_queued_requests": 1,
            "max_queue_wait_ms": 1500,
            "overload_retry_after_seconds": 7,
        }
    )
    app = create_app(limited, engine=engine)
    release = threading.Event()
    inside = threading.Semaphore(0)

    @app.get("/api/test-hold")
    def hold() -> dict[str, str]:
        inside.release()
        release.wait(timeout=30)
        return {"held": "yes"}

    route_first(app)
    with TestClient(app, raise_server_exceptions=False) as client:
        answers: dict[str, int] = {}

        def get(name: str, path: str) -> None:
            answers[name] = client.get(path).status_code

        holder = threading.Thread(target=get, args=("holder", "/api/test-hold"))
        holder.start()
        assert inside.acquire(timeout=10)
        # One waits in the queue for longer than 1.5 s: refused with Retry-After, not held.
        started = time.monotonic()
        late = client.get("/api/categories")
        waited = time.monotonic() - started
        assert late.status_code == 503 and late.headers["retry-after"] == "7"
        assert 1.4 <= waited < 5.0
        # A queued request gets the slot as soon as the holder finishes.
        queued = threading.Thread(target=get, args=("queued", "/api/categories"))
        queued.start()
        time.sleep(0.2)
        # The queue (1) is full now: the next is refused without waiting.
        started = time.monotonic()
        assert client.get("/api/categories").status_code == 503
        assert time.monotonic() - started < 1.0
        release.set()
        assert client.get("/health").status_code == 200
        for thread in (holder, queued):
            thread.join(timeout=10)
        assert answers == {"holder": 200, "queued": 200}
        assert client.get("/api/categories").status_code == 200
