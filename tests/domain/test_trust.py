"""The trust score on a worked example, through the API and `freemarket user show --json`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from freemarket.db.models import Rating, utcnow
from freemarket.domain.ratings import TrustExplanation, TrustPolicy
from tests.domain.conftest import Person, RunCli, World


def trust(world: World, person: Person) -> tuple[float | None, int]:
    body = world.client.get(f"/api/users/{person.id}").json()
    return body["trust_score"], body["rating_count"]


def rated(world: World, rater: Person, ratee: Person, score: int, tag: str) -> int:
    """Complete a deal between rater and ratee and rate it; returns the rating id."""
    xid = world.completed_exchange(rater, ratee, tag)
    response = world.rate(rater, ratee, xid, score)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def backdate(db: Session, rating_id: int, days: float) -> None:
    db.execute(
        update(Rating)
        .where(Rating.id == rating_id)
        .values(created_at=utcnow() - timedelta(days=days))
    )
    db.commit()


def test_no_rating_no_score(world: World, boris: Person) -> None:
    assert trust(world, boris) == (None, 0)


def test_worked_example(
    world: World, anna: Person, boris: Person, vera: Person, db: Session, cli: RunCli
) -> None:
    policy = TrustPolicy.from_settings(world.client.app.state.settings)  # type: ignore[attr-defined]
    assert (policy.prior_mean, policy.prior_weight, policy.window_days) == (3.5, 3.0, 30)

    # 5 from anna and 4 from vera: (3.5×3 + 5 + 4) / (3 + 2) = 19.5 / 5 = 3.9
    first = rated(world, anna, boris, 5, "1")
    second = rated(world, vera, boris, 4, "2")
    assert trust(world, boris) == (3.9, 2)

    # anna again within 30 days: ignored, nothing moves.
    repeat = rated(world, anna, boris, 1, "3")
    assert trust(world, boris) == (3.9, 2)

    # Move history back: anna's first 40 days ago, vera's 39, the repeat 35 (5 days after the
    # first, still ignored). A new rating from anna today is 40 days after her counted one.
    backdate(db, first, 40)
    backdate(db, second, 39)
    backdate(db, repeat, 35)
    rated(world, anna, boris, 2, "4")
    expected = round((3.5 * 3 + 5 + 4 + 2) / (3 + 3), 3)
    assert expected == 3.583
    assert trust(world, boris) == (expected, 2)

    result = cli("user", "show", "boris", "--json")
    assert result.code == 0, result.err
    explained = result.json()
    assert explained["trust_score"] == expected and explained["rating_count"] == 2
    report = explained["trust"]
    assert report["score"] == expected
    assert (report["prior_mean"], report["prior_weight"], report["window_days"]) == (3.5, 3.0, 30)
    assert report["counterparties"] == 2
    assert [
        (r["from_user_id"], r["score"], r["counted"], r["reason"]) for r in report["ratings"]
    ] == [
        (anna.id, 5, True, "counted"),
        (vera.id, 4, True, "counted"),
        (anna.id, 1, False, "same rater within 30 days"),
        (anna.id, 2, True, "counted"),
    ]


def test_explanation_arithmetic_without_a_database() -> None:
    from datetime import UTC, datetime

    from freemarket.domain.ratings import RatingInput

    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    explanation = TrustExplanation(
        policy=TrustPolicy(prior_mean=3.5, prior_weight=3, window_days=30)
    )
    explanation.inputs = [
        RatingInput(1, 10, 5, t0, True, "counted"),
        RatingInput(2, 11, 4, t0, True, "counted"),
        RatingInput(3, 10, 1, t0 + timedelta(days=1), False, "same rater within 30 days"),
    ]
    assert explanation.score == 3.9
    assert explanation.counterparties == 2
    assert TrustExplanation(policy=TrustPolicy()).score is None
