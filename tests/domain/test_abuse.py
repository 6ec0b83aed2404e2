"""Abuse limits (in memory and in Redis), CORS, security headers, and errors that leak nothing."""

from __future__ import annotations

import random
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from freemarket.infra import ratelimit
from tests.domain.conftest import BOT_TOKEN, SECRET_KEY, MakeClient, Person

REDIS_URL = "redis://127.0.0.1:6379/15"
ITEM = {"kind": "offer", "category": "books", "title": "Атлас"}


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """Stop the limiter's clock mid-window (a random far-future minute), so windows never roll.

    The random minute also gives these tests Redis keys of their own.
    """
    now = (random.randrange(10**9, 2 * 10**9) * 60) + 30.0
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))
    return now


def assert_429(response: object) -> None:
    assert response.status_code == 429, response.text  # type: ignore[attr-defined]
    retry = int(response.headers["retry-after"])  # type: ignore[attr-defined]
    assert 1 <= retry <= 60
    assert "too many" in response.json()["detail"]  # type: ignore[attr-defined]


def test_sign_in_attempts_are_limited_per_address(
    make_client: MakeClient, frozen_clock: float
) -> None:
    client = make_client(rate_limit_signin_per_minute=3)
    for _ in range(3):
        assert client.post("/api/auth/code", json={"code": "x" * 20}).status_code == 401
    assert_429(client.post("/api/auth/code", json={"code": "x" * 20}))
    assert_429(client.post("/api/auth/telegram", json={"id": 1, "auth_date": 1, "hash": "a" * 64}))
    assert_429(client.post("/api/auth/webapp", json={"init_data": "a=b"}))
    assert int(client.post("/api/auth/code", json={"code": "x" * 20}).headers["retry-after"]) == 30


def test_writes_are_limited_per_user(
    make_client: MakeClient, frozen_clock: float, anna: Person, boris: Person
) -> None:
    client = make_client(rate_limit_write_per_minute=2)
    for _ in range(2):
        assert client.post("/api/items/", json=ITEM, headers=anna.headers).status_code == 201
    assert_429(client.post("/api/items/", json=ITEM, headers=anna.headers))
    assert_429(client.patch(f"/api/users/{anna.id}", json={"city": "Ы"}, headers=anna.headers))
    # Reading is not writing, and boris has his own budget.
    assert client.get("/api/users/me", headers=anna.headers).status_code == 200
    assert client.post("/api/items/", json=ITEM, headers=boris.headers).status_code == 201


def test_searches_are_limited(make_client: MakeClient, frozen_clock: float) -> None:
    client = make_client(rate_limit_search_per_minute=3)
    for query in ("a", "b", "c"):
        assert client.get("/api/items", params={"q": query}).status_code == 200
    assert_429(client.get("/api/items", params={"q": "d"}))


def test_plain_lists_are_not_counted_as_searches(
    make_client: MakeClient, frozen_clock: float
) -> None:
    client = make_client(rate_limit_search_per_minute=3)
    for page in ({}, {"city": "Москва"}, {"kind": "offer"}, {"q": ""}, {}):
        assert client.get("/api/items", params=page).status_code == 200
    for query in ("a", "b", "c"):
        assert client.get("/api/items", params={"q": query}).status_code == 200
    assert_429(client.get("/api/items", params={"q": "d"}))


