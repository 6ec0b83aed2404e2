"""Every write route refuses anonymous callers: a new route without auth fails this test."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from freemarket.api.app import create_app
from freemarket.infra.settings import Settings

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Write routes that are public on purpose (signing in). Adding one here is a decision to review.
PUBLIC_WRITE_ROUTES = {
    ("POST", "/api/auth/telegram"),
    ("POST", "/api/auth/webapp"),
    ("POST", "/api/auth/code"),
    # Telegram's updates: proven by the X-Telegram-Bot-Api-Secret-Token header, not a session.
    ("POST", "/telegram/webhook"),
}


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every endpoint route with its full path, including routes of included routers."""
    for route in routes:
        nested = getattr(route, "original_router", None)  # FastAPI's lazily included routers
        if nested is not None:
            yield from _walk(nested.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, APIRoute):
            yield (prefix + route.path_format, route)


def _write_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(_env_file=None, database_url="sqlite://"))
    found = []
    for path, route in _walk(app.routes):
        for method in sorted(route.methods & WRITE_METHODS):
            found.append((method, path))
    return found


ALL_WRITE_ROUTES = _write_routes()
WRITE_ROUTES = [r for r in ALL_WRITE_ROUTES if r not in PUBLIC_WRITE_ROUTES]


def test_there_are_write_routes() -> None:
    # Guard against the table above silently becoming empty.
    assert len(WRITE_ROUTES) >= 7
    assert ("POST", "/api/items/") in WRITE_ROUTES
    # The allow-list names only routes that exist.
    assert set(ALL_WRITE_ROUTES) >= PUBLIC_WRITE_ROUTES


def test_openapi_lists_the_same_write_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    in_schema = {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in WRITE_METHODS
    }
    assert in_schema == set(ALL_WRITE_ROUTES)


@pytest.mark.parametrize(
    ("method", "path"), WRITE_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_ROUTES]
)
def test_write_route_requires_sign_in(client: TestClient, method: str, path: str) -> None:
    """No token: 401 before the body is even looked at."""
    url = re.sub(r"\{[^}]+\}", "1", path)
    response = client.request(method, url, json={})
    assert response.status_code == 401, f"{method} {url}: {response.status_code} {response.text}"
    assert response.headers.get("www-authenticate") == "Bearer"


@pytest.mark.parametrize(("method", "path"), sorted(PUBLIC_WRITE_ROUTES))
def test_public_write_routes_reject_empty_bodies(
    client: TestClient, method: str, path: str
) -> None:
    response = client.request(method, path, json={})
    assert 400 <= response.status_code < 500, response.text
