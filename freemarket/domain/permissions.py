"""Who may change what: owners act on their own things, admins on anything (audited)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from freemarket.db.models import User
from freemarket.domain import audit
from freemarket.errors import Forbidden


def authorize_owner_or_admin(
    session: Session,
    *,
    actor: User,
    owner_id: int,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """Allow the owner; allow an admin and audit it; refuse anyone else."""
    if actor.id == owner_id:
        return
    if actor.is_admin:
        audit.record(
            session,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
        )
        return
    raise Forbidden(
        f"you may not {action.replace('_', ' ')} another user's {target_type}",
        code="not_owner",
        action=action,
        target_type=target_type,
    )
