"""Ratings: who may rate whom, once, and when a rating becomes visible."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import Rating, User, utcnow
from tests.domain.conftest import Person, World


def test_party_rates_the_other_party_of_a_completed_exchange(
    world: World, anna: Person, boris: Person, db: Session
) -> None:
    xid = world.completed_exchange(anna, boris)
    body = {"to_user_id": boris.id, "tx_id": xid, "score": 5, "comment": "всё честно"}
    response = world.client.post("/api/ratings/", json=body, headers=anna.headers)
    assert response.status_code == 201, response.text
    rating = response.json()
    assert (rating["from_user_id"], rating["to_user_id"], rating["tx_id"]) == (
        anna.id,
        boris.id,
        xid,
    )
    assert (rating["score"], rating["comment"]) == (5, "всё честно")
    # Counted once revealed: here by boris rating back.
    assert world.rate(boris, anna, xid, 4).status_code == 201
    db.expire_all()
    ratee = db.get(User, boris.id)
    assert ratee is not None and ratee.rating_count == 1
    assert ratee.trust_score == round((3.5 * 3 + 5) / 4, 3)


def test_refused_ratings(
    world: World, anna: Person, boris: Person, vera: Person, stranger: Person, db: Session
) -> None:
    done = world.completed_exchange(anna, boris, "done")
    proposed = int(world.propose(anna, world.swap(anna, boris, "p"))["id"])
    accepted = world.accepted_exchange(anna, boris, "a")
    declined = int(world.propose(anna, world.swap(anna, boris, "d"))["id"])
    world.do(boris, declined, "decline")
    assert world.rate(anna, boris, done, 4).status_code == 201

    cases = [
        # (why, rater, ratee, exchange, score, expected status)
        ("no such deal", anna, boris, 999_999, 4, 404),
        ("proposed deal", anna, boris, proposed, 4, 409),
        ("accepted, not yet completed", anna, boris, accepted, 4, 409),
        ("declined deal", boris, anna, declined, 4, 409),
        ("twice", anna, boris, done, 3, 409),
        ("self", anna, anna, done, 5, 403),
        ("rater not a party", stranger, boris, done, 5, 403),
        ("ratee not a party", anna, vera, done, 5, 409),
        ("score 0", boris, anna, done, 0, 422),
        ("score 6", boris, anna, done, 6, 422),
        ("score -1", boris, anna, done, -1, 422),
    ]
    wrong = []
    for why, rater, ratee, xid, score, expected in cases:
        response = world.rate(rater, ratee, xid, score)
        if response.status_code != expected:
            wrong.append((why, response.status_code, response.text))
    assert not wrong, wrong
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Rating)) == 1
    # The other side may still rate: refusals above did not use up boris's turn.
    assert world.rate(boris, anna, done, 5).status_code == 201


def test_rating_without_session_is_401(world: World, anna: Person, boris: Person) -> None:
    xid = world.completed_exchange(anna, boris)
    body = {"to_user_id": boris.id, "tx_id": xid, "score": 5}
    assert world.client.post("/api/ratings/", json=body).status_code == 401


def visible(world: World, person: Person) -> list[tuple[int, int]]:
    """(from, score) of the ratings shown on a user's page, to an anonymous visitor."""
    response = world.client.get(f"/api/users/{person.id}/ratings")
    assert response.status_code == 200, response.text
    return [(r["from_user_id"], r["score"]) for r in response.json()]


def test_rating_hidden_until_both_sides_rated(world: World, anna: Person, boris: Person) -> None:
    xid = world.completed_exchange(anna, boris)
    assert world.rate(anna, boris, xid, 2).status_code == 201
    assert visible(world, boris) == []
    assert world.client.get(f"/api/users/{boris.id}/ratings", headers=boris.headers).json() == []
    assert world.rate(boris, anna, xid, 5).status_code == 201
    assert visible(world, boris) == [(anna.id, 2)]
    assert visible(world, anna) == [(boris.id, 5)]


def test_an_answer_in_another_exchange_does_not_reveal(
    world: World, anna: Person, boris: Person
) -> None:
    first = world.completed_exchange(anna, boris, "1")
    second = world.completed_exchange(anna, boris, "2")
    assert world.rate(anna, boris, first, 1).status_code == 201
    assert world.rate(boris, anna, second, 5).status_code == 201
    assert visible(world, boris) == []
    assert visible(world, anna) == []


def test_rating_revealed_after_the_reveal_period(
    world: World, anna: Person, boris: Person, db: Session
) -> None:
    assert world.client.app.state.settings.rating_reveal_days == 14  # type: ignore[attr-defined]
    xid = world.completed_exchange(anna, boris)
    assert world.rate(anna, boris, xid, 3).status_code == 201
    for days, shown in ((13, []), (14, [(anna.id, 3)]), (20, [(anna.id, 3)])):
        db.execute(update(Rating).values(created_at=utcnow() - timedelta(days=days, seconds=5)))
        db.commit()
        assert visible(world, boris) == shown, days


def test_ratings_of_unknown_user_is_404(world: World) -> None:
    assert world.client.get("/api/users/999999/ratings").status_code == 404
