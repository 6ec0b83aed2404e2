"""Reports of items and users."""

from __future__ import annotations

from fastapi import APIRouter, status

from freemarket.api.deps import CurrentUser, DbSession
from freemarket.api.schemas import ReportCreate, ReportOut
from freemarket.domain import reports

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ReportOut)
def create_report(body: ReportCreate, db: DbSession, user: CurrentUser) -> ReportOut:
    """Report an item or a user to the moderators."""
    report = reports.create_report(
        db, reporter=user, reason=body.reason, item_id=body.item_id, user_id=body.user_id
    )
    return ReportOut.model_validate(report)
