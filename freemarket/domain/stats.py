"""Key figures of the marketplace, read from the database (for /metrics and `freemarket stats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, Item, Match, User
from freemarket.domain import jobs, notifications


@dataclass(frozen=True, slots=True)
class DomainFigures:
    """Counts that describe the marketplace right now."""

    users: int
    banned_users: int
    items_active: dict[str, int]
    matches: int
    matching_backlog: int
    notifications: dict[str, int]
    exchanges: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        """A JSON-friendly copy."""
        return asdict(self)


def _grouped(session: Session, column: object, *where: object) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column)).all()
    return {str(key): int(count) for key, count in rows}


def domain_figures(session: Session) -> DomainFigures:
    """Read every figure in a handful of aggregate queries."""
    return DomainFigures(
        users=int(session.scalar(select(func.count()).select_from(User)) or 0),
        banned_users=int(session.scalar(select(func.count()).where(User.is_banned.is_(True))) or 0),
        items_active={
            "offer": 0,
            "want": 0,
            **_grouped(session, Item.kind, Item.active.is_(True)),
        },
        matches=int(session.scalar(select(func.count()).select_from(Match)) or 0),
        matching_backlog=jobs.backlog(session),
        notifications=notifications.counts_by_status(session),
        exchanges=_grouped(session, Exchange.status),
    )
