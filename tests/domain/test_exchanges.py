"""Exchanges over HTTP: proposals from matches and every transition of the state machine."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, Item, Match, User, utcnow
from freemarket.db.session import session_factory
from freemarket.domain import exchanges
from freemarket.errors import Conflict
from freemarket.infra.settings import Settings
from freemarket.matching.partition import Partition
from freemarket.matching.worker import MatchWorker
from tests.domain.conftest import Person, World

ACTIONS = ("accept", "decline", "complete", "cancel")


def events(world: World, person: Person) -> list[tuple[int, str]]:
    """(exchange id, event) of every exchange notification `person` got."""
    return [
        (n.payload["exchange_id"], n.payload["event"])
        for n in world.notifications(person)
        if n.kind == "exchange"
    ]


def test_propose_direct_from_one_match(world: World, anna: Person, boris: Person) -> None:
    match_id = world.gives(boris, anna, "велосипед")
    exchange = world.propose(anna, [match_id])
    assert exchange["kind"] == "direct"
    assert exchange["status"] == "proposed"
    assert exchange["proposed_by_id"] == anna.id
    assert [(leg["from_user_id"], leg["to_user_id"]) for leg in exchange["legs"]] == [
        (boris.id, anna.id)
    ]
    accepted = {p["user_id"]: p["accepted_at"] is not None for p in exchange["parties"]}
    assert accepted == {anna.id: True, boris.id: False}
    assert exchange["expires_at"] is not None


def test_propose_swap_from_two_matches(world: World, anna: Person, boris: Person) -> None:
    exchange = world.propose(boris, world.swap(anna, boris))
    assert exchange["kind"] == "swap"
    assert {(g["from_user_id"], g["to_user_id"]) for g in exchange["legs"]} == {
        (anna.id, boris.id),
        (boris.id, anna.id),
    }


def cycle(world: World, a: Person, b: Person, c: Person) -> list[int]:
    """Matches of a 3-way cycle: a gives to b, b to c, c to a."""
    return [
        world.gives(a, b, "чайник"),
        world.gives(b, c, "зонт"),
        world.gives(c, a, "пазл"),
    ]


def test_cycle_is_accepted_only_when_everyone_accepted(
    world: World, anna: Person, boris: Person, vera: Person
) -> None:
    exchange = world.propose(vera, cycle(world, anna, boris, vera))
    assert exchange["kind"] == "cycle"
    assert {p["user_id"] for p in exchange["parties"]} == {anna.id, boris.id, vera.id}
    assert world.do(anna, exchange["id"], "accept")["status"] == "proposed"
    again = world.act(anna, exchange["id"], "accept")
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]
    assert world.act(vera, exchange["id"], "accept").status_code == 409  # proposing is accepting
    assert world.do(boris, exchange["id"], "accept")["status"] == "accepted"


def test_complete_by_every_party_completes_and_retires_the_items(
    world: World, anna: Person, boris: Person, vera: Person, db: Session
) -> None:
    exchange = world.propose(vera, cycle(world, anna, boris, vera))
    xid = exchange["id"]
    world.do(anna, xid, "accept")
    world.do(boris, xid, "accept")
    assert world.do(anna, xid, "complete")["status"] == "accepted"
    twice = world.act(anna, xid, "complete")
    assert twice.status_code == 409 and "already confirmed" in twice.json()["detail"]
    assert world.do(boris, xid, "complete")["status"] == "accepted"
    done = world.do(vera, xid, "complete")
    assert done["status"] == "completed" and done["completed_at"] is not None
    db.expire_all()
    item_ids = [leg["item_id"] for leg in done["legs"]]
    assert [db.get(Item, i).active for i in item_ids] == [False, False, False]  # type: ignore[union-attr]
    # The wants the offers fulfilled are closed too, and every leg names what it moves.
    want_ids = [leg["want_item_id"] for leg in done["legs"]]
    assert None not in want_ids
    assert [db.get(Item, i).active for i in want_ids] == [False, False, False]  # type: ignore[union-attr]
    assert all(leg["item_title"] == db.get(Item, leg["item_id"]).title for leg in done["legs"])  # type: ignore[union-attr]
    for item_id in item_ids:
        assert world.client.get(f"/api/items/{item_id}", headers=vera.headers).status_code in (
            200,
            404,
        )
        assert world.client.get(f"/api/items/{item_id}").status_code == 404


def test_invalid_combinations_are_refused(
    world: World, anna: Person, boris: Person, vera: Person
) -> None:
    a_to_b = world.gives(anna, boris, "шкаф")
    a_to_v = world.gives(anna, vera, "стол")
    b_to_v = world.gives(boris, vera, "стул")
    v_to_a = world.gives(vera, anna, "диван")
    b_to_a = world.gives(boris, anna, "кресло")
    # Malformed bodies are 422; matches whose owners do not form a cycle conflict with who
    # owns what now (409): the schema cannot say that.
    refused = {
        "two givers are one person": ([a_to_b, a_to_v], 409),
        "the receivers never give": ([a_to_b, b_to_v], 409),
        "a cycle that does not close": ([a_to_b, b_to_v, b_to_a], 409),
        "the same match twice": ([a_to_b, a_to_b], 422),
        "no matches": ([], 422),
        "four matches": ([a_to_b, b_to_v, v_to_a, b_to_a], 422),
        "not an id": (["x"], 422),
    }
    for reason, (match_ids, status) in refused.items():
        response = world.client.post(
            "/api/exchanges/", json={"match_ids": match_ids}, headers=anna.headers
        )
        assert response.status_code == status, (reason, response.text)
    missing = world.client.post(
        "/api/exchanges/", json={"match_ids": [999_999]}, headers=anna.headers
    )
    assert missing.status_code == 404
    # The same matches in a closing order do make a cycle.
    assert world.propose(anna, [a_to_b, b_to_v, v_to_a])["kind"] == "cycle"


def test_proposer_must_be_a_party(
    world: World, anna: Person, boris: Person, stranger: Person, db: Session
) -> None:
    match_ids = world.swap(anna, boris)
    response = world.client.post(
        "/api/exchanges/", json={"match_ids": match_ids}, headers=stranger.headers
    )
    assert response.status_code == 403
    assert db.scalar(select(Exchange.id)) is None


def test_inactive_item_or_banned_party_cannot_be_proposed(
    world: World, anna: Person, boris: Person, vera: Person, db: Session
) -> None:
    match_id = world.gives(boris, anna, "лыжи")
    offer_id = db.scalar(select(Item.id).where(Item.title == "лыжи", Item.kind == "offer"))
    assert world.client.delete(f"/api/items/{offer_id}", headers=boris.headers).status_code == 200
    inactive = world.client.post(
        "/api/exchanges/", json={"match_ids": [match_id]}, headers=anna.headers
    )
    assert inactive.status_code == 409
    other = world.gives(vera, anna, "санки")
    vera.user.is_banned = True
    db.commit()
    banned = world.client.post("/api/exchanges/", json={"match_ids": [other]}, headers=anna.headers)
    assert banned.status_code == 409


def test_a_proposal_reads_its_items_after_locking_them(
    world: World, anna: Person, boris: Person, vera: Person, engine: Engine
) -> None:
    """An item gone (or an owner banned) after the proposer's request read it: refused."""
    withdrawn = world.gives(boris, anna, "лыжи")
    banned = world.gives(vera, anna, "санки")
    with session_factory(engine)() as request:
        # The request has already read the items (active, owners not banned), and holds them
        # (the identity map keeps only what is referenced) ...
        held = [request.get(Match, m) for m in (withdrawn, banned)]
        items = [(m.offer_item, m.want_item) for m in held if m is not None]
        assert all(i.active and not i.owner.is_banned for pair in items for i in pair)
        # ... when other transactions take an item off the market and ban an owner, committed
        # before the proposal locks the rows (bare updates: the matches are still there).
        with session_factory(engine)() as other:
            other.execute(update(Item).where(Item.id == items[0][0].id).values(active=False))
            other.execute(update(User).where(User.id == vera.id).values(is_banned=True))
            other.commit()
        proposer = request.get(User, anna.id)
        assert proposer is not None
        for match_id, code in ((withdrawn, "item_inactive"), (banned, "party_banned")):
            with pytest.raises(Conflict) as refused:
                exchanges.propose(
                    request, proposer=proposer, match_ids=[match_id], deadline=timedelta(days=1)
                )
            assert refused.value.code == code
        request.rollback()


