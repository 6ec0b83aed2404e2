"""The trust score on a worked example, through the API and `freemarket user show --json`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from freemarket.db.models import Rating, utcnow
from freemarket.domain.ratings import TrustExplanation, TrustPolicy
from freemarket.infra.settings import Settings
from freemarket.matching.worker import MatchWorker
from tests.domain.conftest import Person, RunCli, World


def trust(world: World, person: Person) -> tuple[float | None, int]:
    body = world.client.get(f"/api/users/{person.id}").json()
    return body["trust_score"], body["rating_count"]


def rated(world: World, rater: Person, ratee: Person, score: int, tag: str) -> int:
    """Complete a deal, rate it, and have the ratee rate back (which reveals both).

    Returns the id of the rater's rating.
    """
    xid = world.completed_exchange(rater, ratee, tag)
    response = world.rate(rater, ratee, xid, score)
    assert response.status_code == 201, response.text
    assert world.rate(ratee, rater, xid, 5).status_code == 201
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


def test_a_hidden_rating_moves_no_score_until_it_is_revealed(
    world: World, anna: Person, boris: Person
) -> None:
    # Finding 8: the public score moved at once, and gave away the hidden rating's value.
    xid = world.completed_exchange(anna, boris, "hidden")
    assert world.rate(anna, boris, xid, 1).status_code == 201
    assert trust(world, boris) == (None, 0)
    page = world.client.get(f"/api/users/{boris.id}/profile").json()
    assert page["trust"]["score"] is None and page["trust"]["ignored"] == 0
    assert page["reviews"] == []
    # boris rates back: both ratings are revealed, and both scores move together.
    assert world.rate(boris, anna, xid, 5).status_code == 201
    assert trust(world, boris) == (round((3.5 * 3 + 1) / 4, 3), 1)
    assert trust(world, anna) == (round((3.5 * 3 + 5) / 4, 3), 1)


def test_an_unanswered_rating_counts_once_its_reveal_period_ends(
    world: World,
    anna: Person,
    boris: Person,
    db: Session,
    cli: RunCli,
    engine: Engine,
    settings: Settings,
) -> None:
    xid = world.completed_exchange(anna, boris, "period")
    rating_id = int(world.rate(anna, boris, xid, 2).json()["id"])
    backdate(db, rating_id, 13)
    worker = MatchWorker(engine, settings)
    assert worker.run_once().revealed == 0
    assert trust(world, boris) == (None, 0)
    explained = cli("user", "show", "boris", "--json").json()["trust"]["ratings"]
    assert [(r["counted"], r["reason"]) for r in explained] == [
        (False, "hidden until the other side rates or the reveal period ends")
    ]
    backdate(db, rating_id, 15)
    # Reading the person's page writes nothing: the score moves when the worker's loop reveals.
    assert trust(world, boris) == (None, 0)
    worker.next_expiry = None  # its periodic step is due again
    assert worker.run_once().revealed == 1
    assert trust(world, boris) == (round((3.5 * 3 + 2) / 4, 3), 1)
    assert [r["score"] for r in world.client.get(f"/api/users/{boris.id}/ratings").json()] == [2]


def test_both_sides_rating_at_once_reveal_each_other(
    world: World, anna: Person, boris: Person, db: Session
) -> None:
    """Each rating locks the exchange, so the second one always sees the first."""
    import threading

    xid = world.completed_exchange(anna, boris, "race")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def rate(rater: Person, ratee: Person) -> None:
        barrier.wait(timeout=30)
        codes.append(world.rate(rater, ratee, xid, 4).status_code)

    threads = [threading.Thread(target=rate, args=pair) for pair in ((anna, boris), (boris, anna))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert codes == [201, 201]
    db.expire_all()
    assert all(r.revealed_at is not None for r in db.query(Rating).filter(Rating.tx_id == xid))


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
