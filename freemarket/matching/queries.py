"""Stored matches as the people involved see them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    bindparam,
    exists,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased, joinedload

from freemarket.db.models import Exchange, ExchangeLeg, Item, Match, MatchDismissal, User
from freemarket.db.session import in_list, is_postgres, joins_as_written
from freemarket.domain import actors, users, visibility
from freemarket.domain.actors import Actor
from freemarket.domain.permissions import require_self_or_admin
from freemarket.matching.core.display import describe_terms
from freemarket.matching.core.text import load_lexicon
from freemarket.matching.core.trades import MatchEdge, TradeProposal, find_trades

# The reads below are a few statements whose plans are index lookups: the matches on the user's
# items come from a UNION of two joins (one per side), each driven by `items.user_id`, never from
# `want.user_id = u OR offer.user_id = u`, which no index serves (PostgreSQL scanned all 450k
# matches, 0.6 s, issue 14). Both items, both owners, the dismissals and the promised offers are
# joined into the same statement, so a page of matches is one round trip, not seven, and its
# rows are plain tuples, not ORM objects (which were most of a request's CPU).
_WANT = aliased(Item, name="want_item")
_OFFER = aliased(Item, name="offer_item")
_WANT_OWNER = aliased(User, name="want_owner")
_OFFER_OWNER = aliased(User, name="offer_owner")
_USER = bindparam("user_id", type_=BigInteger)
_MINE = union(
    select(Match.id).join(Item, Item.id == Match.want_item_id).where(Item.user_id == _USER),
    select(Match.id).join(Item, Item.id == Match.offer_item_id).where(Item.user_id == _USER),
).subquery("mine")


def _live(source: Any, on: ColumnElement[bool], *columns: Any) -> Select[Any]:
    """Matches joined to `source` on `on`, scoring at least `:min_score`, both items listed.

    `source` comes first: inside `joins_as_written` PostgreSQL keeps the written order, and past
    its join_collapse_limit it does anyway, where a plan that started from `matches`
    hash-joined all 450k of them (1.1 s per trades request).
    """
    return (
        select(*columns)
        .select_from(source)
        .join(Match, on)
        .join(_WANT, _WANT.id == Match.want_item_id)
        .join(_WANT_OWNER, _WANT_OWNER.id == _WANT.user_id)
        .join(_OFFER, _OFFER.id == Match.offer_item_id)
        .join(_OFFER_OWNER, _OFFER_OWNER.id == _OFFER.user_id)
        .where(
            Match.score >= bindparam("min_score"),
            visibility.listed_where(_WANT, _WANT_OWNER),
            visibility.listed_where(_OFFER, _OFFER_OWNER),
        )
    )


def _not_dismissed_by(user_id: Any) -> ColumnElement[bool]:
    """SQL: this user did not say "not interested" to the match's pair of items."""
    return ~exists().where(
        MatchDismissal.user_id == user_id,
        MatchDismissal.want_item_id == Match.want_item_id,
        MatchDismissal.offer_item_id == Match.offer_item_id,
    )


# The matches `matches_for_user` shows, best first, with the match's own columns.
_PAGE = (
    _live(
        _MINE,
        Match.id == _MINE.c.id,
        Match.id,
        Match.score,
        Match.want_item_id,
        Match.offer_item_id,
        Match.computed_by,
        Match.explanation,
        Match.created_at,
    )
    .where(_not_dismissed_by(_USER))
    .order_by(Match.score.desc(), Match.id)
    .limit(bindparam("limit", type_=Integer))
)


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
    if actors.user_id(actor) != user_id:  # a signed-in reader of their own exists
        users.get_user(session, user_id)


