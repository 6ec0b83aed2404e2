"""Matches: own ones above the show threshold; others 403, admins see all, anonymous 401."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from freemarket.db.models import Match, User
from freemarket.domain import users
from freemarket.domain.actors import OPERATOR
from freemarket.infra.settings import Settings
from freemarket.matching.worker import MatchWorker
from tests.api.conftest import Headers, MakeItem
from tests.conftest import MakeUser


@pytest.fixture
def stored_matches(
    anna: User, boris: User, make_item: MakeItem, db: Session, settings: Settings
) -> dict[str, Match]:
    """anna wants two things boris offers: one match above the threshold, one below."""
    want = make_item(anna, "Ищу велосипед", kind="want", category="bicycles")
    bike = make_item(boris, "Велосипед Stels", kind="offer", category="bicycles")
    frame = make_item(boris, "Рама от велосипеда", kind="offer", category="bicycles")
    threshold = settings.match_show_threshold
    good = Match(
        want_item_id=want.id,
        offer_item_id=bike.id,
        score=min(1.0, threshold + 0.4),
        computed_by="test",
        explanation={"terms": ["велосипед"]},
    )
    weak = Match(
        want_item_id=want.id,
        offer_item_id=frame.id,
        score=threshold / 2,
        computed_by="test",
        explanation={},
    )
    db.add_all([good, weak])
    db.commit()
    return {"good": good, "weak": weak}


def test_owner_sees_matches_above_threshold(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    stored_matches: dict[str, Match],
) -> None:
    for user, headers in ((anna, anna_h), (boris, boris_h)):
        response = client.get(f"/api/matches/{user.id}", headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert [m["id"] for m in body] == [stored_matches["good"].id]
        assert body[0]["want_item"]["title"] == "Ищу велосипед"
        assert body[0]["offer_item"]["title"] == "Велосипед Stels"
        assert body[0]["explanation"] == {"terms": ["велосипед"]}


def test_other_user_is_403(
    client: TestClient,
    anna: User,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    stored_matches: dict[str, Match],
) -> None:
    stranger = make_user("stranger")
    response = client.get(f"/api/matches/{anna.id}", headers=auth_headers(stranger))
    assert response.status_code == 403
    assert "Велосипед" not in response.text


def test_admin_sees_anyones_matches(
    client: TestClient, anna: User, admin_h: Headers, stored_matches: dict[str, Match]
) -> None:
    response = client.get(f"/api/matches/{anna.id}", headers=admin_h)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()] == [stored_matches["good"].id]


def test_admin_unknown_user_is_404(client: TestClient, admin_h: Headers) -> None:
    assert client.get("/api/matches/424242", headers=admin_h).status_code == 404


def test_anonymous_is_401(client: TestClient, anna: User, stored_matches: dict[str, Match]) -> None:
    response = client.get(f"/api/matches/{anna.id}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_inactive_or_banned_sides_hidden(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    stored_matches: dict[str, Match],
    db: Session,
) -> None:
    users.set_banned(db, actor=OPERATOR, user=boris, banned=True)
    db.commit()
    response = client.get(f"/api/matches/{anna.id}", headers=anna_h)
    assert response.status_code == 200
    assert response.json() == []


def test_not_interested_hides_the_match_for_you_only(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    stored_matches: dict[str, Match],
) -> None:
    good = stored_matches["good"]
    response = client.post(f"/api/matches/{good.id}/dismiss", headers=anna_h)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "match_id": good.id,
        "want_item_id": good.want_item_id,
        "offer_item_id": good.offer_item_id,
        "dismissed": True,
    }
    assert client.get(f"/api/matches/{anna.id}", headers=anna_h).json() == []
    assert [m["id"] for m in client.get(f"/api/matches/{boris.id}", headers=boris_h).json()] == [
        good.id
    ]
    # Undo brings it back.
    response = client.delete(f"/api/matches/{good.id}/dismiss", headers=anna_h)
    assert response.status_code == 200
    assert response.json()["dismissed"] is False
    assert [m["id"] for m in client.get(f"/api/matches/{anna.id}", headers=anna_h).json()] == [
        good.id
    ]


def test_not_interested_needs_a_party(
    client: TestClient,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    admin_h: Headers,
    stored_matches: dict[str, Match],
) -> None:
    good = stored_matches["good"]
    assert client.post(f"/api/matches/{good.id}/dismiss").status_code == 401
    stranger = auth_headers(make_user("stranger"))
    for headers in (stranger, admin_h):
        response = client.post(f"/api/matches/{good.id}/dismiss", headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "match_not_found"
    assert client.post("/api/matches/999999/dismiss", headers=stranger).status_code == 404
    assert client.post("/api/matches/0/dismiss", headers=stranger).status_code == 422


def test_why_names_the_object_first_in_both_languages(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    make_item: MakeItem,
    engine: Engine,
    settings: Settings,
) -> None:
    want = make_item(anna, "Ищу детский велосипед", kind="want", category="bicycles")
    offer = make_item(
        boris, "Детский велосипед Stels 16", kind="offer", category="bicycles", city="Москва"
    )
    assert MatchWorker(engine, settings).run_until_idle().failed == 0
    response = client.get(f"/api/matches/{anna.id}", headers=anna_h)
    assert response.status_code == 200, response.text
    [match] = [m for m in response.json() if m["want_item"]["id"] == want.id]
    assert match["offer_item"]["id"] == offer.id
    terms = match["explanation"]["shared_terms"]
    assert terms[0] == {
        "term": "велосипед",
        "weight": terms[0]["weight"],
        "object": True,
        "display": {"ru": "велосипед", "en": "bicycle"},
    }
    kids = next(t for t in terms if t["term"] == "детский")
    assert kids["object"] is False and kids["display"]["ru"] == "детский"
    assert [t["object"] for t in terms] == sorted((t["object"] for t in terms), reverse=True)
