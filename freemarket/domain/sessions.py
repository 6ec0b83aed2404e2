"""Sign-in sessions: opaque random tokens, stored only as SHA-256 hashes, with expiry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import AuthSession, LoginCode, UsedNonce, User, utcnow
from freemarket.domain import actors, audit
from freemarket.domain.actors import Actor, Operator
from freemarket.domain.permissions import (
    authorize_owner_or_admin,
    require_admin,
    require_not_banned,
)
from freemarket.errors import Unauthenticated

TOKEN_BYTES = 32
# How stale `last_used_at` may get. Writing it on every request made every authenticated read
# a write, and concurrent requests with one token queued on that row's lock (issue 14); to
# know who is active (or how old a session is) minutes are precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=5)


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
    require_not_banned(user)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    auth_session = AuthSession(
        user_id=user.id, token_hash=hash_token(token), expires_at=utcnow() + ttl, origin=origin
    )
    session.add(auth_session)
    session.flush()
    return IssuedToken(token=token, session=auth_session)


# A session's state and its user, one statement built once: it runs on every authenticated
# request, where an ORM `AuthSession` with its user eager-loaded, and building the statement
# anew, cost more than the lookup itself (issue 14).
_SESSION_OF_TOKEN = (
    select(
        User,
        AuthSession.id,
        AuthSession.expires_at,
        AuthSession.last_used_at,
        AuthSession.revoked_at,
    )
    .join(AuthSession, AuthSession.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
# Concurrent requests of one session all see the stale value; one writes it and the others
# skip the row it has locked instead of queueing behind that lock.
_TOUCH = (
    update(AuthSession)
    .where(
        AuthSession.id.in_(
            select(AuthSession.id)
            .where(
                AuthSession.id == bindparam("session_id"),
                or_(
                    AuthSession.last_used_at.is_(None),
                    AuthSession.last_used_at < bindparam("stale_before"),
                ),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


def authenticate(session: Session, *, token: str) -> User:
    """The user a token belongs to; raises Unauthenticated for unknown, expired or revoked."""
    found = session.execute(_SESSION_OF_TOKEN, {"token_hash": hash_token(token)}).one_or_none()
    now = utcnow()
    if found is None or found.revoked_at is not None:
        raise Unauthenticated("invalid or revoked session token", code="session_invalid")
    user, session_id, expires_at, last_used, _ = found
    if expires_at <= now:
        raise Unauthenticated("session expired; sign in again", code="session_expired")
    require_not_banned(user)
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        params = {"session_id": session_id, "stale_before": now - LAST_USED_RESOLUTION, "now": now}
        session.execute(_TOUCH, params)
    return user


def revoke(session: Session, *, token: str) -> bool:
    """Revoke one session by its token; False if it was unknown or already revoked."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.token_hash == hash_token(token), AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def csrf_token(token: str, *, secret_key: str) -> str:
    """The CSRF token that goes with a cookie session: derived, so nothing extra is stored."""
    return hmac.new(secret_key.encode(), b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def issue_login_code(session: Session, *, user: User, ttl: timedelta) -> str:
    """A one-time sign-in code for `user`, valid for `ttl`; only its hash is stored."""
    require_not_banned(user)
    code = secrets.token_urlsafe(24)
    session.add(LoginCode(user_id=user.id, code_hash=hash_token(code), expires_at=utcnow() + ttl))
    session.flush()
    return code


@dataclass(frozen=True, slots=True)
class LoginLink:
    """A one-time sign-in link to the web UI and how long it lasts."""

    url: str
    code: str
    ttl: timedelta


def issue_login_link(
    session: Session, *, user: User, actor: Actor, ttl: timedelta, public_url: str
) -> LoginLink:
    """A one-time link that signs `user` in to the web UI: theirs, or an admin's; audited."""
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=user.id,
        action="issue_login_link",
        target_type="user",
        target_id=user.id,
    )
    if actors.user_id(actor) == user.id:
        # People asking for their own link are audited too: a link is a credential.
        audit.record(
            session, actor=actor, action="issue_login_link", target_type="user", target_id=user.id
        )
    code = issue_login_code(session, user=user, ttl=ttl)
    return LoginLink(url=f"{public_url.rstrip('/')}/login?code={code}", code=code, ttl=ttl)


def redeem_login_code(session: Session, *, code: str) -> User:
    """The user a code signs in; the code is spent, and an expired or spent one is refused."""
    login = session.scalar(
        select(LoginCode).where(LoginCode.code_hash == hash_token(code)).with_for_update()
    )
    now = utcnow()
    if login is None or login.used_at is not None:
        raise Unauthenticated(
            "this login link is invalid or was already used", code="login_link_invalid"
        )
    if login.expires_at <= now:
        raise Unauthenticated(
            "this login link has expired; ask for a new one", code="login_link_expired"
        )
    login.used_at = now
    user = session.get(User, login.user_id)
    if user is None:  # deleted since the code was issued
        raise Unauthenticated("this account cannot sign in", code="account_banned")
    require_not_banned(user)
    session.flush()
    return user


def spend_nonce(session: Session, *, nonce: str, expires_at: datetime) -> None:
    """Remember a one-time value; Unauthenticated if it was seen before (a replay)."""
    key = hash_token(nonce)
    session.execute(delete(UsedNonce).where(UsedNonce.expires_at < utcnow()))
    if session.get(UsedNonce, key) is not None:
        raise Unauthenticated("this sign-in payload was already used", code="signin_replayed")
    session.add(UsedNonce(nonce_hash=key, expires_at=expires_at))
    session.flush()


def revoke_all(session: Session, *, user: User) -> int:
    """Revoke every live session of `user`; returns how many were revoked."""
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def sign_out_everywhere(session: Session, *, actor: Actor, user: User) -> int:
    """An admin (or the operator) revokes every session of `user`; audited, returns how many."""
    require_admin(actor)
    revoked = revoke_all(session, user=user)
    audit.record(
        session,
        actor=actor,
        action="logout_all",
        target_type="user",
        target_id=user.id,
        details={"revoked": revoked},
    )
    return revoked


def grant_token(session: Session, *, actor: Actor, user: User, ttl: timedelta) -> IssuedToken:
    """An admin (or the operator) issues a session token for `user` (scripts, API clients)."""
    require_admin(actor)
    # The origin column is short: the operator's label, or "admin" for a signed-in admin.
    origin = actor.label if isinstance(actor, Operator) else "admin"
    issued = issue_token(session, user=user, ttl=ttl, origin=origin)
    audit.record(session, actor=actor, action="issue_token", target_type="user", target_id=user.id)
    return issued