StateMaker = Callable[[World, Person, Person], int]


def _proposed(world: World, a: Person, b: Person) -> int:
    return int(world.propose(a, world.swap(a, b))["id"])


def _accepted(world: World, a: Person, b: Person) -> int:
    return world.accepted_exchange(a, b)


def _completed(world: World, a: Person, b: Person) -> int:
    return world.completed_exchange(a, b)


def _declined(world: World, a: Person, b: Person) -> int:
    xid = _proposed(world, a, b)
    world.do(b, xid, "decline")
    return xid


def _cancelled(world: World, a: Person, b: Person) -> int:
    xid = _proposed(world, a, b)
    world.do(a, xid, "cancel")
    return xid


def _cancelled_after_accept(world: World, a: Person, b: Person) -> int:
    xid = _accepted(world, a, b)
    world.do(b, xid, "cancel")
    return xid


def _expired(world: World, a: Person, b: Person) -> int:
    xid = _proposed(world, a, b)
    world.db.execute(
        update(Exchange)
        .where(Exchange.id == xid)
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    world.db.commit()
    return xid


# state → {action by the party who has not acted yet: resulting status, or 409}
STATE_MACHINE: dict[str, tuple[StateMaker, dict[str, str | int]]] = {
    "proposed": (
        _proposed,
        {"accept": "accepted", "decline": "declined", "complete": 409, "cancel": "cancelled"},
    ),
    "accepted": (
        _accepted,
        {"accept": 409, "decline": 409, "complete": "accepted", "cancel": "cancelled"},
    ),
    "completed": (_completed, dict.fromkeys(ACTIONS, 409)),
    "declined": (_declined, dict.fromkeys(ACTIONS, 409)),
    "cancelled": (_cancelled, dict.fromkeys(ACTIONS, 409)),
    "cancelled-after-accept": (_cancelled_after_accept, dict.fromkeys(ACTIONS, 409)),
    "expired": (_expired, dict.fromkeys(ACTIONS, 409)),
}


@pytest.mark.parametrize("state", sorted(STATE_MACHINE))
def test_state_machine(world: World, anna: Person, boris: Person, state: str) -> None:
    make, outcomes = STATE_MACHINE[state]
    shown_state = state.split("-")[0]
    for action, expected in outcomes.items():
        xid = make(world, anna, boris)
        assert (
            world.client.get(f"/api/exchanges/{xid}", headers=anna.headers).json()["status"]
            == shown_state
        )
        before_anna, before_boris = events(world, anna), events(world, boris)
        response = world.act(boris, xid, action)
        if expected == 409:
            assert response.status_code == 409, (state, action, response.text)
            assert response.json()["detail"] in (
                f"cannot {action} an exchange that is {shown_state}",
                "you have already accepted this exchange",
            ), (state, action)
            assert events(world, boris) == before_boris
            assert events(world, anna) == before_anna
            continue
        assert response.status_code == 200, (state, action, response.text)
        assert response.json()["status"] == expected
        # The other party hears about it; the one who acted does not.
        assert events(world, anna)[len(before_anna) :] == [(xid, f"{action}:{expected}")]
        assert events(world, boris) == before_boris


def test_unknown_action_is_422(world: World, anna: Person, boris: Person) -> None:
    xid = _proposed(world, anna, boris)
    assert world.act(boris, xid, "expire").status_code == 422
    assert world.act(boris, xid, "approve").status_code == 422


@contextmanager
def writes(engine: Engine) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_overdue_proposal_reads_expired_and_reading_writes_nothing(
    world: World, anna: Person, boris: Person, engine: Engine
) -> None:
    xid = _expired(world, anna, boris)
    with writes(engine) as seen:
        listed = world.client.get("/api/exchanges", headers=boris.headers).json()
        one = world.client.get(f"/api/exchanges/{xid}", headers=anna.headers).json()
    assert [(e["id"], e["status"]) for e in listed] == [(xid, "expired")]
    assert one["status"] == "expired"
    assert seen == []
    world.db.expire_all()
    assert world.db.get(Exchange, xid).status == "proposed"  # type: ignore[union-attr]
    assert (xid, "expired") not in events(world, anna) + events(world, boris)


def test_domain_reads_of_overdue_exchanges_write_nothing(
    world: World, anna: Person, boris: Person, engine: Engine, db: Session
) -> None:
    xid = _expired(world, anna, boris)
    with writes(engine) as seen:
        found = exchanges.list_for_user(db, user=db.get(User, boris.id))  # type: ignore[arg-type]
        one = exchanges.get_exchange(db, exchange_id=xid, viewer=db.get(User, anna.id))  # type: ignore[arg-type]
        db.flush()
    assert seen == [] and not db.dirty and not db.new
    assert [exchanges.status_of(e) for e in found] == ["expired"]
    assert exchanges.status_of(one) == "expired" and one.status == "proposed"


def test_the_worker_loop_expires_due_proposals_and_everyone_is_told(
    world: World, anna: Person, boris: Person, db: Session, engine: Engine, settings: Settings
) -> None:
    due = _expired(world, anna, boris)
    fresh = _proposed(world, anna, boris)
    worker = MatchWorker(engine, settings)
    assert worker.run_once().expired == 1
    db.expire_all()
    assert db.get(Exchange, due).status == "expired"  # type: ignore[union-attr]
    assert db.get(Exchange, fresh).status == "proposed"  # type: ignore[union-attr]
    assert (due, "expired") in events(world, anna)
    assert (due, "expired") in events(world, boris)
    assert (fresh, "expired") not in events(world, anna)
    # Told once: the next pass finds nothing left to expire.
    worker.next_expiry = None
    assert worker.run_once().expired == 0
    assert events(world, anna).count((due, "expired")) == 1


def test_of_two_partitioned_workers_only_the_first_expires_proposals(
    world: World, anna: Person, boris: Person, db: Session, engine: Engine, settings: Settings
) -> None:
    """Expiry is done once, by partition 1/N, not repeated by every partition."""
    due = _expired(world, anna, boris)
    first, second = (MatchWorker(engine, settings, partition=Partition(i, 2)) for i in (1, 2))
    assert second.run_once().expired == 0
    db.expire_all()
    assert db.get(Exchange, due).status == "proposed"  # type: ignore[union-attr]
    assert first.run_once().expired == 1
    second.next_expiry = first.next_expiry = None
    assert second.run_once().expired == 0 and first.run_once().expired == 0
    db.expire_all()
    assert db.get(Exchange, due).status == "expired"  # type: ignore[union-attr]
    assert events(world, anna).count((due, "expired")) == 1
    assert (first.expires_exchanges, second.expires_exchanges) == (True, False)


def test_the_serving_loop_expires_proposals_on_its_own(
    world: World, anna: Person, boris: Person, db: Session, engine: Engine, settings: Settings
) -> None:
    """run_forever, as `freemarket serve` and `freemarket match worker` start it, in a thread."""
    due = _expired(world, anna, boris)
    worker = MatchWorker(engine, settings)
    stop = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), kwargs={"poll_seconds": 0.05}
    )
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            db.expire_all()
            if db.get(Exchange, due).status == "expired":  # type: ignore[union-attr]
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert db.get(Exchange, due).status == "expired"  # type: ignore[union-attr]


