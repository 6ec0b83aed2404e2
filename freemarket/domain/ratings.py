"""Ratings between the parties of a completed exchange, and the trust score they feed.

Trust is a Bayesian average: the mean of the counted ratings pulled towards `prior_mean` as
if `prior_weight` ratings of that value existed, so one 5-star rating from a friend does not
make a stranger trustworthy. A counterparty counts at most once per `window_days`: a pair of
accounts rating each other over and over moves nobody's score.

A rating stays hidden (no one sees it, and it moves no score) until it is revealed: when the
other side rates back, or `reveal_after_days` after it was given. Counting a hidden rating in
the public score would give it away, since the score before and after tells its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, Rating, User, utcnow
from freemarket.errors import Conflict, Forbidden, InvalidInput, NotFound
from freemarket.infra.settings import Settings


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """How ratings become a trust score."""

    prior_mean: float = 3.5
    prior_weight: float = 3.0
    window_days: int = 30
    reveal_after_days: int = 14

    @classmethod
    def from_settings(cls, settings: Settings) -> TrustPolicy:
        """The policy configured in settings."""
        return cls(
            prior_mean=settings.trust_prior_mean,
            prior_weight=settings.trust_prior_weight,
            window_days=settings.trust_window_days,
            reveal_after_days=settings.rating_reveal_days,
        )


@dataclass(frozen=True, slots=True)
class RatingInput:
    """One received rating as the trust score saw it."""

    rating_id: int
    from_user_id: int
    score: int
    created_at: datetime
    counted: bool
    reason: str
    revealed: bool = True


@dataclass(slots=True)
class TrustExplanation:
    """The inputs and result of a trust score."""

    policy: TrustPolicy
    inputs: list[RatingInput] = field(default_factory=list)

    @property
    def counted(self) -> list[RatingInput]:
        """Ratings that count."""
        return [r for r in self.inputs if r.counted]

    @property
    def ignored(self) -> list[RatingInput]:
        """Revealed ratings that do not count (hidden ones are nobody's business yet)."""
        return [r for r in self.inputs if r.revealed and not r.counted]

    @property
    def counterparties(self) -> int:
        """Distinct people whose ratings count."""
        return len({r.from_user_id for r in self.counted})

    @property
    def score(self) -> float | None:
        """The trust score, or None before the first counted rating."""
        counted = self.counted
        if not counted:
            return None
        total = self.policy.prior_mean * self.policy.prior_weight + sum(r.score for r in counted)
        return round(total / (self.policy.prior_weight + len(counted)), 3)


def create_rating(
    session: Session,
    *,
    rater: User,
    ratee_id: int,
    exchange_id: int,
    score: int,
    comment: str | None,
    policy: TrustPolicy,
) -> Rating:
    """Rate another party of a completed exchange, once per exchange."""
    if not 1 <= score <= 5:
        raise InvalidInput("score must be between 1 and 5", code="rating_score", min=1, max=5)
    if ratee_id == rater.id:
        # Forbidden, not invalid: the body is well-formed, the rule is about who sends it.
        raise Forbidden("you cannot rate yourself", code="rating_self")
    # Locked: the two sides rating each other at the same instant must not both miss the
    # other's rating, which would leave both hidden for the whole reveal period.
    exchange = session.scalar(
        select(Exchange).where(Exchange.id == exchange_id).with_for_update(key_share=True)
    )
    if exchange is None:
        raise NotFound(
            f"exchange {exchange_id} not found", code="exchange_not_found", exchange_id=exchange_id
        )
    party_ids = {p.user_id for p in exchange.parties}
    if rater.id not in party_ids:
        raise Forbidden("only a party of the exchange may rate it", code="rating_not_a_party")
    if ratee_id not in party_ids:
        # A well-formed body naming someone this exchange does not involve: a conflict with
        # the exchange as it is, not malformed input.
        raise Conflict(
            "the rated user is not a party of this exchange", code="rating_target_not_a_party"
        )
    if exchange.status != "completed":
        raise Conflict(
            f"exchange {exchange_id} is {exchange.status}; only completed ones count",
            code="rating_exchange_not_completed",
            exchange_id=exchange_id,
            status=exchange.status,
        )
    duplicate = session.scalar(
        select(Rating.id).where(
            Rating.tx_id == exchange_id,
            Rating.from_user_id == rater.id,
            Rating.to_user_id == ratee_id,
        )
    )
    if duplicate is not None:
        raise Conflict("you have already rated this user for this exchange", code="already_rated")
    rating = Rating(
        from_user_id=rater.id, to_user_id=ratee_id, tx_id=exchange_id, score=score, comment=comment
    )
    session.add(rating)
    session.flush()
    answer = session.scalar(
        select(Rating).where(
            Rating.tx_id == exchange_id,
            Rating.from_user_id == ratee_id,
            Rating.to_user_id == rater.id,
        )
    )
    if answer is not None:
        # Both sides have spoken: both ratings are revealed, and both scores move now.
        rating.revealed_at = utcnow()
        answer.revealed_at = answer.revealed_at or rating.revealed_at
        session.flush()
        recompute_trust(session, user_id=ratee_id, policy=policy)
        recompute_trust(session, user_id=rater.id, policy=policy)
    return rating


def reveal_due(session: Session, *, policy: TrustPolicy, user_id: int | None = None) -> set[int]:
    """Reveal the ratings (of `user_id`, or everyone's) whose reveal period is over.

    Returns the users whose trust score moved. The worker's loop calls it for everyone every
    few seconds (so a stored score is at most that late); the ratings and profile pages call it
    for their user first, so the reviews they list are never behind the clock.
    """
    cutoff = utcnow() - timedelta(days=policy.reveal_after_days)
    due = [Rating.revealed_at.is_(None), Rating.created_at <= cutoff]
    if user_id is not None:
        due.append(Rating.to_user_id == user_id)
    # Usually nothing is due: asking first keeps the worker's loop (every few seconds) and the
    # pages that call this from taking a write lock for nothing (SQLite locks the whole file).
    if session.scalar(select(Rating.id).where(*due).limit(1)) is None:
        return set()
    stmt = update(Rating).where(*due).values(revealed_at=utcnow()).returning(Rating.to_user_id)
    ratees = set(session.scalars(stmt))
    for ratee in sorted(ratees):
        recompute_trust(session, user_id=ratee, policy=policy)
    return ratees


def explain_trust(session: Session, *, user_id: int, policy: TrustPolicy) -> TrustExplanation:
    """Every rating the user received, whether it counts and why."""
    received = session.scalars(
        select(Rating).where(Rating.to_user_id == user_id).order_by(Rating.created_at, Rating.id)
    )
    window = timedelta(days=policy.window_days)
    last_counted: dict[int, datetime] = {}
    explanation = TrustExplanation(policy=policy)
    for rating in received:
        if rating.revealed_at is None:
            counted, reason = False, "hidden until the other side rates or the reveal period ends"
        else:
            previous = last_counted.get(rating.from_user_id)
            counted = previous is None or rating.created_at - previous >= window
            reason = "counted" if counted else f"same rater within {policy.window_days} days"
        if counted:
            last_counted[rating.from_user_id] = rating.created_at
        explanation.inputs.append(
            RatingInput(
                rating_id=rating.id,
                from_user_id=rating.from_user_id,
                score=rating.score,
                created_at=rating.created_at,
                counted=counted,
                reason=reason,
                revealed=rating.revealed_at is not None,
            )
        )
    return explanation


def recompute_trust(session: Session, *, user_id: int, policy: TrustPolicy) -> User:
    """Store the user's trust score and number of counted counterparties."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found", user_id=user_id)
    explanation = explain_trust(session, user_id=user_id, policy=policy)
    user.trust_score = explanation.score
    user.rating_count = explanation.counterparties
    session.flush()
    return user


def visible_ratings(session: Session, *, user_id: int, limit: int = 100) -> list[Rating]:
    """Ratings the user received that are revealed (call reveal_due first), newest first.

    Hiding a rating until then stops people from retaliating for a bad one.
    """
    stmt = (
        select(Rating)
        .where(Rating.to_user_id == user_id, Rating.revealed_at.is_not(None))
        .order_by(Rating.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def rated_by(session: Session, *, rater_id: int, exchange_ids: list[int]) -> dict[int, set[int]]:
    """For each of these exchanges, the people `rater_id` has already rated in it."""
    found: dict[int, set[int]] = {exchange_id: set() for exchange_id in exchange_ids}
    if not exchange_ids:
        return found
    rows = session.execute(
        select(Rating.tx_id, Rating.to_user_id).where(
            Rating.from_user_id == rater_id, Rating.tx_id.in_(exchange_ids)
        )
    )
    for exchange_id, ratee_id in rows:
        found[exchange_id].add(ratee_id)
    return found
