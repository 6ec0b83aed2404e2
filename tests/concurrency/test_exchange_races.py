"""Races on exchanges against a running `serve --workers 4` on PostgreSQL: the last one wins.

Every race fires its requests from threads released by one barrier, each on its own
connection, and is repeated ROUNDS times: a lost update shows up within a few rounds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from freemarket.db.models import Exchange, ExchangeParty, Item, Notification
from tests.concurrency.conftest import Market, RaceFn, Racer

ROUNDS = range(10)


def _exchange(market: Market, exchange_id: int) -> tuple[str, list[ExchangeParty]]:
    with market.session() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        return exchange.status, list(exchange.parties)


def _accepted_swap(market: Market, a: Racer, b: Racer) -> int:
    matches = [market.gives(a, b, "книга"), market.gives(b, a, "лампа")]
    proposed = market.post(a, "/api/exchanges/", {"match_ids": matches})
    assert proposed.status_code == 201, proposed.text
    exchange_id = int(proposed.json()["id"])
    accepted = market.post(b, f"/api/exchanges/{exchange_id}/accept")
    assert accepted.json()["status"] == "accepted", accepted.text
    return exchange_id


@pytest.mark.parametrize("round_", ROUNDS)
def test_both_complete_at_once(market: Market, fire: RaceFn, round_: int) -> None:
    a, b = market.people(2)
    exchange_id = _accepted_swap(market, a, b)
    path = f"/api/exchanges/{exchange_id}/complete"
    answers = fire([(a, path, None), (b, path, None)])
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    status, parties = _exchange(market, exchange_id)
    assert status == "completed"
    assert all(p.completed_at is not None for p in parties)
    # The last answer already says completed, and the items left the market.
    assert "completed" in {r.json()["status"] for r in answers}
    with market.session() as session:
        offered = session.scalars(
            select(Item.active).where(Item.user_id.in_([a.id, b.id]), Item.kind == "offer")
        )
        assert not any(offered)
    rated = market.post(a, "/api/ratings/", {"to_user_id": b.id, "tx_id": exchange_id, "score": 5})
    assert rated.status_code == 201, rated.text


@pytest.mark.parametrize("round_", ROUNDS)
def test_two_parties_of_a_cycle_accept_at_once(market: Market, fire: RaceFn, round_: int) -> None:
    a, b, c = market.people(3)
    cycle = [market.gives(a, b, "чайник"), market.gives(b, c, "зонт"), market.gives(c, a, "пазл")]
    proposed = market.post(a, "/api/exchanges/", {"match_ids": cycle})
    assert proposed.status_code == 201, proposed.text
    path = f"/api/exchanges/{proposed.json()['id']}/accept"
    answers = fire([(b, path, None), (c, path, None)])
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    status, parties = _exchange(market, proposed.json()["id"])
    assert all(p.accepted_at is not None for p in parties)
    assert status == "accepted"
    assert "accepted" in {r.json()["status"] for r in answers}


@pytest.mark.parametrize("round_", ROUNDS)
def test_two_proposals_of_one_item_accepted_at_once(
    market: Market, fire: RaceFn, round_: int
) -> None:
    owner, b, c = market.people(3)
    to_b = market.gives(owner, b, "редкая книга")
    to_c = market.gives(owner, c, "редкая книга", offer=market.offer_of(to_b))
    first = market.post(owner, "/api/exchanges/", {"match_ids": [to_b]}).json()["id"]
    second = market.post(owner, "/api/exchanges/", {"match_ids": [to_c]}).json()["id"]
    answers = fire(
        [(b, f"/api/exchanges/{first}/accept", None), (c, f"/api/exchanges/{second}/accept", None)]
    )
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    statuses = sorted(_exchange(market, x)[0] for x in (first, second))
    assert statuses == ["accepted", "cancelled"]
    loser = next(r for r in answers if r.status_code == 409).json()
    assert loser["code"] == "exchange_wrong_state", loser


@pytest.mark.parametrize("round_", ROUNDS)
def test_twenty_identical_proposals_make_one_exchange(
    market: Market, fire: RaceFn, round_: int
) -> None:
    a, b = market.people(2)
    match_id = market.gives(b, a, "велосипед")
    answers = fire([(a, "/api/exchanges/", {"match_ids": [match_id]})] * 20)
    created = [r.json() for r in answers if r.status_code == 201]
    refused = [r.json() for r in answers if r.status_code == 409]
    assert len(created) == 1 and len(refused) == 19, [r.status_code for r in answers]
    winner = created[0]["id"]
    assert {r["code"] for r in refused} == {"exchange_already_open"}
    assert {r["params"]["exchange_id"] for r in refused} == {winner}
    assert all(f"exchange {winner}" in r["detail"] for r in refused)
    with market.session() as session:
        opened = session.scalars(
            select(ExchangeParty.exchange_id).where(ExchangeParty.user_id == a.id)
        )
        assert list(opened) == [winner]
        told = session.scalars(
            select(Notification.payload).where(
                Notification.user_id == b.id, Notification.kind == "exchange"
            )
        )
        assert [p["exchange_id"] for p in told] == [winner]
