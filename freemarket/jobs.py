"""Background jobs recorded in the database, in the same transaction as their cause."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from freemarket.models import Job

MATCH_ITEM = "match_item"


def enqueue(session: Session, *, kind: str, payload: dict[str, Any]) -> Job:
    """Record a pending job; it becomes visible to workers when the caller commits."""
    job = Job(kind=kind, payload=payload)
    session.add(job)
    return job