def test_accepted_items_are_reserved(
    world: World, anna: Person, boris: Person, vera: Person, db: Session
) -> None:
    book = world.item(anna, "offer", "редкая книга")
    to_boris = world.match(world.item(boris, "want", "редкая книга"), book)
    to_vera = world.match(world.item(vera, "want", "редкая книга"), book)
    first = world.propose(anna, [to_boris])["id"]
    second = world.propose(vera, [to_vera])["id"]
    unrelated = _proposed(world, boris, vera)
    assert world.do(boris, first, "accept")["status"] == "accepted"
    assert (
        world.client.get(f"/api/exchanges/{second}", headers=vera.headers).json()["status"]
        == "cancelled"
    )
    assert (second, "cancelled:item_reserved") in events(world, vera)
    assert (second, "cancelled:item_reserved") in events(world, anna)
    again = world.client.post(
        "/api/exchanges/", json={"match_ids": [to_vera]}, headers=vera.headers
    )
    assert again.status_code == 409
    assert "already promised" in again.json()["detail"]
    assert (
        world.client.get(f"/api/exchanges/{unrelated}", headers=vera.headers).json()["status"]
        == "proposed"
    )
    # Once the reserving deal is cancelled the item is free again.
    world.do(anna, first, "cancel")
    assert world.propose(vera, [to_vera])["status"] == "proposed"


