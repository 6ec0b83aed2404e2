"""Stored matches as the people involved see them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from freemarket.db.models import Exchange, ExchangeLeg, Item, Match, User
from freemarket.domain.dismissals import dismissed_by
from freemarket.matching.core.trades import MatchEdge, TradeProposal, find_trades


def matches_for_user(
    session: Session, *, user_id: int, min_score: float = 0.0, limit: int = 100
) -> list[Match]:
    """Matches that involve one of the user's active items, best first."""
    want = aliased(Item)
    offer = aliased(Item)
    want_owner = aliased(User)
    offer_owner = aliased(User)
    stmt = (
        select(Match)
        .join(want, want.id == Match.want_item_id)
        .join(offer, offer.id == Match.offer_item_id)
        .join(want_owner, want_owner.id == want.user_id)
        .join(offer_owner, offer_owner.id == offer.user_id)
        .where(
            or_(want.user_id == user_id, offer.user_id == user_id),
            want.active.is_(True),
            offer.active.is_(True),
            want_owner.is_banned.is_(False),
            offer_owner.is_banned.is_(False),
            Match.score >= min_score,
            ~dismissed_by(user_id, Match.want_item_id, Match.offer_item_id),
        )
        .options(
            joinedload(Match.want_item).selectinload(Item.photos),
            joinedload(Match.offer_item).selectinload(Item.photos),
        )
        .order_by(Match.score.desc(), Match.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def have_matched(session: Session, user_a: int, user_b: int) -> bool:
    """True when an item of one user is matched with an item of the other."""
    want = aliased(Item)
    offer = aliased(Item)
    stmt = (
        select(Match.id)
        .join(want, want.id == Match.want_item_id)
        .join(offer, offer.id == Match.offer_item_id)
        .where(
            or_(
                (want.user_id == user_a) & (offer.user_id == user_b),
                (want.user_id == user_b) & (offer.user_id == user_a),
            )
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


@dataclass(frozen=True, slots=True)
class Trade:
    """A swap or 3-way cycle involving the user, with the match behind each leg."""

    proposal: TradeProposal
    match_ids: list[int]


def _edges(
    session: Session,
    *,
    min_score: float,
    involving: int | None = None,
    givers: set[int] | None = None,
    receivers: set[int] | None = None,
) -> list[tuple[MatchEdge, int]]:
    """Usable match edges: those touching `involving`, or from `givers` to `receivers`."""
    want = aliased(Item)
    offer = aliased(Item)
    want_owner = aliased(User)
    offer_owner = aliased(User)
    reserved = (
        select(ExchangeLeg.item_id)
        .join(Exchange, Exchange.id == ExchangeLeg.exchange_id)
        .where(Exchange.status == "accepted")
    )
    stmt = (
        select(Match.id, Match.score, want.id, want.user_id, offer.id, offer.user_id)
        .join(want, want.id == Match.want_item_id)
        .join(offer, offer.id == Match.offer_item_id)
        .join(want_owner, want_owner.id == want.user_id)
        .join(offer_owner, offer_owner.id == offer.user_id)
        .where(
            Match.score >= min_score,
            want.active.is_(True),
            offer.active.is_(True),
            want_owner.is_banned.is_(False),
            offer_owner.is_banned.is_(False),
            # Items promised in an accepted exchange are no longer on offer.
            offer.id.not_in(reserved),
            # A pair either side said "not interested" to is no trade for them.
            ~dismissed_by(want.user_id, want.id, offer.id),
            ~dismissed_by(offer.user_id, want.id, offer.id),
        )
    )
    if involving is not None:
        stmt = stmt.where(or_(want.user_id == involving, offer.user_id == involving))
    if givers is not None and receivers is not None:
        stmt = stmt.where(offer.user_id.in_(givers), want.user_id.in_(receivers))
    return [
        (MatchEdge(want_item=w, want_owner=wu, offer_item=o, offer_owner=ou, score=s), mid)
        for mid, s, w, wu, o, ou in session.execute(stmt)
    ]


def trades_for_user(session: Session, *, user_id: int, min_score: float) -> list[Trade]:
    """Direct swaps and 3-way cycles the user takes part in, best first, overlaps flagged."""
    own = _edges(session, min_score=min_score, involving=user_id)
    # A cycle user → b → c → user also needs the edge b → c between two other people.
    receivers = {e.want_owner for e, _ in own if e.offer_owner == user_id}
    givers = {e.offer_owner for e, _ in own if e.want_owner == user_id}
    between: list[tuple[MatchEdge, int]] = []
    if receivers and givers:
        between = _edges(session, min_score=min_score, givers=receivers, receivers=givers)
    match_id = {(e.want_item, e.offer_item): mid for e, mid in own + between}
    people = {e.want_owner for e, _ in own + between} | {e.offer_owner for e, _ in own + between}
    trust = {
        uid: (score - 1) / 4
        for uid, score in session.execute(
            select(User.id, User.trust_score).where(User.id.in_(people))
        )
        if score is not None
    }
    proposals = find_trades([e for e, _ in own + between], trust)
    return [
        Trade(
            proposal=p,
            match_ids=[match_id[(leg.want_item, leg.offer_item)] for leg in p.legs],
        )
        for p in proposals
        if user_id in p.users
    ]
