"""Who may call what: every route of the app, anonymous and as someone else, table-driven."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute, Route

from freemarket.api.app import create_app
from freemarket.db.models import AuditLog, Exchange, Item, Profile, User
from freemarket.infra.settings import Settings
from tests.domain.conftest import Person, World

# Routes anyone may call without signing in. Everything else must answer 401 to strangers:
# add a route to this list only if the issue says it is public.
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/api/categories"),
    ("GET", "/api/items"),
    ("GET", "/api/items/{item_id}"),
    ("GET", "/api/users/{user_id}"),
    ("GET", "/api/users/{user_id}/ratings"),
    # Issue 15: a public profile page, and photos shown to every visitor of a listing.
    ("GET", "/api/users/{user_id}/profile"),
    ("GET", "/api/photos/{name}"),
    ("GET", "/api/profiles/{user_id}"),
    ("POST", "/api/auth/telegram"),
    ("POST", "/api/auth/webapp"),
    ("POST", "/api/auth/code"),
    # Telegram's updates, proven by the secret header (tests/bot/test_webhook.py); off here.
    ("POST", "/telegram/webhook"),
}
# The web UI's shell for client-side routes: there only when the frontend is built.
WEB_UI_ROUTE = ("GET", "/{path:path}")
PUBLIC_ROUTES.add(WEB_UI_ROUTE)


INT_CONVERTER = re.compile(r"\{(\w+):int\}")


def _walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, full path) of every endpoint, including those of included routers."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            context = getattr(route, "include_context", None)
            yield from _walk(nested.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute | Route):
            # `{user_id:int}` is `{user_id}` to a caller: the converter only narrows the match.
            path = INT_CONVERTER.sub(r"{\1}", prefix + route.path)
            for method in sorted((route.methods or set()) - {"HEAD"}):
                yield (method, path)


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app answers, sorted."""
    app = create_app(Settings(_env_file=None, database_url="sqlite://"))
    return sorted(set(_walk(app.routes)))


ROUTES = app_routes()
PRIVATE_ROUTES = [r for r in ROUTES if r not in PUBLIC_ROUTES]


def test_route_table_is_complete() -> None:
    assert len(ROUTES) >= 25
    assert ("POST", "/api/exchanges/{exchange_id}/{action}") in ROUTES
    stale = PUBLIC_ROUTES - set(ROUTES) - {WEB_UI_ROUTE}
    assert not stale, f"public routes that no longer exist: {stale}"


def test_openapi_paths_are_all_in_the_route_table(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    assert documented <= set(ROUTES)


@dataclass
class Scene:
    """Objects owned by anna (and shared with boris), seen by a stranger."""

    world: World
    anna: Person
    boris: Person
    stranger: Person
    item_id: int
    exchange_id: int
    match_id: int

    def url(self, path: str, action: str = "accept") -> str:
        values = {
            "user_id": self.anna.id,
            "item_id": self.item_id,
            "exchange_id": self.exchange_id,
            "match_id": self.match_id,
            "action": action,
            "path": "login",
        }
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values.get(m.group(1), 1)), path)


@pytest.fixture
def scene(world: World, anna: Person, boris: Person, stranger: Person, db: Session) -> Scene:
    """anna has an item, a profile, matches and a proposed exchange with boris."""
    match_ids = world.swap(anna, boris)
    exchange = world.propose(anna, match_ids)
    item_id = exchange["legs"][0]["item_id"]
    profile = world.client.post(
        "/api/profiles/", json={"data": {"bio": "hi"}}, headers=anna.headers
    )
    assert profile.status_code == 201, profile.text
    return Scene(world, anna, boris, stranger, item_id, exchange["id"], match_ids[0])


def test_every_private_route_without_session_is_401(client: TestClient, scene: Scene) -> None:
    wrong = []
    for method, path in PRIVATE_ROUTES:
        response = client.request(method, scene.url(path), json={})
        if response.status_code != 401 or response.headers.get("www-authenticate") != "Bearer":
            wrong.append((method, path, response.status_code, response.text[:100]))
    assert not wrong, wrong
    assert len(PRIVATE_ROUTES) >= 15


PUBLIC_EXPECTED = {
    ("GET", "/api/photos/{name}"): (404,),  # the scene has no photo: public, but not found
    ("GET", "/health/ready"): (200, 503),
    ("POST", "/api/auth/telegram"): (422,),
    ("POST", "/api/auth/webapp"): (422,),
    ("POST", "/api/auth/code"): (422,),
    ("POST", "/telegram/webhook"): (404,),
}


def test_every_public_route_answers_without_session(client: TestClient, scene: Scene) -> None:
    wrong = []
    for method, path in sorted(PUBLIC_ROUTES & set(ROUTES)):
        response = client.request(method, scene.url(path), json={})
        if response.status_code not in PUBLIC_EXPECTED.get((method, path), (200,)):
            wrong.append((method, path, response.status_code, response.text[:100]))
    assert not wrong, wrong