def test_proposal_notifies_the_other_parties_only(
    world: World, anna: Person, boris: Person, vera: Person
) -> None:
    xid = world.propose(vera, cycle(world, anna, boris, vera))["id"]
    assert events(world, anna) == [(xid, "proposed")]
    assert events(world, boris) == [(xid, "proposed")]
    assert events(world, vera) == []
    world.do(anna, xid, "accept")
    assert events(world, vera) == [(xid, "accept:proposed")]
    assert events(world, boris)[-1] == (xid, "accept:proposed")
    assert events(world, anna) == [(xid, "proposed")]
    inbox = world.client.get("/api/notifications", headers=boris.headers).json()
    assert [n["payload"]["event"] for n in inbox] == ["accept:proposed", "proposed"]


def test_list_shows_only_my_exchanges(
    world: World, anna: Person, boris: Person, vera: Person, stranger: Person
) -> None:
    ab = _proposed(world, anna, boris)
    bv = _proposed(world, boris, vera)
    mine = {
        name: [e["id"] for e in world.client.get("/api/exchanges", headers=p.headers).json()]
        for name, p in {"anna": anna, "boris": boris, "vera": vera, "x": stranger}.items()
    }
    assert mine == {"anna": [ab], "boris": [bv, ab], "vera": [bv], "x": []}


