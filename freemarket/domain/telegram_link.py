"""Link a Telegram account to an account made on the web or the CLI: one-time link codes.

The signed-in person asks for a code (web settings); the bot receives it as the deep link
`/start link_<code>` from the Telegram account to link. Codes live in the login-code table
under their own hash domain, so a link code never signs anyone in to the web and a login code
never links a Telegram account.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, delete, exists, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import (
    AuditLog,
    AuthSession,
    Base,
    LoginCode,
    Notification,
    Profile,
    Report,
    User,
    utcnow,
)
from freemarket.domain import audit, sessions, users
from freemarket.domain.permissions import require_not_banned
from freemarket.domain.telegram_auth import TelegramIdentity
from freemarket.errors import Conflict, Forbidden, Unauthenticated

# What the bot receives after /start; Telegram allows 64 characters of [A-Za-z0-9_-] there.
START_PREFIX = "link_"
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,59}$")
_START_COMMAND = re.compile(r"^/start(?:@\w+)?\s+link_([A-Za-z0-9_-]{16,59})\s*$")


@dataclass(frozen=True, slots=True)
class TelegramLink:
    """A freshly issued link code: what to send the bot, and where to open it when known."""

    code: str
    start_payload: str
    url: str | None
    expires_at: datetime


def _hash(code: str) -> str:
    # Its own hash domain: the same table as login codes, never interchangeable with them.
    return sessions.hash_token(f"telegram-link:{code}")


def issue_link_code(
    session: Session, *, actor: User, ttl: timedelta, bot_username: str | None = None
) -> TelegramLink:
    """A one-time code that links the Telegram account which sends it to `actor`; audited."""
    require_not_banned(actor, refusal=Forbidden)
    code = secrets.token_urlsafe(24)
    expires_at = utcnow() + ttl
    session.add(LoginCode(user_id=actor.id, code_hash=_hash(code), expires_at=expires_at))
    audit.record(
        session, actor=actor, action="issue_telegram_link", target_type="user", target_id=actor.id
    )
    payload = START_PREFIX + code
    url = f"https://t.me/{bot_username}?start={payload}" if bot_username else None
    return TelegramLink(code=code, start_payload=payload, url=url, expires_at=expires_at)


def code_in_command(text: str | None) -> str | None:
    """The link code of a `/start link_<code>` message, or None for any other text."""
    found = _START_COMMAND.match(text or "")
    return found.group(1) if found else None


# What an empty placeholder account may hold, and what becomes of it when the account is given
# up: moved to the account it joins (the same person proved both), or dropped because it only
# opens the placeholder itself. Anything else (listings, exchanges, ratings, or a table added
# later) means the account is not a placeholder, and linking is refused: nothing is lost quietly.
_MOVED: tuple[Column[Any], ...] = (
    Report.__table__.c.reporter_id,
    Report.__table__.c.reported_user_id,
    Notification.__table__.c.user_id,
    AuditLog.__table__.c.actor_id,
)
_DROPPED: tuple[Column[Any], ...] = (AuthSession.__table__.c.user_id, LoginCode.__table__.c.user_id)
_PROFILE = Profile.__table__.c.user_id


def _references_to_users() -> list[Column[Any]]:
    """Every column of the schema that points at a user."""
    return [
        fk.parent
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == User.__tablename__
    ]


def is_placeholder(session: Session, user: User) -> bool:
    """Whether `user` holds nothing a link could not move or drop (it may be given up)."""
    kept = {*_MOVED, *_DROPPED, _PROFILE}
    return not any(
        session.scalar(select(exists().where(column == user.id)))
        for column in _references_to_users()
        if column not in kept
    )


def _give_up_placeholder(session: Session, *, holder: User, target: User) -> dict[str, Any]:
    """Move what the placeholder `holder` holds to `target`, delete it, return what was dropped.

    Its sessions and sign-in codes go with it (ON DELETE CASCADE). Its profile moves when
    `target` has none; otherwise the target's own is kept and the placeholder's is returned, to
    be kept in the audit entry.
    """
    for column in _MOVED:
        session.execute(
            update(column.table).where(column == holder.id).values({column.name: target.id})
        )
    dropped: dict[str, Any] = {}
    theirs = session.scalar(select(Profile).where(Profile.user_id == holder.id))
    if theirs is not None:
        if session.scalar(select(exists().where(target.id == _PROFILE))):
            dropped = {
                "data": theirs.data,
                "location": theirs.location,
                "latitude": theirs.latitude,
                "longitude": theirs.longitude,
                "visibility": theirs.visibility,
            }
        else:
            theirs.user_id = target.id
        session.flush()
    session.execute(delete(User).where(User.id == holder.id))
    session.expunge(holder)
    # Rows already loaded may still name the placeholder: read them again from the database.
    session.flush()
    session.expire_all()
    return dropped


def link_telegram(
    session: Session, *, code: str, identity: TelegramIdentity, language: str | None = None
) -> User:
    """Spend a link code: the account that issued it now signs in with this Telegram account.

    A Telegram account that already made its own empty account (it pressed /start before
    linking) gives it up, its reports, notifications and profile moving to the linked account;
    one with listings or exchanges of its own, or a banned one, is refused: nothing is merged
    or lost silently.
    """
    row = session.scalar(
        select(LoginCode).where(LoginCode.code_hash == _hash(code)).with_for_update()
    )
    if row is None or row.used_at is not None:
        raise Unauthenticated(
            "this link code is invalid or was already used", code="telegram_link_invalid"
        )
    if row.expires_at <= utcnow():
        raise Unauthenticated(
            "this link code has expired; ask for a new one", code="telegram_link_expired"
        )
    row.used_at = utcnow()
    target = users.get_user(session, row.user_id)
    require_not_banned(target, refusal=Forbidden)
    holder = session.scalar(select(User).where(User.telegram_id == identity.telegram_id))
    released: int | None = None
    dropped_profile: dict[str, Any] = {}
    if holder is not None and holder.id != target.id:
        # Giving up a banned account would lift its ban from this Telegram account.
        require_not_banned(holder, refusal=Forbidden)
        if not is_placeholder(session, holder):
            raise Conflict(
                "this Telegram account already has its own FreeMarket account with listings",
                code="telegram_in_use",
                username=holder.username,
            )
        released = holder.id
        dropped_profile = _give_up_placeholder(session, holder=holder, target=target)
    previous = target.telegram_id
    target.telegram_id = identity.telegram_id
    if target.contact is None and identity.username:
        target.contact = f"@{identity.username}"
    users.adopt_language(target, language)
    audit.record(
        session,
        actor=target,
        action="link_telegram",
        target_type="user",
        target_id=target.id,
        details={
            "previous_telegram_id": previous,
            "released_user_id": released,
            **({"dropped_profile": dropped_profile} if dropped_profile else {}),
        },
    )
    session.flush()
    return target