# What another user's session gets from each route that names someone else's resource.
CROSS_USER = {
    ("GET", "/api/matches/{user_id}"): 403,
    ("GET", "/api/matches/{user_id}/trades"): 403,
    ("GET", "/api/exchanges/{exchange_id}"): 404,
    ("POST", "/api/exchanges/{exchange_id}/{action}"): 404,
    ("PATCH", "/api/items/{item_id}"): 403,
    ("DELETE", "/api/items/{item_id}"): 403,
    ("POST", "/api/items/{item_id}/reactivate"): 403,
    ("POST", "/api/items/{item_id}/photos"): 403,
    # anna's item has no photo 1: not found, before any question of whose it is.
    ("DELETE", "/api/items/{item_id}/photos/{photo_id}"): 404,
    ("PATCH", "/api/profiles/{user_id}"): 403,
    ("PATCH", "/api/users/{user_id}"): 403,
    # "Not interested" is a party's own answer: to anyone else the match is not theirs.
    ("POST", "/api/matches/{match_id}/dismiss"): 404,
    ("DELETE", "/api/matches/{match_id}/dismiss"): 404,
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/items/{item_id}"): {"title": "захвачено"},
    ("PATCH", "/api/profiles/{user_id}"): {"visibility": "public", "data": {"bio": "pwned"}},
    ("PATCH", "/api/users/{user_id}"): {"contact": "@thief"},
}


def test_every_private_route_with_a_target_is_in_the_cross_user_table() -> None:
    targeted = {(m, p) for m, p in PRIVATE_ROUTES if "{" in p}
    missing = targeted - set(CROSS_USER)
    assert not missing, f"say what another user gets from {sorted(missing)}"


def test_another_users_resources_are_refused(client: TestClient, scene: Scene, db: Session) -> None:
    wrong = []
    for (method, path), expected in sorted(CROSS_USER.items()):
        actions = ["accept", "decline", "complete", "cancel"] if "{action}" in path else ["-"]
        for action in actions:
            response = client.request(
                method,
                scene.url(path, action),
                json=BODIES.get((method, path), {}),
                headers=scene.stranger.headers,
            )
            if response.status_code != expected:
                wrong.append((method, path, action, response.status_code, response.text[:100]))
    assert not wrong, wrong
    db.expire_all()
    item = db.get(Item, scene.item_id)
    assert item is not None and item.active and item.title != "захвачено"
    assert db.get(Exchange, scene.exchange_id).status == "proposed"  # type: ignore[union-attr]
    user = db.get(User, scene.anna.id)
    assert user is not None and user.contact == "@anna_contact"


def test_admin_only_routes_refuse_plain_users(client: TestClient, scene: Scene) -> None:
    created = client.post(
        "/api/users/", json={"username": "sock_puppet"}, headers=scene.stranger.headers
    )
    assert created.status_code == 403
    profile = client.post(
        "/api/profiles/", json={"user_id": scene.boris.id}, headers=scene.stranger.headers
    )
    assert profile.status_code == 403


def _audit(db: Session) -> list[tuple[int | None, str, str, str | None]]:
    db.expire_all()
    rows = db.scalars(select(AuditLog).order_by(AuditLog.id))
    return [(r.actor_id, r.action, r.target_type, r.target_id) for r in rows]


def test_admin_actions_on_others_are_audited(
    client: TestClient, scene: Scene, admin: Person, db: Session
) -> None:
    a = admin.headers
    anna = scene.anna
    before = _audit(db)
    # The owner changing their own things is not an admin action.
    assert (
        client.patch(
            f"/api/users/{anna.id}", json={"city": "Сочи"}, headers=anna.headers
        ).status_code
        == 200
    )
    assert _audit(db) == before
    steps = [
        client.patch(f"/api/items/{scene.item_id}", json={"title": "проверено"}, headers=a),
        client.patch(f"/api/profiles/{anna.id}", json={"visibility": "private"}, headers=a),
        client.patch(f"/api/users/{anna.id}", json={"contact": "@fixed"}, headers=a),
        client.post("/api/users/", json={"username": "newbie"}, headers=a),
        client.post("/api/profiles/", json={"user_id": scene.boris.id}, headers=a),
        client.post(f"/api/exchanges/{scene.exchange_id}/cancel", headers=a),
        client.delete(f"/api/items/{scene.item_id}", headers=a),
    ]
    assert [s.status_code for s in steps] == [200, 200, 200, 201, 201, 200, 200], [
        s.text for s in steps
    ]
    newbie = db.scalar(select(User).where(User.username == "newbie"))
    assert newbie is not None
    written = [row for row in _audit(db) if row not in before]
    assert written == [
        (admin.id, "update_item", "item", str(scene.item_id)),
        (admin.id, "update_profile", "profile", str(anna.id)),
        (admin.id, "update_user", "user", str(anna.id)),
        (admin.id, "create_user", "user", str(newbie.id)),
        (admin.id, "create_profile", "profile", str(scene.boris.id)),
        (admin.id, "cancel_exchange", "exchange", str(scene.exchange_id)),
        (admin.id, "deactivate_item", "item", str(scene.item_id)),
    ]
    assert db.scalar(select(Profile.visibility).where(Profile.user_id == anna.id)) == "private"


def test_admin_may_only_cancel_others_exchanges(
    client: TestClient, scene: Scene, admin: Person
) -> None:
    for action in ("accept", "decline", "complete"):
        response = client.post(
            f"/api/exchanges/{scene.exchange_id}/{action}", headers=admin.headers
        )
        assert response.status_code == 404, action
    assert (
        client.get(f"/api/exchanges/{scene.exchange_id}", headers=admin.headers).status_code == 200
    )
