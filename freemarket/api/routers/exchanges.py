"""Exchanges: propose from matches, accept, decline, complete, cancel."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, status

from freemarket.api.deps import AppSettings, CurrentUser, DbSession
from freemarket.api.schemas import ExchangeCreate, ExchangeOut, PathId
from freemarket.db.models import Exchange, User
from freemarket.domain import exchanges, ratings

router = APIRouter(prefix="/api/exchanges", tags=["exchanges"])


def render(db: DbSession, found: list[Exchange], viewer: User) -> list[ExchangeOut]:
    """Exchanges as `viewer` sees them: whom they rated already, what they may do now."""
    rated = ratings.rated_by(db, rater_id=viewer.id, exchange_ids=[e.id for e in found])
    return [
        ExchangeOut.model_validate(e).model_copy(
            update={
                "status": exchanges.status_of(e),
                "rated_user_ids": sorted(rated[e.id]),
                "actions": exchanges.actions_for(e, viewer=viewer),
            }
        )
        for e in found
    ]


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ExchangeOut)
def propose(
    body: ExchangeCreate, db: DbSession, user: CurrentUser, settings: AppSettings
) -> ExchangeOut:
    """Propose an exchange from one match, a swap (two) or a 3-way cycle (three)."""
    exchange = exchanges.propose(
        db,
        proposer=user,
        match_ids=body.match_ids,
        deadline=timedelta(hours=settings.exchange_deadline_hours),
    )
    return render(db, [exchange], user)[0]


@router.get("", response_model=list[ExchangeOut])
def mine(db: DbSession, user: CurrentUser) -> list[ExchangeOut]:
    """Your exchanges, newest first, each with whom you have rated in it."""
    return render(db, exchanges.list_for_user(db, user=user), user)


@router.get("/{exchange_id}", response_model=ExchangeOut)
def get_exchange(exchange_id: PathId, db: DbSession, user: CurrentUser) -> ExchangeOut:
    """One of your exchanges."""
    return render(db, [exchanges.get_exchange(db, exchange_id=exchange_id, viewer=user)], user)[0]


@router.post("/{exchange_id}/{action}", response_model=ExchangeOut)
def act(
    exchange_id: PathId,
    action: Literal["accept", "decline", "complete", "cancel"],
    db: DbSession,
    user: CurrentUser,
) -> ExchangeOut:
    """Accept, decline, confirm completion of, or cancel an exchange you take part in."""
    exchange = exchanges.transition(db, exchange_id=exchange_id, actor=user, action=action)
    return render(db, [exchange], user)[0]
