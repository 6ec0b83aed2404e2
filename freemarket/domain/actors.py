"""Who acts: a signed-in user, or the operator at the server's command line."""

from __future__ import annotations

from dataclasses import dataclass

from freemarket.db.models import User


@dataclass(frozen=True, slots=True)
class Operator:
    """Whoever runs `freemarket` on the server: an admin's rights, audited under `label`."""

    label: str = "cli"


# The CLI's actor: shell access to the server already is every right there is.
OPERATOR = Operator()

Actor = User | Operator


def is_admin(actor: Actor | None) -> bool:
    """True for admins and the operator."""
    return isinstance(actor, Operator) or (actor is not None and actor.is_admin)


def label(actor: Actor) -> str:
    """How the audit log and moderation records name the actor."""
    return actor.label if isinstance(actor, Operator) else actor.username


def user_id(actor: Actor | None) -> int | None:
    """The acting user's id (None for the operator and for nobody)."""
    return actor.id if isinstance(actor, User) else None


def is_self_or_admin(actor: Actor | None, user_id: int) -> bool:
    """True when the actor is this user, an admin, or the operator."""
    return is_admin(actor) or (isinstance(actor, User) and actor.id == user_id)
