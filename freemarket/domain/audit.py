"""Audit log of administrative actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, User
from freemarket.domain.actors import Actor, Operator


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    target_type: str,
    target_id: object = None,
    details: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditLog:
    """Write one audit entry; `actor` is the operator (or None) for commands run from the CLI."""
    user = actor if isinstance(actor, User) else None
    operator = actor.label if isinstance(actor, Operator) else "cli"
    entry = AuditLog(
        actor_id=user.id if user else None,
        actor_label=actor_label or (user.username if user else operator),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
    )
    session.add(entry)
    session.flush()
    return entry


def list_entries(session: Session, *, limit: int = 50) -> list[AuditLog]:
    """The newest audit entries first."""
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    return list(session.scalars(stmt))