def test_a_third_user_can_do_nothing(
    world: World, anna: Person, boris: Person, stranger: Person, db: Session
) -> None:
    xid = _proposed(world, anna, boris)
    assert world.client.get(f"/api/exchanges/{xid}", headers=stranger.headers).status_code == 404
    for action in ACTIONS:
        assert world.act(stranger, xid, action).status_code == 404, action
    db.expire_all()
    assert db.get(Exchange, xid).status == "proposed"  # type: ignore[union-attr]
    assert events(world, anna) == []


def test_an_identical_open_proposal_is_refused_naming_the_open_one(
    world: World, anna: Person, boris: Person
) -> None:
    matches = world.swap(anna, boris)
    first = world.propose(anna, matches)["id"]
    for proposer, match_ids in ((anna, matches), (boris, list(reversed(matches)))):
        again = world.client.post(
            "/api/exchanges/", json={"match_ids": match_ids}, headers=proposer.headers
        )
        assert again.status_code == 409, again.text
        assert again.json()["code"] == "exchange_already_open"
        assert again.json()["params"] == {"exchange_id": first}
        assert f"exchange {first}" in again.json()["detail"]
    # Part of it is a different deal; once the first is declined the same one may be proposed.
    assert world.propose(anna, matches[:1])["kind"] == "direct"
    world.do(boris, first, "decline")
    assert world.propose(boris, matches)["id"] != first


def test_the_buttons_offered_are_exactly_what_a_transition_allows(
    world: World, anna: Person, boris: Person, vera: Person, stranger: Person, db: Session
) -> None:
    """exchanges.actions_for (the web's and the bot's buttons) agrees with transition, always."""
    from freemarket.db.models import User
    from freemarket.errors import DomainError

    xid = world.propose(vera, cycle(world, anna, boris, vera))["id"]

    def check(*expected: tuple[Person, list[str]]) -> None:
        for person, wanted in expected:
            shown = world.client.get(f"/api/exchanges/{xid}", headers=person.headers)
            assert shown.status_code == 200 and shown.json()["actions"] == wanted, shown.text
            user = db.get(User, person.id)
            assert user is not None
            exchange = db.get(Exchange, xid)
            assert exchange is not None
            allowed = exchanges.actions_for(exchange, viewer=user)
            assert allowed == wanted
            for action in ACTIONS:
                attempt = db.begin_nested()
                try:
                    exchanges.transition(db, exchange_id=xid, actor=user, action=action)
                    done = True
                except DomainError:
                    done = False
                attempt.rollback()
                assert done == (action in allowed), (person.user.username, action)
        db.rollback()  # end the read transaction: the API writes next
        assert exchanges.actions_for(db.get(Exchange, xid), viewer=stranger.user) == []  # type: ignore[arg-type]
        db.rollback()

    answer = ["accept", "decline", "cancel"]
    check((anna, answer), (boris, answer), (vera, ["cancel"]))
    world.do(anna, xid, "accept")
    check((anna, ["cancel"]), (boris, answer), (vera, ["cancel"]))
    world.do(boris, xid, "accept")
    agreed = ["complete", "cancel"]
    check((anna, agreed), (boris, agreed), (vera, agreed))
    world.do(anna, xid, "complete")
    check((anna, ["cancel"]), (boris, agreed), (vera, agreed))
    world.do(boris, xid, "complete")
    world.do(vera, xid, "complete")
    check((anna, []), (boris, []), (vera, []))
