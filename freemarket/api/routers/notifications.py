"""The web inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from freemarket.api.deps import CurrentUser, DbSession
from freemarket.api.render import json_list_response
from freemarket.api.schemas import Message, NotificationOut
from freemarket.domain import notifications

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationOut])
def inbox(
    db: DbSession, user: CurrentUser, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> Response:
    """Your notifications (matches, exchanges), newest first."""
    return json_list_response(
        NotificationOut,
        [
            NotificationOut.model_validate(n)
            for n in notifications.inbox(db, user_id=user.id, limit=limit)
        ],
    )


@router.post("/read", response_model=Message)
def mark_read(db: DbSession, user: CurrentUser) -> Message:
    """Mark all your notifications read."""
    count = notifications.mark_read(db, user_id=user.id)
    return Message(detail=f"marked {count} notification(s) read")
