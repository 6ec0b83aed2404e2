"""Who may change what: owners act on their own things, admins on anything (audited).

Every domain function that changes something on someone's behalf takes the acting user (or the
CLI's operator) and calls one of these before it writes; admin actions on other people's things
and every operator action leave an audit entry. Routers, CLI commands and bot handlers only pass
the actor along.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from freemarket.db.models import User
from freemarket.domain import actors, audit
from freemarket.domain.actors import Actor, is_admin, is_self_or_admin
from freemarket.errors import DomainError, Forbidden, Unauthenticated


def authorize_owner_or_admin(
    session: Session,
    *,
    actor: Actor,
    owner_id: int,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """Allow the owner; allow an admin (or the operator) and audit it; refuse anyone else."""
    if actors.user_id(actor) == owner_id:
        return
    if is_admin(actor):
        authorize_admin(
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


def require_not_banned(user: User, *, refusal: type[DomainError] = Unauthenticated) -> None:
    """Refuse a banned account: no session, sign-in code or Telegram link is issued for it.

    Credentials answer 401 (Unauthenticated); the Telegram paths, where the person is already
    proven by Telegram's signature, answer 403 (Forbidden) as before.
    """
    if user.is_banned:
        raise refusal("this account is banned", code="account_banned")


def require_admin(actor: Actor) -> None:
    """Refuse anyone but an admin or the operator."""
    if not is_admin(actor):
        raise Forbidden("this action needs an admin", code="admin_required")


def authorize_admin(
    session: Session,
    *,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    details: dict[str, Any] | None = None,
) -> None:
    """Allow an admin (or the operator) and audit the action; refuse anyone else."""
    require_admin(actor)
    audit.record(
        session,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details,
    )


def require_self_or_admin(actor: Actor, *, owner_id: int, message: str, code: str) -> None:
    """Allow a person to read their own things and an admin anyone's; refuse others."""
    if not is_self_or_admin(actor, owner_id):
        raise Forbidden(message, code=code)
