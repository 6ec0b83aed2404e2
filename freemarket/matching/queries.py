"""Stored matches as the people involved see them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from freemarket.db.models import Exchange, ExchangeLeg, Item, Match, MatchDismissal, User
from freemarket.domain import users, visibility
from freemarket.domain.actors import Actor
from freemarket.domain.permissions import require_self_or_admin
from freemarket.matching.core.display import describe_terms
from freemarket.matching.core.text import load_lexicon
from freemarket.matching.core.trades import MatchEdge, TradeProposal, find_trades


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A stored match before the rules about its items, owners and dismissals are applied."""

    match_id: int
    score: float
    want_item: int
    offer_item: int


# Reads below are several small statements rather than one join of matches, both items, both
# owners and the dismissals: PostgreSQL spent 3-17 ms just planning that join, and its
# `want.user_id = u OR offer.user_id = u` could use no index, so it scanned every match
# (0.6 s at 450k matches; issue 14). Each statement here is an index lookup with a trivial plan.


def _candidates(
    session: Session, condition: ColumnElement[bool], *, min_score: float
) -> list[_Candidate]:
    """Matches satisfying `condition` with at least `min_score`."""
    rows = session.execute(
        select(Match.id, Match.score, Match.want_item_id, Match.offer_item_id).where(
            condition, Match.score >= min_score
        )
    )
    return [_Candidate(*row) for row in rows]


def _item_ids(session: Session, user_ids: Collection[int]) -> list[int]:
    """Every item of these users."""
    return list(session.scalars(select(Item.id).where(Item.user_id.in_(user_ids))))


def _dismissed(session: Session, candidates: list[_Candidate]) -> set[tuple[int, int, int]]:
    """(user, want item, offer item) of every "not interested" given on these pairs."""
    if not candidates:
        return set()
    pairs = {(c.want_item, c.offer_item) for c in candidates}
    rows = session.execute(
        select(
            MatchDismissal.user_id, MatchDismissal.want_item_id, MatchDismissal.offer_item_id
        ).where(MatchDismissal.want_item_id.in_({want for want, _ in pairs}))
    )
    return {(u, w, o) for u, w, o in rows if (w, o) in pairs}


def explanation_for_people(match: Match) -> dict[str, Any]:
    """A match's stored explanation, its shared terms marked (object first) and translated."""
    return _explained(
        match.explanation, want_title=match.want_item.title, offer_title=match.offer_item.title
    )


def _explained(explanation: dict[str, Any], *, want_title: str, offer_title: str) -> dict[str, Any]:
    if "shared_terms" not in explanation:
        return dict(explanation)
    return {
        **explanation,
        "shared_terms": describe_terms(
            explanation.get("shared_terms", []),
            want_title=want_title,
            offer_title=offer_title,
            lexicon=load_lexicon(),
        ),
    }


def _check_reader(session: Session, *, actor: Actor, user_id: int) -> None:
    """Matches are their owner's (and admins'); a user who does not exist is NotFound."""
    require_self_or_admin(
        actor,
        owner_id=user_id,
        message="you may only see your own matches",
        code="not_your_matches",
    )
    users.get_user(session, user_id)


def _shown(
    session: Session, *, actor: Actor, user_id: int, min_score: float, limit: int
) -> list[_Candidate]:
    """The matches `matches_for_user` shows, best first, before their rows are loaded."""
    _check_reader(session, actor=actor, user_id=user_id)
    mine = _item_ids(session, [user_id])
    if not mine:
        return []
    candidates = _candidates(
        session,
        or_(Match.want_item_id.in_(mine), Match.offer_item_id.in_(mine)),
        min_score=min_score,
    )
    live = visibility.listed_owners(
        session, {c.want_item for c in candidates} | {c.offer_item for c in candidates}
    )
    dismissed = _dismissed(session, candidates)
    return sorted(
        (
            c
            for c in candidates
            if c.want_item in live
            and c.offer_item in live
            and (user_id, c.want_item, c.offer_item) not in dismissed
        ),
        key=lambda c: (-c.score, c.match_id),
    )[:limit]


def matches_for_user(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    min_score: float = 0.0,
    limit: int = 100,
) -> list[Match]:
    """Matches that involve one of the user's listed items, best first (theirs or an admin's)."""
    shown = _shown(session, actor=actor, user_id=user_id, min_score=min_score, limit=limit)
    if not shown:
        return []
    loaded = {
        match.id: match
        for match in session.scalars(
            select(Match)
            .where(Match.id.in_([c.match_id for c in shown]))
            .options(
                joinedload(Match.want_item).selectinload(Item.photos),
                joinedload(Match.offer_item).selectinload(Item.photos),
            )
        )
    }
    return [loaded[c.match_id] for c in shown]


