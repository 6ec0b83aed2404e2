"""People: the public profile page, how partners reach each other, what stays visible after."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, ExchangeLeg, ExchangeParty, Item, User, utcnow
from freemarket.domain import items
from tests.api.conftest import Headers, MakeItem
from tests.conftest import MakeUser


def exchange_of(db: Session, offer: Item, want: Item, *, status: str) -> Exchange:
    """An exchange of `offer` for `want` between their owners, stored directly."""
    exchange = Exchange(
        kind="direct",
        status=status,
        proposed_by_id=want.user_id,
        completed_at=utcnow() if status == "completed" else None,
    )
    exchange.legs = [
        ExchangeLeg(
            item_id=offer.id,
            want_item_id=want.id,
            from_user_id=offer.user_id,
            to_user_id=want.user_id,
        )
    ]
    exchange.parties = [ExchangeParty(user_id=offer.user_id), ExchangeParty(user_id=want.user_id)]
    db.add(exchange)
    if status == "completed":
        for item in (offer, want):
            items.deactivate_item(db, item=item)
    db.commit()
    return exchange


def rate(client: TestClient, headers: Headers, to: User, exchange: Exchange, score: int) -> None:
    response = client.post(
        "/api/ratings/",
        json={"to_user_id": to.id, "tx_id": exchange.id, "score": score, "comment": "Отлично"},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def test_profile_page_shows_trust_reviews_once_revealed_and_exchanges(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_item: MakeItem,
    db: Session,
) -> None:
    offer = make_item(anna, "Велосипед")
    want = make_item(boris, "Ищу велосипед", kind="want")
    exchange = exchange_of(db, offer, want, status="completed")
    empty = client.get(f"/api/users/{anna.id}/profile").json()
    assert empty["completed_exchanges"] == 1 and empty["reviews"] == []
    assert empty["trust"]["score"] is None and empty["city"] == "Москва"

    rate(client, boris_h, anna, exchange, 5)
    # Rated by one side only: the review stays hidden (no retaliation), and so does its effect
    # on trust, which would give its value away (issue 11, finding 8).
    half = client.get(f"/api/users/{anna.id}/profile").json()
    assert half["reviews"] == [] and half["trust"]["counted"] == 0
    assert half["trust"]["score"] is None

    rate(client, anna_h, boris, exchange, 4)
    page = client.get(f"/api/users/{anna.id}/profile").json()
    assert [(r["score"], r["comment"]) for r in page["reviews"]] == [(5, "Отлично")]
    assert page["reviews"][0]["reviewer"]["username"] == "boris"
    trust = page["trust"]
    assert trust["counted"] == 1 and trust["ignored"] == 0 and trust["mean_of_counted"] == 5
    # The Bayesian average: (3.5 * 3 + 5) / 4.
    assert trust["score"] == 3.875 and trust["prior_mean"] == 3.5 and trust["prior_weight"] == 3
    assert "contact" not in page


def test_city_can_be_hidden(
    client: TestClient, anna: User, anna_h: Headers, boris_h: Headers
) -> None:
    created = client.post("/api/profiles/", json={"data": {"hide_city": True}}, headers=anna_h)
    assert created.status_code == 201
    assert client.get(f"/api/users/{anna.id}/profile").json()["city"] is None
    assert client.get(f"/api/users/{anna.id}", headers=boris_h).json()["city"] is None
    # Her own view keeps it.
    assert client.get("/api/users/me", headers=anna_h).json()["city"] == "Москва"


def test_partners_of_an_accepted_exchange_get_contact_and_a_message_link(
    client: TestClient,
    anna: User,
    boris: User,
    boris_h: Headers,
    anna_h: Headers,
    make_item: MakeItem,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    db: Session,
) -> None:
    offer = make_item(anna, "Велосипед")
    want = make_item(boris, "Ищу велосипед", kind="want")
    before = client.get(f"/api/users/{anna.id}", headers=boris_h).json()
    assert "contact" not in before and "message_url" not in before
    exchange_of(db, offer, want, status="accepted")
    seen = client.get(f"/api/users/{anna.id}", headers=boris_h).json()
    assert seen["contact"] == "@anna_tg" and seen["message_url"] == "https://t.me/anna_tg"
    # No handle in the contact: the Telegram account id still opens a chat.
    other = client.get(f"/api/users/{boris.id}", headers=anna_h).json()
    assert other["contact"] == "+7 900 000-00-00" and other["message_url"] == "tg://user?id=1002"
    stranger = auth_headers(make_user("stranger"))
    assert "contact" not in client.get(f"/api/users/{anna.id}", headers=stranger).json()


def test_exchanged_items_stay_visible_to_their_parties_marked_with_the_exchange(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_item: MakeItem,
    make_user: MakeUser,
    auth_headers: Callable[[User], Headers],
    db: Session,
) -> None:
    offer = make_item(anna, "Велосипед")
    want = make_item(boris, "Ищу велосипед", kind="want")
    exchange = exchange_of(db, offer, want, status="completed")
    for headers in (anna_h, boris_h):
        for item in (offer, want):
            shown = client.get(f"/api/items/{item.id}", headers=headers)
            assert shown.status_code == 200, shown.text
            assert shown.json()["active"] is False
            assert shown.json()["exchange_id"] == exchange.id
    stranger = auth_headers(make_user("stranger"))
    for headers in (stranger, {}):
        hidden = client.get(f"/api/items/{offer.id}", headers=headers)
        assert hidden.status_code == 404 and hidden.json()["code"] == "item_not_found"


def test_whether_i_rated_comes_from_the_server(
    client: TestClient,
    anna: User,
    boris: User,
    anna_h: Headers,
    boris_h: Headers,
    make_item: MakeItem,
    db: Session,
) -> None:
    exchange = exchange_of(
        db, make_item(anna, "Велосипед"), make_item(boris, "Ищу", kind="want"), status="completed"
    )
    listed = client.get("/api/exchanges", headers=boris_h).json()
    assert listed[0]["rated_user_ids"] == []
    rate(client, boris_h, anna, exchange, 5)
    # Any device, any session: the server says who is rated already.
    assert client.get("/api/exchanges", headers=boris_h).json()[0]["rated_user_ids"] == [anna.id]
    one = client.get(f"/api/exchanges/{exchange.id}", headers=boris_h).json()
    assert one["rated_user_ids"] == [anna.id]
    assert client.get("/api/exchanges", headers=anna_h).json()[0]["rated_user_ids"] == []