@pytest.fixture
def redis_db15(frozen_clock: float) -> Iterator[object]:
    """Redis db 15, skipped when unreachable; this test's keys are deleted afterwards."""
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis unreachable: {exc}")
    slot = int(frozen_clock // ratelimit.WINDOW_SECONDS)
    yield conn
    keys = list(conn.scan_iter(match=f"freemarket:rl:*:{slot}"))
    if keys:
        conn.delete(*keys)
    conn.close()


def test_redis_limiter_is_shared_between_replicas(
    make_client: MakeClient, redis_db15: object, frozen_clock: float
) -> None:
    first = make_client(redis_url=REDIS_URL, rate_limit_signin_per_minute=3)
    second = make_client(redis_url=REDIS_URL, rate_limit_signin_per_minute=3)
    assert isinstance(first.app.state.rate_limiter, ratelimit.RedisRateLimiter)  # type: ignore[attr-defined]
    body = {"code": "y" * 20}
    assert first.post("/api/auth/code", json=body).status_code == 401
    assert second.post("/api/auth/code", json=body).status_code == 401
    assert first.post("/api/auth/code", json=body).status_code == 401
    assert_429(second.post("/api/auth/code", json=body))
    assert_429(first.post("/api/auth/code", json=body))
    slot = int(frozen_clock // ratelimit.WINDOW_SECONDS)
    key = f"freemarket:rl:signin:ip:testclient:{slot}"
    assert int(redis_db15.get(key)) == 5  # type: ignore[attr-defined]
    assert 0 < redis_db15.ttl(key) <= ratelimit.WINDOW_SECONDS + 1  # type: ignore[attr-defined]
    # A replica with its own memory counters would not know.
    memory = make_client(rate_limit_signin_per_minute=3)
    assert memory.post("/api/auth/code", json=body).status_code == 401


def test_unreachable_redis_fails_open(make_client: MakeClient, frozen_clock: float) -> None:
    client = make_client(redis_url="redis://127.0.0.1:1/15", rate_limit_signin_per_minute=1)
    for _ in range(3):
        assert client.post("/api/auth/code", json={"code": "z" * 20}).status_code == 401


def test_cors_allows_only_configured_origins(make_client: MakeClient, anna: Person) -> None:
    client = make_client(cors_origins="https://app.freemarket.test")
    preflight = {"Access-Control-Request-Method": "POST"}
    good = client.options(
        "/api/items/", headers={"Origin": "https://app.freemarket.test", **preflight}
    )
    assert good.status_code == 200
    assert good.headers["access-control-allow-origin"] == "https://app.freemarket.test"
    assert good.headers["access-control-allow-credentials"] == "true"
    evil = client.options("/api/items/", headers={"Origin": "https://evil.test", **preflight})
    assert "access-control-allow-origin" not in evil.headers
    simple = client.get("/api/categories", headers={"Origin": "https://evil.test"})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    allowed = client.get("/api/categories", headers={"Origin": "https://app.freemarket.test"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.freemarket.test"
    bare = make_client()
    assert (
        "access-control-allow-origin"
        not in bare.get(
            "/api/categories", headers={"Origin": "https://app.freemarket.test"}
        ).headers
    )


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
}


def test_security_headers_on_every_kind_of_answer(client: TestClient, anna: Person) -> None:
    answers = {
        "ok": client.get("/health"),
        "401": client.get("/api/users/me"),
        "404": client.get("/api/items/999999"),
        "422": client.post("/api/items/", json={}, headers=anna.headers),
        "413": client.post("/api/items/", content=b"x" * 70_000, headers=anna.headers),
        "no route": client.get("/nowhere"),
    }
    for name, response in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value, (name, header)
        assert "permissions-policy" in response.headers
        assert "strict-transport-security" not in response.headers  # plain HTTP in development
    assert answers["413"].status_code == 413


def test_an_unexpected_error_leaks_nothing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"boom token={BOT_TOKEN} key={SECRET_KEY}")

    monkeypatch.setattr("freemarket.api.routers.categories.list_categories", explode)
    response = client.get("/api/categories")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error", "params": {}}
    for secret in (BOT_TOKEN, SECRET_KEY, "Traceback", "RuntimeError", "boom"):
        assert secret not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"


def test_error_answers_never_carry_secrets(client: TestClient, anna: Person) -> None:
    answers = [
        client.post("/api/auth/telegram", json={"id": 1, "auth_date": 1, "hash": "0" * 64}),
        client.post("/api/auth/webapp", json={"init_data": "user=1&hash=00"}),
        client.post("/api/auth/code", json={"code": "nope-nope-nope"}),
        client.get("/api/users/me", headers={"Authorization": "Bearer x"}),
        client.post("/api/items/", json={"kind": "?"}, headers=anna.headers),
        client.get("/api/items", params={"cursor": "!!!"}),
        client.get("/api/items/abc"),
    ]
    for response in answers:
        assert response.status_code < 500, response.text
        for secret in (BOT_TOKEN, SECRET_KEY, "Traceback", 'File "'):
            assert secret not in response.text