_MATCH_ROWS = select(Match.id, Match.computed_by, Match.explanation, Match.created_at).where(
    Match.id.in_(bindparam("ids", expanding=True))
)


def match_rows_for_user(
    session: Session,
    *,
    actor: Actor,
    user_id: int,
    min_score: float = 0.0,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """`matches_for_user` as plain dicts, items as `items.item_rows_by_id` gives them.

    The API's hot read: no ORM objects (loading 50 matches with both items and their photos
    was most of the request's CPU, issue 14); the explanation is already for people.
    """
    # Here, not at the top: items pulls in search and the item-field models, which the CLI's
    # `match --user` (matches_for_user) does not need (tests/cli/test_startup.py, issue 12).
    from freemarket.domain.items import item_rows_by_id

    shown = _shown(session, actor=actor, user_id=user_id, min_score=min_score, limit=limit)
    if not shown:
        return []
    rows = {
        row.id: row for row in session.execute(_MATCH_ROWS, {"ids": [c.match_id for c in shown]})
    }
    found = item_rows_by_id(session, {c.want_item for c in shown} | {c.offer_item for c in shown})
    answer = []
    for c in shown:
        row, want, offer = rows[c.match_id], found[c.want_item], found[c.offer_item]
        answer.append(
            {
                "id": c.match_id,
                "want_item": want,
                "offer_item": offer,
                "score": c.score,
                "computed_by": row.computed_by,
                "explanation": _explained(
                    row.explanation, want_title=want["title"], offer_title=offer["title"]
                ),
                "created_at": row.created_at,
            }
        )
    return answer


@dataclass(frozen=True, slots=True)
class Trade:
    """A swap or 3-way cycle involving the user, with the match behind each leg."""

    proposal: TradeProposal
    match_ids: list[int]


def _edges(session: Session, candidates: list[_Candidate]) -> list[tuple[MatchEdge, int]]:
    """Candidates usable in a trade: live items, offers not promised elsewhere, not dismissed."""
    live = visibility.listed_owners(
        session, {c.want_item for c in candidates} | {c.offer_item for c in candidates}
    )
    candidates = [c for c in candidates if c.want_item in live and c.offer_item in live]
    if not candidates:
        return []
    # Items promised in an accepted exchange are no longer on offer.
    reserved = set(
        session.scalars(
            select(ExchangeLeg.item_id)
            .join(Exchange, Exchange.id == ExchangeLeg.exchange_id)
            .where(
                Exchange.status == "accepted",
                ExchangeLeg.item_id.in_({c.offer_item for c in candidates}),
            )
        )
    )
    dismissed = _dismissed(session, candidates)
    edges = []
    for c in candidates:
        want_owner, offer_owner = live[c.want_item], live[c.offer_item]
        # A pair either side said "not interested" to is no trade for them.
        if (
            c.offer_item in reserved
            or (want_owner, c.want_item, c.offer_item) in dismissed
            or (offer_owner, c.want_item, c.offer_item) in dismissed
        ):
            continue
        edge = MatchEdge(
            want_item=c.want_item,
            want_owner=want_owner,
            offer_item=c.offer_item,
            offer_owner=offer_owner,
            score=c.score,
        )
        edges.append((edge, c.match_id))
    return edges


def trades_for_user(
    session: Session, *, actor: Actor, user_id: int, min_score: float
) -> list[Trade]:
    """Direct swaps and 3-way cycles the user is in, best first (theirs or an admin's)."""
    _check_reader(session, actor=actor, user_id=user_id)
    mine = _item_ids(session, [user_id])
    if not mine:
        return []
    own = _edges(
        session,
        _candidates(
            session,
            or_(Match.want_item_id.in_(mine), Match.offer_item_id.in_(mine)),
            min_score=min_score,
        ),
    )
    # A cycle user → b → c → user also needs the edge b → c between two other people.
    receivers = {e.want_owner for e, _ in own if e.offer_owner == user_id}
    givers = {e.offer_owner for e, _ in own if e.want_owner == user_id}
    between: list[tuple[MatchEdge, int]] = []
    if receivers and givers:
        condition = Match.offer_item_id.in_(_item_ids(session, receivers)) & (
            Match.want_item_id.in_(_item_ids(session, givers))
        )
        between = _edges(session, _candidates(session, condition, min_score=min_score))
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
