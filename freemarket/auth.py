"""Sign-in sessions: opaque random tokens, stored only as SHA-256 hashes, with expiry."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from freemarket.errors import Unauthenticated
from freemarket.models import AuthSession, User, utcnow

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly issued token: the only moment its plain value exists."""

    token: str
    session: AuthSession


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session, *, user: User, ttl: timedelta, origin: str = "cli"
) -> IssuedToken:
    """Create a session for `user` valid for `ttl`, returning the plain token once."""
    if user.is_banned:
        raise Unauthenticated(f"user {user.username} is banned")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    auth_session = AuthSession(
        user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + ttl, origin=origin
    )
    session.add(auth_session)
    session.flush()
    return IssuedToken(token=token, session=auth_session)


def authenticate(session: Session, *, token: str) -> User:
    """The user a token belongs to; raises Unauthenticated for unknown, expired or revoked."""
    auth_session = session.scalar(
        select(AuthSession).where(AuthSession.token_hash == hash_token(token))
    )
    now = utcnow()
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthenticated("invalid or revoked session token")
    if auth_session.expires_at <= now:
        raise Unauthenticated("session expired; sign in again")
    user = auth_session.user
    if user.is_banned:
        raise Unauthenticated("this account is banned")
    auth_session.last_used_at = now
    return user


def revoke_all(session: Session, *, user: User) -> int:
    """Revoke every live session of `user`; returns how many were revoked."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
