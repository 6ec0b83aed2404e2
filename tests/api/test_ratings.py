"""Ratings: only parties of a completed exchange rate each other, once; trust score follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, ExchangeParty, Rating, User, utcnow
from tests.api.conftest import Headers
from tests.conftest import MakeUser

MakeExchange = Callable[..., Exchange]


@pytest.fixture
def make_exchange(db: Session) -> MakeExchange:
    """An exchange between parties, stored directly: make_exchange(anna, boris, status=...)."""

    def _make(*parties: User, status: str = "completed") -> Exchange:
        exchange = Exchange(
            kind="direct",
            status=status,
            proposed_by_id=parties[0].id,
            completed_at=utcnow() if status == "completed" else None,
        )
        exchange.parties = [ExchangeParty(user_id=p.id) for p in parties]
        db.add(exchange)
        db.commit()
        return exchange

    return _make


def _rate(
    client: TestClient, headers: Headers, to: User, tx: Exchange, score: int = 5
) -> tuple[int, dict[str, object]]:
    response = client.post(
        "/api/ratings/",
        json={"to_user_id": to.id, "tx_id": tx.id, "score": score, "comment": "спасибо"},
        headers=headers,
    )
    return response.status_code, response.json()


def test_rating_updates_trust_score(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    make_exchange: MakeExchange,
    db: Session,
) -> None:
    before = (boris.trust_score, boris.rating_count)
    first = make_exchange(anna, boris)
    code, body = _rate(client, anna_h, boris, first, score=5)
    assert code == 201, body
    assert body["from_user_id"] == anna.id and body["to_user_id"] == boris.id
    assert body["score"] == 5 and body["comment"] == "спасибо"
    # Hidden until boris rates back (or the reveal period ends): the score does not move yet.
    db.expire_all()
    assert (db.get(User, boris.id).trust_score, db.get(User, boris.id).rating_count) == before  # type: ignore[union-attr]
    assert _rate(client, boris_h, anna, first, score=4)[0] == 201
    db.expire_all()
    stored = db.get(User, boris.id)
    assert stored is not None and stored.rating_count == 1
    after_five = stored.trust_score
    assert before[1] == 0 and after_five is not None and after_five != before[0]
    assert 1.0 <= after_five <= 5.0

    carol = make_user("carol")
    second = make_exchange(carol, boris)
    code, _ = _rate(client, auth_headers(carol), boris, second, score=2)
    assert code == 201
    assert _rate(client, boris_h, carol, second, score=5)[0] == 201
    db.expire_all()
    stored = db.get(User, boris.id)
    assert stored is not None and stored.rating_count == 2
    # A 2 after a 5 pulls the score down, and it stays on the 1-5 scale.
    assert stored.trust_score is not None and 2.0 <= stored.trust_score < after_five
    public = client.get(f"/api/users/{boris.id}").json()
    assert public["trust_score"] == stored.trust_score and public["rating_count"] == 2


def test_both_sides_rate_each_other(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_exchange: MakeExchange,
) -> None:
    tx = make_exchange(anna, boris)
    assert _rate(client, anna_h, boris, tx)[0] == 201
    assert _rate(client, boris_h, anna, tx, score=4)[0] == 201


def test_proposed_exchange_is_409(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    make_exchange: MakeExchange,
    db: Session,
) -> None:
    for status in ("proposed", "accepted", "cancelled"):
        tx = make_exchange(anna, boris, status=status)
        code, body = _rate(client, anna_h, boris, tx)
        assert code == 409, (status, body)
        assert status in str(body["detail"])
    assert db.scalar(select(func.count(Rating.id))) == 0


def test_not_a_party_is_403(
    client: TestClient,
    anna: User,
    boris: User,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    make_exchange: MakeExchange,
) -> None:
    tx = make_exchange(anna, boris)
    outsider = make_user("outsider")
    code, _ = _rate(client, auth_headers(outsider), boris, tx)
    assert code == 403


def test_rating_yourself_is_403(
    client: TestClient, anna: User, boris: User, anna_h: Headers, make_exchange: MakeExchange
) -> None:
    # A well-formed body: the rule is about who sends it (422 is for what the schema refuses).
    tx = make_exchange(anna, boris)
    code, body = _rate(client, anna_h, anna, tx)
    assert code == 403
    assert "yourself" in str(body["detail"])


def test_rating_twice_is_409(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    make_exchange: MakeExchange,
    db: Session,
) -> None:
    tx = make_exchange(anna, boris)
    assert _rate(client, anna_h, boris, tx, score=5)[0] == 201
    db.expire_all()
    first = db.get(User, boris.id)
    assert first is not None
    after_first = (first.trust_score, first.rating_count)
    assert _rate(client, anna_h, boris, tx, score=1)[0] == 409
    db.expire_all()
    stored = db.get(User, boris.id)
    assert stored is not None
    assert (stored.trust_score, stored.rating_count) == after_first
    assert db.scalar(select(func.count(Rating.id))) == 1


def test_score_out_of_range_is_422(
    client: TestClient, anna: User, boris: User, anna_h: Headers, make_exchange: MakeExchange
) -> None:
    tx = make_exchange(anna, boris)
    for score in (0, 6, -1):
        assert _rate(client, anna_h, boris, tx, score=score)[0] == 422, score


def test_ratee_not_a_party_is_409(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    make_user: MakeUser,
    make_exchange: MakeExchange,
) -> None:
    tx = make_exchange(anna, boris)
    outsider = make_user("outsider")
    code, body = _rate(client, anna_h, outsider, tx)
    assert code == 409
    assert "not a party" in str(body["detail"])


def test_unknown_exchange_is_404_and_anonymous_401(
    client: TestClient, boris: User, anna_h: Headers
) -> None:
    body = {"to_user_id": boris.id, "tx_id": 999999, "score": 5}
    assert client.post("/api/ratings/", json=body, headers=anna_h).status_code == 404
    assert client.post("/api/ratings/", json=body).status_code == 401
