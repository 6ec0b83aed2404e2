"""The notification outbox: rows written in the same transaction as the event they announce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Integer, Row, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import (
    NOTIFICATION_CHANNELS,
    NOTIFICATION_STATUSES,
    Notification,
    utcnow,
)
from freemarket.db.session import insert_ignoring_conflicts
from freemarket.errors import InvalidInput


class Addressee(Protocol):
    """Who a message is for: a User, or just the two facts about them that delivery needs."""

    @property
    def id(self) -> int: ...

    @property
    def telegram_id(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Recipient:
    """An addressee without loading the whole user (bulk paths)."""

    id: int
    telegram_id: int | None


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One event to tell one person about, on every channel they can be reached on."""

    user: Addressee
    kind: str
    payload: dict[str, Any]
    dedupe_key: str
    match_id: int | None = None


def channels_for(user: Addressee) -> list[str]:
    """The web inbox always; Telegram when the user has linked it."""
    return ["web", "telegram"] if user.telegram_id is not None else ["web"]


def enqueue(session: Session, messages: list[OutboxMessage]) -> int:
    """Write outbox rows; a message whose dedupe key was seen before is not written again."""
    now = utcnow()
    rows = [
        {
            "user_id": m.user.id,
            "channel": channel,
            "kind": m.kind,
            "payload": m.payload,
            "match_id": m.match_id,
            # The web inbox is delivered the moment the row exists; Telegram waits for the bot.
            "status": "sent" if channel == "web" else "pending",
            "sent_at": now if channel == "web" else None,
            "attempts": 0,
            "next_attempt_at": now,
            "dedupe_key": f"{m.dedupe_key}:{channel}",
            "created_at": now,
        }
        for m in messages
        for channel in channels_for(m.user)
    ]
    table = Notification.__table__
    return len(insert_ignoring_conflicts(session, table, rows, returning=("id",)))  # type: ignore[arg-type]


# The inbox as plain rows of what it shows, one statement built once: it is read on every
# page of the web UI, and loading ORM objects for it was most of its thread's CPU (issue 14).
_INBOX = (
    select(
        Notification.id,
        Notification.kind,
        Notification.payload,
        Notification.status,
        Notification.created_at,
        Notification.read_at,
    )
    .where(Notification.user_id == bindparam("user_id"), Notification.channel == "web")
    .order_by(Notification.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


def inbox(session: Session, *, user_id: int, limit: int = 50) -> list[Row[Any]]:
    """The user's web inbox, newest first: id, kind, payload, status, created_at, read_at."""
    return list(session.execute(_INBOX, {"user_id": user_id, "limit": limit}))


def counts_by_status(session: Session) -> dict[str, int]:
    """How many outbox rows are in each status."""
    rows = session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status: int(count) for status, count in rows}


def counts_by_channel(session: Session) -> dict[str, dict[str, int]]:
    """How many outbox rows each channel (web inbox, telegram) has in each status."""
    rows = session.execute(
        select(Notification.channel, Notification.status, func.count()).group_by(
            Notification.channel, Notification.status
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for channel, status, count in rows:
        counts.setdefault(channel, {})[status] = int(count)
    return counts


def mark_read(session: Session, *, user_id: int) -> int:
    """Mark every unread web notification of the user read; returns how many."""
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.channel == "web",
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


RETRYABLE = ("failed", "dead", "skipped")
PURGEABLE = ("sent", "dead", "skipped")


def _check_status(status: str | None, allowed: tuple[str, ...]) -> None:
    if status is not None and status not in allowed:
        raise InvalidInput(
            f"status must be one of {', '.join(allowed)}", code="bad_status", allowed=allowed
        )


def list_outbox(
    session: Session, *, status: str | None = None, channel: str | None = None, limit: int = 50
) -> list[Notification]:
    """Outbox rows, newest first, optionally of one status and channel (for operators)."""
    _check_status(status, NOTIFICATION_STATUSES)
    if channel is not None and channel not in NOTIFICATION_CHANNELS:
        raise InvalidInput(
            f"channel must be one of {', '.join(NOTIFICATION_CHANNELS)}",
            code="bad_channel",
            allowed=NOTIFICATION_CHANNELS,
        )
    stmt = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(Notification.status == status)
    if channel is not None:
        stmt = stmt.where(Notification.channel == channel)
    return list(session.scalars(stmt))


def retry(session: Session, *, status: str = "failed", ids: list[int] | None = None) -> int:
    """Queue Telegram rows of a failed, dead or skipped status for delivery now; how many.

    A row given up because its send was interrupted may have reached the person already: it is
    retried only when named by id, so a bulk retry never sends anything twice.
    """
    _check_status(status, RETRYABLE)
    stmt = update(Notification).where(
        Notification.channel == "telegram", Notification.status == status
    )
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    else:
        stmt = stmt.where(
            or_(
                Notification.last_error.is_(None),
                Notification.last_error.not_like("delivery outcome unknown%"),
            )
        )
    result = session.execute(
        stmt.values(status="pending", attempts=0, next_attempt_at=utcnow(), last_error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge(session: Session, *, status: str = "sent", older_than_days: float = 30) -> int:
    """Delete finished Telegram rows older than the given age; the web inbox is never touched."""
    _check_status(status, PURGEABLE)
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = session.execute(
        delete(Notification).where(
            Notification.channel == "telegram",
            Notification.status == status,
            Notification.created_at <= cutoff,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
