"""Matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from freemarket.api.deps import READ_AUTH, CurrentUser, DbSession, read_in_one_hop
from freemarket.api.render import json_list_response
from freemarket.api.schemas import DismissalOut, MatchOut, PathId, TradeLegOut, TradeOut
from freemarket.db.models import User
from freemarket.domain import dismissals
from freemarket.matching import queries

router = APIRouter(prefix="/api/matches", tags=["matches"])


@router.get("/{user_id}", response_model=list[MatchOut], openapi_extra=READ_AUTH["required"])
async def user_matches(
    request: Request, user_id: PathId, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Response:
    """Matches of your wants and offers above the show threshold (yours only, or any for admins)."""
    threshold = request.app.state.settings.match_show_threshold
    return await read_in_one_hop(request, "required", _user_matches, user_id, threshold, limit)


def _user_matches(
    db: Session, viewer: User, user_id: int, threshold: float, limit: int
) -> Response:
    found = queries.match_rows_for_user(
        db, actor=viewer, user_id=user_id, min_score=threshold, limit=limit
    )
    return json_list_response(MatchOut, [MatchOut.model_validate(m) for m in found])


@router.get("/{user_id}/trades", response_model=list[TradeOut], openapi_extra=READ_AUTH["required"])
async def user_trades(request: Request, user_id: PathId) -> Response:
    """Direct swaps and 3-way cycles you take part in, best first; overlaps are flagged."""
    threshold = request.app.state.settings.match_show_threshold
    return await read_in_one_hop(request, "required", _user_trades, user_id, threshold)


def _user_trades(db: Session, viewer: User, user_id: int, threshold: float) -> Response:
    found = queries.trades_for_user(db, actor=viewer, user_id=user_id, min_score=threshold)
    trades = [
        TradeOut(
            kind=t.proposal.kind,
            users=list(t.proposal.users),
            score=t.proposal.score,
            match_ids=t.match_ids,
            overlaps_with_other_trades=t.proposal.overlapping,
            legs=[
                TradeLegOut(
                    giver=leg.giver,
                    receiver=leg.receiver,
                    offer_item_id=leg.offer_item,
                    want_item_id=leg.want_item,
                    score=leg.score,
                    match_id=match_id,
                )
                for leg, match_id in zip(t.proposal.legs, t.match_ids, strict=True)
            ],
        )
        for t in found
    ]
    return json_list_response(TradeOut, trades)


@router.post("/{match_id}/dismiss", response_model=DismissalOut)
def dismiss_match(match_id: PathId, db: DbSession, actor: CurrentUser) -> DismissalOut:
    """Not interested: hide this match from you for good (it also teaches the matcher)."""
    found = dismissals.dismiss_match(db, actor=actor, match_id=match_id)
    return DismissalOut.model_validate(found, from_attributes=True)


@router.delete("/{match_id}/dismiss", response_model=DismissalOut)
def restore_match(match_id: PathId, db: DbSession, actor: CurrentUser) -> DismissalOut:
    """Undo "not interested": the match shows again."""
    found = dismissals.restore_match(db, actor=actor, match_id=match_id)
    return DismissalOut.model_validate(found, from_attributes=True)
