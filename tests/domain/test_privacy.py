"""Privacy: profile visibility and who may see a user's contact."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.domain.conftest import Person, World

ANON: dict[str, str] = {}


def profile_status(client: TestClient, owner: Person, headers: dict[str, str]) -> int:
    return client.get(f"/api/profiles/{owner.id}", headers=headers).status_code


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        # viewers:      anonymous, stranger, matched, owner, admin
        ("public", (200, 200, 200, 200, 200)),
        ("matches", (404, 404, 200, 200, 200)),
        ("private", (404, 404, 404, 200, 200)),
    ],
)
def test_profile_visibility(
    world: World,
    anna: Person,
    boris: Person,
    stranger: Person,
    admin: Person,
    visibility: str,
    expected: tuple[int, ...],
) -> None:
    client = world.client
    created = client.post(
        "/api/profiles/",
        json={"data": {"bio": "люблю книги"}, "location": "Москва", "visibility": visibility},
        headers=anna.headers,
    )
    assert created.status_code == 201, created.text
    world.gives(anna, boris, "велосипед")  # boris has a match with anna; the stranger has none
    viewers = [ANON, stranger.headers, boris.headers, anna.headers, admin.headers]
    assert tuple(profile_status(client, anna, h) for h in viewers) == expected
    shown = client.get(f"/api/profiles/{anna.id}", headers=anna.headers).json()
    assert shown["data"] == {"bio": "люблю книги"} and shown["visibility"] == visibility


def test_hidden_profile_looks_like_no_profile(world: World, anna: Person, boris: Person) -> None:
    world.client.post("/api/profiles/", json={"visibility": "private"}, headers=anna.headers)
    hidden = world.client.get(f"/api/profiles/{anna.id}", headers=boris.headers)
    absent = world.client.get(f"/api/profiles/{boris.id}", headers=anna.headers)
    assert hidden.status_code == absent.status_code == 404
    assert hidden.json()["detail"].replace(str(anna.id), "N") == absent.json()["detail"].replace(
        str(boris.id), "N"
    )


def contact_seen(client: TestClient, owner: Person, headers: dict[str, str]) -> str | None:
    body = client.get(f"/api/users/{owner.id}", headers=headers).json()
    return body.get("contact")


def test_contact_only_for_self_admin_and_accepted_partners(
    world: World, anna: Person, boris: Person, vera: Person, stranger: Person, admin: Person
) -> None:
    client = world.client
    secret = "@anna_contact"
    assert contact_seen(client, anna, anna.headers) == secret
    assert contact_seen(client, anna, admin.headers) == secret
    for headers in (ANON, stranger.headers, boris.headers, vera.headers):
        assert contact_seen(client, anna, headers) is None
    public = client.get(f"/api/users/{anna.id}").json()
    assert {"contact", "telegram_id", "role", "is_banned"}.isdisjoint(public)

    # A merely proposed exchange shows nothing.
    proposed = world.propose(anna, world.swap(anna, boris, "a"))
    assert contact_seen(client, anna, boris.headers) is None
    assert contact_seen(client, boris, anna.headers) is None
    # Accepted: both parties see each other's contact, nobody else does.
    world.do(boris, proposed["id"], "accept")
    assert contact_seen(client, anna, boris.headers) == secret
    assert contact_seen(client, boris, anna.headers) == "@boris_contact"
    for headers in (ANON, stranger.headers, vera.headers):
        assert contact_seen(client, anna, headers) is None
    # vera proposes to anna, but that deal is only proposed: still nothing for vera.
    world.propose(vera, world.swap(vera, anna, "b"))
    assert contact_seen(client, anna, vera.headers) is None
    # Completed: still visible to the partner.
    world.do(anna, proposed["id"], "complete")
    world.do(boris, proposed["id"], "complete")
    assert contact_seen(client, anna, boris.headers) == secret


@pytest.mark.parametrize("ending", ["decline", "cancel"])
def test_contact_hidden_after_a_deal_that_never_was_accepted(
    world: World, anna: Person, boris: Person, ending: str
) -> None:
    exchange = world.propose(anna, world.swap(anna, boris))
    world.do(boris, exchange["id"], ending)
    assert contact_seen(world.client, anna, boris.headers) is None
    assert contact_seen(world.client, boris, anna.headers) is None


@pytest.mark.parametrize("visibility", ["private", "matches"])
def test_a_hidden_profile_hides_the_city_too(
    world: World, anna: Person, stranger: Person, admin: Person, visibility: str
) -> None:
    # Finding 12: a private profile still showed the person's city.
    created = world.client.post(
        "/api/profiles/", json={"visibility": visibility}, headers=anna.headers
    )
    assert created.status_code == 201, created.text
    for headers in (ANON, stranger.headers):
        assert world.client.get(f"/api/users/{anna.id}", headers=headers).json()["city"] is None
        page = world.client.get(f"/api/users/{anna.id}/profile", headers=headers).json()
        assert page["city"] is None
    for headers in (anna.headers, admin.headers):
        assert world.client.get(f"/api/users/{anna.id}", headers=headers).json()["city"] == "Москва"
