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

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, LoginCode, User, utcnow
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


def has_listings(session: Session, user: User) -> bool:
    """Whether `user` ever posted anything (then their account is theirs, not a placeholder)."""
    return bool(session.scalar(select(exists().where(Item.user_id == user.id))))


def link_telegram(
    session: Session, *, code: str, identity: TelegramIdentity, language: str | None = None
) -> User:
    """Spend a link code: the account that issued it now signs in with this Telegram account.

    A Telegram account that already made its own empty account (it pressed /start before
    linking) gives it up; one with listings of its own is refused, nothing is merged silently.
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
    if holder is not None and holder.id != target.id:
        if has_listings(session, holder):
            raise Conflict(
                "this Telegram account already has its own FreeMarket account with listings",
                code="telegram_in_use",
                username=holder.username,
            )
        released = holder.id
        # Its sessions, codes and notifications go with it (ON DELETE CASCADE).
        session.execute(delete(User).where(User.id == holder.id))
        session.expunge(holder)
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
        details={"previous_telegram_id": previous, "released_user_id": released},
    )
    session.flush()
    return target
