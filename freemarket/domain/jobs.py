"""Background jobs recorded in the database, in the same transaction as their cause.

Workers claim jobs with row locks that skip rows another worker holds (PostgreSQL's
`FOR UPDATE SKIP LOCKED`) and finish them in that same transaction, so a worker that dies
mid-job simply releases it: the job is still pending for the next worker, and nothing it did
half-way was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Job, utcnow
from freemarket.infra import wakeup  # noqa: F401  (registers the after-commit wake-up hook

MATCH_ITEM = "match_item"
# A partitioned worker's share of matching a want that every partition holds, and the record
# the shares are gathered in (held: never claimed, completed by the last share).
MATCH_PART = "match_part"
MATCH_MERGE = "match_merge"
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=5)


def enqueue(session: Session, *, kind: str, payload: dict[str, Any]) -> Job:
    """Record a pending job; it becomes visible to workers when the caller commits."""
    job = Job(kind=kind, payload=payload)
    session.add(job)
    session.info["jobs_enqueued"] = True
    return job


def hold(session: Session, *, kind: str, payload: dict[str, Any]) -> Job:
    """Record a job no worker claims (status running) that other jobs complete and finish."""
    job = Job(kind=kind, payload=payload, status="running", locked_by="held", locked_at=utcnow())
    session.add(job)
    session.flush()  # its id is what the completing jobs point at
    return job


def claim(
    session: Session, *, limit: int, conditions: Sequence[ColumnElement[bool]] = ()
) -> list[Job]:
    """Lock up to `limit` due jobs (meeting `conditions`) for this transaction, oldest first."""
    stmt = (
        select(Job)
        .where(Job.status == "pending", Job.run_after <= utcnow(), *conditions)
        .order_by(Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def finish(session: Session, *, job: Job) -> None:
    """A job that succeeded leaves the queue."""
    session.execute(delete(Job).where(Job.id == job.id))


def fail(session: Session, *, job: Job, error: str) -> None:
    """Schedule a retry with exponential backoff, or give up after MAX_ATTEMPTS."""
    job.attempts += 1
    job.last_error = error[:2000]
    if job.attempts >= MAX_ATTEMPTS:
        job.status = "failed"
        job.finished_at = utcnow()
    else:
        job.run_after = utcnow() + RETRY_BASE * (2 ** (job.attempts - 1))


def backlog(session: Session) -> int:
    """How many jobs are waiting."""
    return int(session.scalar(select(func.count()).where(Job.status == "pending")) or 0)