def _shown(
    session: Session, *, actor: Actor, user_id: int, min_score: float, limit: int
) -> list[Row[Any]]:
    """The matches `matches_for_user` shows, best first, before their items are loaded."""
    _check_reader(session, actor=actor, user_id=user_id)
    params = {"user_id": user_id, "min_score": min_score, "limit": limit}
    with joins_as_written(session):
        return list(session.execute(_PAGE, params))


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
            .where(Match.id.in_([row.id for row in shown]))
            .options(
                joinedload(Match.want_item).selectinload(Item.photos),
                joinedload(Match.offer_item).selectinload(Item.photos),
            )
        )
    }
    return [loaded[row.id] for row in shown]


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
    found = item_rows_by_id(
        session, {row.want_item_id for row in shown} | {row.offer_item_id for row in shown}
    )
    answer = []
    for row in shown:
        want, offer = found[row.want_item_id], found[row.offer_item_id]
        answer.append(
            {
                "id": row.id,
                "want_item": want,
                "offer_item": offer,
                "score": row.score,
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


# Items promised in an accepted exchange are no longer on offer.
_PROMISED = exists().where(
    ExchangeLeg.item_id == Match.offer_item_id,
    Exchange.id == ExchangeLeg.exchange_id,
    Exchange.status == "accepted",
)
# A pair either side said "not interested" to is no trade for them.
_EDGE_COLUMNS = (
    Match.id,
    Match.score,
    Match.want_item_id,
    Match.offer_item_id,
    _WANT.user_id,
    _OFFER.user_id,
    _WANT_OWNER.trust_score,
    _OFFER_OWNER.trust_score,
)
_USABLE = (~_PROMISED, _not_dismissed_by(_WANT.user_id), _not_dismissed_by(_OFFER.user_id))
_OWN_EDGES = _live(_MINE, Match.id == _MINE.c.id, *_EDGE_COLUMNS).where(*_USABLE)


@cache
def _between_edges(postgres: bool) -> Select[Any]:
    """Edges from the offers of `:receivers` to the wants of `:givers`."""
    offers = select(Item.id).where(in_list(Item.user_id, "receivers", postgres=postgres))
    offers_sq = offers.subquery("receivers_offers")
    return _live(offers_sq, Match.offer_item_id == offers_sq.c.id, *_EDGE_COLUMNS).where(
        *_USABLE, in_list(_WANT.user_id, "givers", postgres=postgres)
    )


def _read_edges(
    session: Session, stmt: Select[Any], params: dict[str, Any], trust: dict[int, float]
) -> list[tuple[MatchEdge, int]]:
    """The edges (with their match ids) `stmt` finds; their owners' trust goes into `trust`."""
    edges = []
    for match_id, score, want, offer, want_owner, offer_owner, *scores in session.execute(
        stmt, params
    ):
        for owner, trust_score in zip((want_owner, offer_owner), scores, strict=True):
            if trust_score is not None:
                trust[owner] = (trust_score - 1) / 4
        edge = MatchEdge(
            want_item=want,
            want_owner=want_owner,
            offer_item=offer,
            offer_owner=offer_owner,
            score=score,
        )
        edges.append((edge, match_id))
    return edges


def trades_for_user(
    session: Session, *, actor: Actor, user_id: int, min_score: float
) -> list[Trade]:
    """Direct swaps and 3-way cycles the user is in, best first (theirs or an admin's)."""
    _check_reader(session, actor=actor, user_id=user_id)
    trust: dict[int, float] = {}
    between: list[tuple[MatchEdge, int]] = []
    with joins_as_written(session):
        own = _read_edges(session, _OWN_EDGES, {"user_id": user_id, "min_score": min_score}, trust)
    # A cycle user → b → c → user also needs the edge b → c between two other people. Its
    # join order is the planner's: the written one was twice as slow for it (two id lists).
    receivers = {e.want_owner for e, _ in own if e.offer_owner == user_id}
    givers = {e.offer_owner for e, _ in own if e.want_owner == user_id}
    if receivers and givers:
        params = {"receivers": list(receivers), "givers": list(givers), "min_score": min_score}
        between = _read_edges(session, _between_edges(is_postgres(session)), params, trust)
    match_id = {(e.want_item, e.offer_item): mid for e, mid in own + between}
    proposals = find_trades([e for e, _ in own + between], trust)
    return [
        Trade(
            proposal=p,
            match_ids=[match_id[(leg.want_item, leg.offer_item)] for leg in p.legs],
        )
        for p in proposals
        if user_id in p.users
    ]
