"""Ratings."""

from __future__ import annotations

from fastapi import APIRouter, status

from freemarket.api.deps import AppSettings, CurrentUser, DbSession
from freemarket.api.schemas import RatingCreate, RatingOut
from freemarket.domain import ratings

router = APIRouter(prefix="/api/ratings", tags=["ratings"])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=RatingOut)
def create_rating(
    body: RatingCreate, db: DbSession, rater: CurrentUser, settings: AppSettings
) -> RatingOut:
    """Rate another party of a completed exchange you took part in."""
    rating = ratings.create_rating(
        db,
        rater=rater,
        ratee_id=body.to_user_id,
        exchange_id=body.tx_id,
        score=body.score,
        comment=body.comment,
        policy=ratings.TrustPolicy.from_settings(settings),
    )
    return RatingOut.model_validate(rating)
