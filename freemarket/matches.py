"""Stored matches as the people involved see them."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, joinedload

from freemarket.models import Item, Match, User


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
        )
        .options(joinedload(Match.want_item), joinedload(Match.offer_item))
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
