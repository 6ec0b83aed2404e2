"""Property (issue 11): any JSON body up to the limits gets a 2xx or a 4xx on every write route.

Hypothesis draws bodies of every JSON shape: scalars of every kind (huge and integral floats,
lone surrogates, NUL), objects keyed by the API's own field names (so bodies get past the
first check and into the domain), and nesting up to and past MAX_BODY_DEPTH. Each is sent,
signed in, to every POST/PATCH/DELETE route of the app (found by walking it, so a new route is
covered without editing this file), with path ids naming real rows as often as missing ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from freemarket.domain.jsonpolicy import MAX_BODY_DEPTH
from tests.domain.conftest import MakeClient, Person, World

MAX_BODY_BYTES = 64_000
WRITE_METHODS = {"POST", "PATCH", "DELETE"}
# Field names of the API's bodies: objects made of them reach the domain's own checks.
FIELD_NAMES = [
    "kind", "category", "title", "description", "metadata", "city", "latitude", "longitude",
    "delivery", "match_ids", "to_user_id", "tx_id", "score", "comment", "item_id", "user_id",
    "reason", "data", "location", "visibility", "display_name", "contact", "language",
    "notify_telegram", "digest_enabled", "quiet_start", "quiet_end", "time_zone", "username",
    "telegram_id", "code", "init_data", "id", "auth_date", "hash", "first_name", "update_id",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 2.0**53, 1e308, -0.0, 3.5]),
    st.text(max_size=40),
    st.sampled_from(["", " ", "offer", "want", "books", "ru", "public", "\x00", "\ud800", "5"]),
)
keys = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=30,
)


@st.composite
def nested(draw: st.DrawFn) -> object:
    """A value wrapped in arrays and objects around MAX_BODY_DEPTH levels deep."""
    value: object = draw(scalars)
    for _ in range(draw(st.integers(MAX_BODY_DEPTH - 3, MAX_BODY_DEPTH + 3))):
        value = [value] if draw(st.booleans()) else {draw(keys): value}
    return value


bodies = st.one_of(
    values,
    st.dictionaries(keys, values, max_size=8),
    st.dictionaries(st.sampled_from(FIELD_NAMES), values, min_size=1, max_size=8),
    nested(),
)


def _write_routes(app: Any) -> list[tuple[str, str]]:
    """(method, path template) of every write route of the API."""
    return sorted(
        (method, route.path_format)
        for route in app.state.api_routes
        if isinstance(route, APIRoute)
        for method in route.methods & WRITE_METHODS
    )


def test_any_json_body_gets_2xx_or_4xx(
    world: World,
    anna: Person,
    boris: Person,
    vera: Person,
    make_client: MakeClient,
    db: Session,
    engine: Engine,
    tmp_path: Path,
) -> None:
    done = world.completed_exchange(anna, boris, "done")
    open_id = world.propose(boris, world.swap(boris, anna, "open"))["id"]
    item_id = world.item(anna, "offer", "велосипед")
    ids = [anna.id, boris.id, done, open_id, item_id, 1, 2, 999_999, 2**53 - 1]
    client = make_client(
        rate_limit_write_per_minute=10**6,
        rate_limit_signin_per_minute=10**6,
        rate_limit_search_per_minute=10**6,
    )
    routes = _write_routes(client.app)
    assert len(routes) >= 20, routes
    # Logout would end the session the rest of the run uses: it gets sessions of its own.
    routes = [r for r in routes if r[1] != "/api/auth/logout"]
    fillers = {
        "action": st.sampled_from(["accept", "decline", "complete", "cancel", "rate"]),
        "name": st.sampled_from(["x-thumb.jpg", "..", "a"]),
    }
    failures: list[str] = []

    @given(route=st.sampled_from(routes), body=bodies, data=st.data())
    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(route: tuple[str, str], body: object, data: st.DataObject) -> None:
        method, template = route
        path = template
        for name in [p.strip("{}") for p in template.split("/") if p.startswith("{")]:
            value = data.draw(fillers.get(name, st.sampled_from(ids)))
            path = path.replace("{" + name + "}", str(value))
        raw = json.dumps(body, ensure_ascii=data.draw(st.booleans())).encode(
            "utf-8", "surrogatepass"
        )
        if len(raw) > MAX_BODY_BYTES:
            return
        response = client.request(
            method,
            path,
            content=raw,
            headers={**anna.headers, "Content-Type": "application/json"},
        )
        if not 200 <= response.status_code < 500:
            failures.append(f"{method} {path} {raw[:300]!r} -> {response.status_code}")

    check()
    assert not failures, "\n".join(failures[:20])
    # Every write above ran signed in as anna: her session must still be good.
    assert client.get("/api/users/me", headers=anna.headers).status_code == 200


@pytest.mark.parametrize("depth", [MAX_BODY_DEPTH, MAX_BODY_DEPTH + 1, 900])
def test_nesting_at_and_past_the_limit(world: World, anna: Person, depth: int) -> None:
    """The edge the strategy samples around, pinned on one route: 4xx either side of it."""
    body = "[" * depth + "]" * depth
    response = world.client.post(
        "/api/items/", content=body, headers={**anna.headers, "Content-Type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
