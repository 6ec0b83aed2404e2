"""The web inbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from freemarket.api.deps import READ_AUTH, CurrentUser, DbSession, read_in_one_hop
from freemarket.api.render import json_list_response
from freemarket.api.schemas import Message, NotificationOut
from freemarket.db.models import User
from freemarket.domain import notifications

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("", response_model=list[NotificationOut], openapi_extra=READ_AUTH["required"])
async def inbox(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    """Your notifications (matches, exchanges), newest first."""
    return await read_in_one_hop(request, "required", _inbox, limit)


def _inbox(db: Session, user: User, limit: int) -> Response:
    found = notifications.inbox(db, user_id=user.id, limit=limit)
    return json_list_response(NotificationOut, [NotificationOut.model_validate(n) for n in found])


@router.post("/read", response_model=Message)
def mark_read(db: DbSession, user: CurrentUser) -> Message:
    """Mark all your notifications read."""
    count = notifications.mark_read(db, user_id=user.id)
    return Message(detail=f"marked {count} notification(s) read")
