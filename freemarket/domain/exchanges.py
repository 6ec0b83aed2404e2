"""Exchanges: proposed from matches, accepted by every party, then completed.

States: proposed → accepted → completed, or declined / cancelled / expired. A proposal is a set
of legs, each an offered item going to the person who wants it: one match makes a direct
exchange, two matches between the same two people a swap, three matches a 3-way cycle.

Concurrency: every proposal and transition first locks the items of its legs, in id order,
then the exchange row, so two people pressing a button at the same instant are served one
after the other and the second sees what the first did. Items before exchanges is the one
lock order: a transition that withdraws other proposals of its items already holds those items,
so nobody holding one of those proposals can be waiting for it (no deadlock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from freemarket.db.models import (
    Exchange,
    ExchangeLeg,
    ExchangeParty,
    Item,
    Match,
    User,
    utcnow,
)
from freemarket.domain import actors, audit, items, notifications, visibility
from freemarket.domain.actors import Actor
from freemarket.domain.notifications import OutboxMessage
from freemarket.errors import Conflict, Forbidden, InvalidInput, NotFound

OPEN_STATES = ("proposed", "accepted")
KIND_BY_LEGS = {1: "direct", 2: "swap", 3: "cycle"}


@dataclass(frozen=True, slots=True)
class Transition:
    """What a party may do, from which states, and which state it leads to."""

    action: str
    allowed_from: tuple[str, ...]


TRANSITIONS = {
    "accept": Transition("accept", ("proposed",)),
    "decline": Transition("decline", ("proposed",)),
    "complete": Transition("complete", ("accepted",)),
    "cancel": Transition("cancel", ("proposed", "accepted")),
}


# What a party may do only while it has not yet done the thing recorded in that field: accept
# and complete once; decline only as an answer (a party that accepted cancels instead).
_UNTIL_PARTY_HAS = {
    "accept": ("accepted_at", "already_accepted", "you have already accepted this exchange"),
    "decline": (
        "accepted_at",
        "already_accepted",
        "you have already accepted this exchange; cancel it instead",
    ),
    "complete": ("completed_at", "already_completed", "you have already confirmed this exchange"),
}


def actions_for(exchange: Exchange, *, viewer: User) -> list[str]:
    """What `viewer` may do to the exchange now, as `transition` would allow it.

    The one place the web UI's and the bot's buttons come from, so neither restates the rule.
    """
    party = next((p for p in exchange.parties if p.user_id == viewer.id), None)
    if party is None:
        return []
    return [
        action
        for action, rule in TRANSITIONS.items()
        if status_of(exchange) in rule.allowed_from
        and (action not in _UNTIL_PARTY_HAS or getattr(party, _UNTIL_PARTY_HAS[action][0]) is None)
    ]


def _load(session: Session, exchange_id: int, *, lock: bool = False) -> Exchange:
    stmt = (
        select(Exchange)
        .where(Exchange.id == exchange_id)
        .options(selectinload(Exchange.legs), selectinload(Exchange.parties))
    )
    if lock:
        # FOR NO KEY UPDATE: excludes other transitions but not rows that merely reference the
        # exchange (a rating). populate_existing: what this session loaded before the lock is
        # stale; the parties are read after the lock, so they include the previous winner.
        _lock_items(session, _leg_items(session, exchange_id))
        stmt = stmt.with_for_update(key_share=True).execution_options(populate_existing=True)
    exchange = session.scalar(stmt)
    if exchange is None:
        raise NotFound(
            f"exchange {exchange_id} not found", code="exchange_not_found", exchange_id=exchange_id
        )
    return exchange


def _leg_items(session: Session, exchange_id: int) -> list[int]:
    """Every item the legs of an exchange name (legs never change once proposed)."""
    rows = session.execute(
        select(ExchangeLeg.item_id, ExchangeLeg.want_item_id).where(
            ExchangeLeg.exchange_id == exchange_id
        )
    )
    return [item_id for row in rows for item_id in row if item_id is not None]


def _lock_items(session: Session, item_ids: list[int]) -> None:
    """Lock these item rows in id order: the first step of every proposal and transition."""
    if item_ids:
        session.execute(
            select(Item.id)
            .where(Item.id.in_(sorted(set(item_ids))))
            .order_by(Item.id)
            .with_for_update(key_share=True)
        )


def party_ids(exchange: Exchange) -> set[int]:
    """The users taking part."""
    return {p.user_id for p in exchange.parties}


def status_of(exchange: Exchange) -> str:
    """The state to show: a proposal past its deadline is expired even before the worker says so.

    Reads never write; the worker's `expire_due` (and any transition) stores the expiry and
    tells the parties. Until then every reader shows the same state through this function.
    """
    if is_overdue(exchange):
        return "expired"
    return exchange.status


def is_overdue(exchange: Exchange) -> bool:
    """True for a proposal whose deadline has passed."""
    return (
        exchange.status == "proposed"
        and exchange.expires_at is not None
        and exchange.expires_at <= utcnow()
    )


def get_exchange(session: Session, *, exchange_id: int, viewer: User | None) -> Exchange:
    """An exchange, to one of its parties or an admin (others: not found); writes nothing."""
    exchange = _load(session, exchange_id)
    if actors.user_id(viewer) not in party_ids(exchange) and not actors.is_admin(viewer):
        raise NotFound(
            f"exchange {exchange_id} not found", code="exchange_not_found", exchange_id=exchange_id
        )
    return exchange


def list_for_user(session: Session, *, user: User, limit: int = 100) -> list[Exchange]:
    """The user's exchanges, newest first; writes nothing."""
    stmt = (
        select(Exchange)
        .join(ExchangeParty, ExchangeParty.exchange_id == Exchange.id)
        .where(ExchangeParty.user_id == user.id)
        .options(selectinload(Exchange.legs), selectinload(Exchange.parties))
        .order_by(Exchange.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def reserved_item_ids(
    session: Session, item_ids: list[int], *, exclude: int | None = None
) -> set[int]:
    """Which of these items are promised in an accepted exchange (other than `exclude`)."""
    stmt = (
        select(ExchangeLeg.item_id)
        .join(Exchange, Exchange.id == ExchangeLeg.exchange_id)
        .where(ExchangeLeg.item_id.in_(item_ids), Exchange.status == "accepted")
    )
    if exclude is not None:
        stmt = stmt.where(Exchange.id != exclude)
    return set(session.scalars(stmt))


def _legs_from_matches(session: Session, match_ids: list[int]) -> list[tuple[Item, Item]]:
    if not 1 <= len(match_ids) <= 3 or len(set(match_ids)) != len(match_ids):
        raise InvalidInput(
            "an exchange is made of 1 to 3 distinct matches", code="exchange_match_count", max=3
        )
    found = {m.id: m for m in session.scalars(select(Match).where(Match.id.in_(match_ids)))}
    missing = [m for m in match_ids if m not in found]
    if missing:
        raise NotFound(f"match {missing[0]} not found", code="match_not_found", match_id=missing[0])
    return [(found[m].want_item, found[m].offer_item) for m in match_ids]


def _check_cycle(legs: list[tuple[Item, Item]]) -> None:
    """Each giver must receive something: the legs must close a loop of distinct people."""
    if len(legs) == 1:
        return
    givers = [offer.user_id for _, offer in legs]
    receivers = [want.user_id for want, _ in legs]
    if len(set(givers)) != len(legs) or set(givers) != set(receivers):
        # Who owns what decides this, not the body's shape: a conflict with the current state.
        raise Conflict(
            "these matches do not form a swap or a cycle: everyone who gives must also receive",
            code="exchange_not_a_cycle",
        )


def propose(
    session: Session, *, proposer: User, match_ids: list[int], deadline: timedelta
) -> Exchange:
    """Propose an exchange from matches; the proposer must be one of the parties."""
    legs = _legs_from_matches(session, match_ids)
    _check_cycle(legs)
    people = {offer.user_id for _, offer in legs} | {want.user_id for want, _ in legs}
    if proposer.id not in people:
        raise Forbidden(
            "you can only propose exchanges you take part in", code="exchange_not_a_party"
        )
    item_ids = [item.id for leg in legs for item in leg]
    _lock_items(session, item_ids)
    # The one rule (visibility): every item must be listed. Why one is not picks the answer.
    unlisted = visibility.unlisted_reasons(session, item_ids)
    for want, offer in legs:
        inactive = [i.id for i in (offer, want) if unlisted.get(i.id) == visibility.INACTIVE]
        if inactive:
            gone = inactive[0]
            raise Conflict(f"item {gone} is no longer active", code="item_inactive", item_id=gone)
    duplicate = _open_duplicate(session, legs)
    if duplicate is not None:
        raise Conflict(
            f"exchange {duplicate} already proposes these items; act on it instead",
            code="exchange_already_open",
            exchange_id=duplicate,
        )
    reserved = reserved_item_ids(session, [offer.id for _, offer in legs])
    if reserved:
        raise Conflict(
            f"item {min(reserved)} is already promised in another exchange",
            code="item_reserved",
            item_id=min(reserved),
        )
    # Every party owns an item of the exchange: an owner's ban is a party's.
    if visibility.OWNER_BANNED in unlisted.values():
        raise Conflict("one of the parties is banned", code="party_banned")
    now = utcnow()
    exchange = Exchange(
        kind=KIND_BY_LEGS[len(legs)],
        status="proposed",
        proposed_by_id=proposer.id,
        expires_at=now + deadline,
    )
    exchange.legs = [
        ExchangeLeg(
            item_id=offer.id,
            want_item_id=want.id,
            from_user_id=offer.user_id,
            to_user_id=want.user_id,
        )
        for want, offer in legs
    ]
    exchange.parties = [
        # Proposing is accepting: the proposer need not accept their own proposal again.
        ExchangeParty(user_id=uid, accepted_at=now if uid == proposer.id else None)
        for uid in sorted(people)
    ]
    session.add(exchange)
    session.flush()
    _announce(session, exchange, actor=proposer, event="proposed")
    return exchange


def _open_duplicate(session: Session, legs: list[tuple[Item, Item]]) -> int | None:
    """The open exchange made of exactly these legs, if there is one."""
    wanted = {(offer.id, want.id) for want, offer in legs}
    candidates = select(ExchangeLeg.exchange_id).where(
        ExchangeLeg.item_id.in_([offer for offer, _ in wanted])
    )
    rows = session.execute(
        select(ExchangeLeg.exchange_id, ExchangeLeg.item_id, ExchangeLeg.want_item_id)
        .join(Exchange, Exchange.id == ExchangeLeg.exchange_id)
        .where(ExchangeLeg.exchange_id.in_(candidates), Exchange.status.in_(OPEN_STATES))
    )
    found: dict[int, set[tuple[int, int | None]]] = {}
    for exchange_id, item_id, want_item_id in rows:
        found.setdefault(exchange_id, set()).add((item_id, want_item_id))
    return min((x for x, pairs in found.items() if pairs == wanted), default=None)


def expire_if_due(session: Session, exchange: Exchange) -> bool:
    """Mark a proposal past its deadline as expired; True if it just expired."""
    if not is_overdue(exchange):
        return False
    # Compare-and-set: a concurrent accept that got there first keeps its state.
    expired = session.execute(
        update(Exchange)
        .where(Exchange.id == exchange.id, Exchange.status == "proposed")
        .values(status="expired", updated_at=utcnow())
    )
    if not expired.rowcount:  # type: ignore[attr-defined]
        session.refresh(exchange)
        return False
    _announce(session, exchange, actor=None, event="expired")
    return True


def expire_due(session: Session) -> int:
    """Expire every proposal past its deadline (the worker's loop runs it); returns how many."""
    due = session.scalars(
        select(Exchange).where(Exchange.status == "proposed", Exchange.expires_at <= utcnow())
    )
    return sum(expire_if_due(session, exchange) for exchange in list(due))


def transition(session: Session, *, exchange_id: int, actor: Actor, action: str) -> Exchange:
    """Apply a party's action (accept, decline, complete, cancel) or refuse it with the reason."""
    rule = TRANSITIONS.get(action)
    if rule is None:
        raise InvalidInput(f"unknown action {action!r}", code="unknown_action", action=action)
    exchange = _load(session, exchange_id, lock=True)
    party = next((p for p in exchange.parties if p.user_id == actors.user_id(actor)), None)
    # Only parties act on an exchange; an admin may only cancel one (moderation).
    if party is None and not (actors.is_admin(actor) and action == "cancel"):
        raise NotFound(
            f"exchange {exchange_id} not found", code="exchange_not_found", exchange_id=exchange_id
        )
    if party is None:
        audit.record(
            session,
            actor=actor,
            action=f"{action}_exchange",
            target_type="exchange",
            target_id=exchange.id,
        )
    expire_if_due(session, exchange)
    if exchange.status not in rule.allowed_from:
        raise Conflict(
            f"cannot {action} an exchange that is {exchange.status}",
            code="exchange_wrong_state",
            action=action,
            status=exchange.status,
        )
    if party is not None and action in _UNTIL_PARTY_HAS:
        field, code, message = _UNTIL_PARTY_HAS[action]
        if getattr(party, field) is not None:
            raise Conflict(message, code=code)
    now = utcnow()
    if action == "accept":
        assert party is not None
        party.accepted_at = now
        if all(p.accepted_at is not None for p in exchange.parties):
            _reserve(session, exchange)
            exchange.status = "accepted"
    elif action == "complete":
        assert party is not None
        party.completed_at = now
        if all(p.completed_at is not None for p in exchange.parties):
            exchange.status = "completed"
            exchange.completed_at = now
            _retire_items(session, exchange)
    else:
        exchange.status = "declined" if action == "decline" else "cancelled"
    session.flush()
    _announce(session, exchange, actor=actor, event=f"{action}:{exchange.status}")
    return exchange


def _reserve(session: Session, exchange: Exchange) -> None:
    """Promise the items to this exchange and withdraw them from every other proposal."""
    item_ids = [leg.item_id for leg in exchange.legs]
    reserved = reserved_item_ids(session, item_ids, exclude=exchange.id)
    if reserved:
        raise Conflict(
            "an item of this exchange was promised in another exchange meanwhile",
            code="item_reserved",
            item_id=min(reserved),
        )
    others = select(ExchangeLeg.exchange_id).where(
        ExchangeLeg.item_id.in_(item_ids), ExchangeLeg.exchange_id != exchange.id
    )
    withdrawn = session.scalars(
        update(Exchange)
        .where(Exchange.id.in_(others), Exchange.status == "proposed")
        .values(status="cancelled", updated_at=utcnow())
        .returning(Exchange.id)
        .execution_options(synchronize_session=False)
    )
    for other_id in sorted(withdrawn):
        other = session.get(Exchange, other_id, populate_existing=True)
        assert other is not None
        _announce(session, other, actor=None, event="cancelled:item_reserved")


def _retire_items(session: Session, exchange: Exchange) -> None:
    """Exchanged offers leave the market, and so do the wants they fulfilled."""
    for leg in exchange.legs:
        for item_id in (leg.item_id, leg.want_item_id):
            item = session.get(Item, item_id) if item_id is not None else None
            if item is not None:
                items.deactivate_item(session, item=item)


def _announce(session: Session, exchange: Exchange, *, actor: Actor | None, event: str) -> None:
    actor_id = actors.user_id(actor)
    recipients = [uid for uid in sorted(party_ids(exchange)) if uid != actor_id]
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(recipients)))}
    notifications.enqueue(
        session,
        [
            OutboxMessage(
                user=people[uid],
                kind="exchange",
                payload={
                    "exchange_id": exchange.id,
                    "status": exchange.status,
                    "event": event,
                    "by": actors.label(actor) if actor else None,
                },
                dedupe_key=f"exchange:{exchange.id}:{event}:{actor_id or 0}:{uid}",
            )
            for uid in recipients
        ],
    )


def cancel_open_for_user(session: Session, *, user: User) -> int:
    """Cancel every open exchange of a (banned) user; returns how many."""
    open_ids = select(ExchangeParty.exchange_id).where(ExchangeParty.user_id == user.id)
    stmt = (
        select(Exchange)
        .where(Exchange.id.in_(open_ids), Exchange.status.in_(OPEN_STATES))
        .options(selectinload(Exchange.parties))
    )
    cancelled = list(session.scalars(stmt))
    for exchange in cancelled:
        exchange.status = "cancelled"
        _announce(session, exchange, actor=None, event="cancelled:party_banned")
    session.flush()
    return len(cancelled)


def shared_an_accepted_exchange(user_id: Any, other_id: Any) -> ColumnElement[bool]:
    """SQL: the two people are parties of one accepted or completed exchange (see contacts)."""
    theirs = aliased(ExchangeParty)
    return exists().where(
        ExchangeParty.user_id == user_id,
        Exchange.id == ExchangeParty.exchange_id,
        Exchange.status.in_(("accepted", "completed")),
        theirs.exchange_id == Exchange.id,
        theirs.user_id == other_id,
        theirs.user_id != ExchangeParty.user_id,
    )
