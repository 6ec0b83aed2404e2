"""Stored matches as the domain's rules read them: who has matched whom, and withdrawing them.

The matching service (`freemarket/matching/`) writes the rows; these two questions are asked by
the domain itself (profile visibility, banning), which must not import the service.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, aliased

from freemarket.db.models import Item, Match


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


def delete_matches_of_items(session: Session, item_ids: Collection[int]) -> int:
    """Remove every match involving these items (deactivated, or their owner banned)."""
    if not item_ids:
        return 0
    ids = list(item_ids)
    result = session.execute(
        delete(Match).where(or_(Match.want_item_id.in_(ids), Match.offer_item_id.in_(ids)))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
