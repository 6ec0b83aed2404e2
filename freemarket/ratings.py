"""Ratings between the parties of a completed exchange, and the trust score they feed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.errors import Conflict, Forbidden, InvalidInput, NotFound
from freemarket.models import Exchange, ExchangeParty, Rating, User


def create_rating(
    session: Session,
    *,
    rater: User,
    ratee_id: int,
    exchange_id: int,
    score: int,
    comment: str | None = None,
) -> Rating:
    """Rate another party of a completed exchange, once per exchange."""
    if not 1 <= score <= 5:
        raise InvalidInput("score must be between 1 and 5")
    if ratee_id == rater.id:
        raise InvalidInput("you cannot rate yourself")
    exchange = session.get(Exchange, exchange_id)
    if exchange is None:
        raise NotFound(f"exchange {exchange_id} not found")
    party_ids = {p.user_id for p in exchange.parties}
    if rater.id not in party_ids:
        raise Forbidden("only a party of the exchange may rate it")
    if ratee_id not in party_ids:
        raise InvalidInput("the rated user is not a party of this exchange")
    if exchange.status != "completed":
        raise Conflict(f"exchange {exchange_id} is {exchange.status}; only completed ones count")
    duplicate = session.scalar(
        select(Rating.id).where(
            Rating.tx_id == exchange_id,
            Rating.from_user_id == rater.id,
            Rating.to_user_id == ratee_id,
        )
    )
    if duplicate is not None:
        raise Conflict("you have already rated this user for this exchange")
    rating = Rating(
        from_user_id=rater.id, to_user_id=ratee_id, tx_id=exchange_id, score=score, comment=comment
    )
    session.add(rating)
    session.flush()
    recompute_trust(session, user_id=ratee_id)
    return rating


def recompute_trust(session: Session, *, user_id: int) -> User:
    """Set a user's trust score to the mean of the ratings they received (0 with none)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    count, mean = session.execute(
        select(func.count(Rating.id), func.avg(Rating.score)).where(Rating.to_user_id == user_id)
    ).one()
    user.rating_count = int(count)
    user.trust_score = round(float(mean or 0.0), 3)
    session.flush()
    return user


def is_party(session: Session, *, exchange_id: int, user_id: int) -> bool:
    """True when the user takes part in the exchange."""
    return (
        session.scalar(
            select(ExchangeParty.id).where(
                ExchangeParty.exchange_id == exchange_id, ExchangeParty.user_id == user_id
            )
        )
        is not None
    )
