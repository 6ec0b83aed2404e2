"""Matches."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from freemarket import matches, users
from freemarket.api.deps import AppSettings, CurrentUser, DbSession
from freemarket.api.schemas import MatchOut, PathId
from freemarket.errors import Forbidden

router = APIRouter(prefix="/api/matches", tags=["matches"])


@router.get("/{user_id}", response_model=list[MatchOut])
def user_matches(
    user_id: PathId,
    db: DbSession,
    viewer: CurrentUser,
    settings: AppSettings,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MatchOut]:
    """Matches of your wants and offers above the show threshold (yours only, or any for admins)."""
    if viewer.id != user_id and not viewer.is_admin:
        raise Forbidden("you may only see your own matches")
    users.get_user(db, user_id)
    found = matches.matches_for_user(
        db, user_id=user_id, min_score=settings.match_show_threshold, limit=limit
    )
    return [MatchOut.model_validate(m) for m in found]
