"""Not interested: a person hides a match; the answer is also a negative example for training.

A dismissal belongs to one person and one (want, offer) pair of items, not to the match row: a
recompute may delete a match and create it again, and the answer must outlive that. Only the
two people of a match may dismiss it, each for themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, exists, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, MatchDismissal, User, utcnow
from freemarket.db.session import insert_ignoring_conflicts
from freemarket.errors import NotFound


@dataclass(frozen=True, slots=True)
class Dismissal:
    """The answer as clients see it."""

    match_id: int
    want_item_id: int
    offer_item_id: int
    dismissed: bool


def _party_match(session: Session, *, actor: User, match_id: int) -> Match:
    """The match if the actor owns its want or its offer; NotFound otherwise (even for admins).

    Admins may look at anyone's matches, but "not interested" is a person's own answer: nobody
    gives it on someone else's behalf, so to anyone else the match is simply not theirs.
    """
    match = session.get(Match, match_id)
    if match is not None:
        owners = session.execute(
            select(Item.user_id).where(Item.id.in_([match.want_item_id, match.offer_item_id]))
        ).scalars()
        if actor.id in set(owners):
            return match
    raise NotFound(f"match {match_id} not found", code="match_not_found", match_id=match_id)


def dismiss_match(session: Session, *, actor: User, match_id: int) -> Dismissal:
    """Hide a match from the actor for good (idempotent); the pair becomes a training negative."""
    match = _party_match(session, actor=actor, match_id=match_id)
    # Two clicks (web and bot) may race: the unique key keeps one row and neither fails.
    insert_ignoring_conflicts(
        session,
        MatchDismissal.__table__,  # type: ignore[arg-type]
        [
            {
                "user_id": actor.id,
                "want_item_id": match.want_item_id,
                "offer_item_id": match.offer_item_id,
                "created_at": utcnow(),
            }
        ],
    )
    session.flush()
    return Dismissal(match.id, match.want_item_id, match.offer_item_id, dismissed=True)


def restore_match(session: Session, *, actor: User, match_id: int) -> Dismissal:
    """Undo the actor's "not interested" on a match (idempotent)."""
    match = _party_match(session, actor=actor, match_id=match_id)
    session.execute(
        delete(MatchDismissal).where(
            MatchDismissal.user_id == actor.id,
            MatchDismissal.want_item_id == match.want_item_id,
            MatchDismissal.offer_item_id == match.offer_item_id,
        )
    )
    return Dismissal(match.id, match.want_item_id, match.offer_item_id, dismissed=False)


def dismissed_by(
    user_id: ColumnElement[int] | int,
    want_item_id: ColumnElement[int] | int,
    offer_item_id: ColumnElement[int] | int,
) -> ColumnElement[bool]:
    """SQL condition: this user said "not interested" to this pair (for filters in queries)."""
    return exists().where(
        and_(
            MatchDismissal.user_id == user_id,
            MatchDismissal.want_item_id == want_item_id,
            MatchDismissal.offer_item_id == offer_item_id,
        )
    )


def negative_pairs(session: Session) -> list[tuple[Item, Item]]:
    """(want, offer) items whose want owner said "not interested": negatives for retraining."""
    want = Item.__table__.alias("want")
    offer = Item.__table__.alias("offer")
    rows = session.execute(
        select(MatchDismissal.want_item_id, MatchDismissal.offer_item_id)
        .join(want, want.c.id == MatchDismissal.want_item_id)
        .join(offer, offer.c.id == MatchDismissal.offer_item_id)
        .where(want.c.user_id == MatchDismissal.user_id)
        .order_by(MatchDismissal.id)
    ).all()
    items = {
        item.id: item
        for item in session.scalars(
            select(Item).where(Item.id.in_({i for row in rows for i in row}))
        )
    }
    return [(items[w], items[o]) for w, o in rows]
