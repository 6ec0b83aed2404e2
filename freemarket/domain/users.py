"""Users and their profiles."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from freemarket.db.models import USER_ROLES, VISIBILITIES, Item, Profile, User

# Only what listing and reading users needs is imported here; what bans, edits and Telegram
# sign-ins need (exchanges -> items -> search -> the text pipeline, pydantic models) is imported
# inside those functions: `freemarket user list` answers in 0.6 s only without them (issue 12).
from freemarket.domain import audit, jsonpolicy
from freemarket.domain.actors import Actor
from freemarket.domain.permissions import (
    authorize_admin,
    authorize_owner_or_admin,
    require_admin,
    require_not_banned,
)
from freemarket.errors import Conflict, Forbidden, InvalidInput, NotFound

if TYPE_CHECKING:
    from freemarket.domain.telegram_auth import TelegramIdentity

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")


def validate_username(username: str) -> str:
    """Return the username if it is 2-64 letters, digits, `_`, `.` or `-`."""
    if not USERNAME_PATTERN.match(username):
        raise InvalidInput(
            "username must be 2-64 characters: letters, digits, '_', '.', '-'",
            code="invalid_username",
        )
    return username


def create_user(
    session: Session,
    *,
    username: str,
    telegram_id: int | None = None,
    display_name: str | None = None,
    contact: str | None = None,
    city: str | None = None,
    language: str | None = None,
    role: str = "user",
) -> User:
    """Create a user; usernames and Telegram ids are unique; no language: not chosen yet."""
    validate_username(username)
    if role not in USER_ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(USER_ROLES)}", code="invalid_role", allowed=USER_ROLES
        )
    clash = session.scalar(
        select(User).where(
            or_(
                func.lower(User.username) == username.lower(),
                User.telegram_id == telegram_id if telegram_id is not None else False,
            )
        )
    )
    if clash is not None:
        field = "username" if clash.username.lower() == username.lower() else "telegram_id"
        raise Conflict(f"a user with this {field} already exists", code="user_exists", field=field)
    user = User(
        username=username,
        telegram_id=telegram_id,
        display_name=display_name,
        contact=contact,
        city=city,
        language=language,
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def add_user(session: Session, *, actor: Actor, **fields: Any) -> User:
    """An admin (or the operator) creates an account; audited."""
    require_admin(actor)
    user = create_user(session, **fields)
    audit.record(session, actor=actor, action="create_user", target_type="user", target_id=user.id)
    return user


def sign_in_telegram(
    session: Session, *, identity: TelegramIdentity, language: str | None = None
) -> User:
    """The user with this Telegram id, created on first sign-in (username from Telegram).

    `language` is Telegram's language_code: it becomes the account's language when the account
    has none yet (a new one, or one made on the web); a chosen language is kept.
    """
    from freemarket.domain.telegram_auth import TELEGRAM_USERNAME_MAX

    user = session.scalar(select(User).where(User.telegram_id == identity.telegram_id))
    if user is not None:
        require_not_banned(user, refusal=Forbidden)
        adopt_language(user, language)
        return user
    # A Telegram username (at most 32 characters) leaves room for a "_2" suffix on a clash.
    telegram_name = identity.username or ""
    usable = len(telegram_name) <= TELEGRAM_USERNAME_MAX and USERNAME_PATTERN.match(telegram_name)
    base = telegram_name if usable else f"tg{identity.telegram_id}"
    username, suffix = base, 1
    while session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        suffix += 1
        username = f"{base}_{suffix}"
    display = " ".join(p for p in (identity.first_name, identity.last_name) if p) or None
    return create_user(
        session,
        username=username,
        telegram_id=identity.telegram_id,
        display_name=display,
        # Telegram people reach each other by @username: the natural contact until they set one.
        contact=f"@{identity.username}" if identity.username else None,
        language=supported_language(language),
    )


def supported_language(code: str | None) -> str | None:
    """ "en-GB" -> "en", "ru" -> "ru"; None for a language we do not speak."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def adopt_language(user: User, code: str | None) -> None:
    """Give an account without a language the one its client reports (Telegram, a browser).

    A language the person chose is never overridden; an unknown one leaves it unset, and every
    message to them then falls back to Russian.
    """
    if user.language is None:
        user.language = supported_language(code)


def get_user(session: Session, user_id: int) -> User:
    """The user with this id, or NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found", user_id=user_id)
    return user


def get_user_by_username(session: Session, username: str) -> User:
    """The user with this username (case-insensitive), or NotFound."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise NotFound(f"user {username!r} not found", code="user_not_found", username=username)
    return user


def list_users(
    session: Session, *, search: str | None = None, limit: int = 100, offset: int = 0
) -> list[User]:
    """Users ordered by id, optionally filtered by a username substring."""
    stmt = select(User).order_by(User.id).limit(limit).offset(offset)
    if search:
        stmt = stmt.where(User.username.ilike(f"%{search}%"))
    return list(session.scalars(stmt))


LANGUAGES = ("ru", "en")
EDITABLE_FIELDS = frozenset(
    {
        "display_name",
        "contact",
        "city",
        "language",
        "notify_telegram",
        "digest_enabled",
        "quiet_start",
        "quiet_end",
        "time_zone",
    }
)


def update_user(session: Session, *, user: User, changes: dict[str, Any]) -> User:
    """Apply editable fields (name, contact, city, language, notification settings) to a user."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(
            f"cannot change {', '.join(sorted(unknown))}",
            code="field_not_editable",
            fields=sorted(unknown),
        )
    changes = dict(changes)  # quiet hours are normalised below; the caller's dict stays
    _refuse_nulls(changes, required={"language", "notify_telegram", "digest_enabled"})
    if "language" in changes and changes["language"] not in LANGUAGES:
        raise InvalidInput("language must be ru or en", code="bad_language")
    from freemarket.domain import preferences

    if "quiet_start" in changes or "quiet_end" in changes:
        # The two hours change together: what one means depends on the other (see UserUpdate).
        if not {"quiet_start", "quiet_end"} <= changes.keys():
            raise InvalidInput("quiet_start and quiet_end change together", code="bad_quiet_hours")
        changes["quiet_start"], changes["quiet_end"] = preferences.quiet_hours(
            changes["quiet_start"], changes["quiet_end"]
        )
    if changes.get("time_zone"):
        preferences.parse_zone(changes["time_zone"])
    for key, value in changes.items():
        setattr(user, key, value)
    session.flush()
    return user


def edit_user(session: Session, *, actor: Actor, user_id: int, changes: dict[str, Any]) -> User:
    """A person (or an admin, audited) changes an account's editable fields."""
    user = get_user(session, user_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=user.id,
        action="update_user",
        target_type="user",
        target_id=user.id,
        details={"fields": sorted(changes)},
    )
    return update_user(session, user=user, changes=changes)


def _refuse_nulls(changes: dict[str, Any], *, required: set[str]) -> None:
    """Null clears an optional field; a required one cannot be cleared."""
    cleared = sorted(k for k in required if k in changes and changes[k] is None)
    if cleared:
        raise InvalidInput(
            f"{', '.join(cleared)} cannot be null", code="field_required", fields=cleared
        )


def set_banned(session: Session, *, actor: Actor, user: User, banned: bool) -> User:
    """Ban (revoke sessions, hide items, withdraw matches and open exchanges) or unban; audited."""
    from freemarket.domain import exchanges, jobs, matched, sessions

    authorize_admin(
        session,
        actor=actor,
        action="ban_user" if banned else "unban_user",
        target_type="user",
        target_id=user.id,
    )
    user.is_banned = banned
    item_ids = list(session.scalars(select(Item.id).where(Item.user_id == user.id)))
    if banned:
        sessions.revoke_all(session, user=user)
        matched.delete_matches_of_items(session, item_ids)
        exchanges.cancel_open_for_user(session, user=user)
    # Re-match the items: the worker drops them from its index, or brings them back on unban.
    for item_id in item_ids:
        jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": item_id})
    session.flush()
    return user


def set_role(session: Session, *, actor: Actor, user: User, role: str) -> User:
    """Make a user an admin or a plain user (admins and the operator only; audited)."""
    if role not in USER_ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(USER_ROLES)}", code="invalid_role", allowed=USER_ROLES
        )
    authorize_admin(
        session,
        actor=actor,
        action="promote_user" if role == "admin" else "demote_user",
        target_type="user",
        target_id=user.id,
    )
    user.role = role
    session.flush()
    return user


def _check_visibility(visibility: str) -> None:
    if visibility not in VISIBILITIES:
        raise InvalidInput(
            f"visibility must be one of {', '.join(VISIBILITIES)}",
            code="invalid_visibility",
            allowed=VISIBILITIES,
        )


def create_profile(
    session: Session,
    *,
    user: User,
    data: dict[str, Any],
    location: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    visibility: str = "public",
) -> Profile:
    """Create the user's profile; a user has at most one."""
    _check_visibility(visibility)
    if session.scalar(select(Profile.id).where(Profile.user_id == user.id)) is not None:
        raise Conflict("this user already has a profile; update it instead", code="profile_exists")
    profile = Profile(
        user_id=user.id,
        data=jsonpolicy.check_stored(data, field="data"),
        location=location,
        latitude=latitude,
        longitude=longitude,
        visibility=visibility,
    )
    session.add(profile)
    session.flush()
    return profile


def add_profile(
    session: Session, *, actor: User, owner_id: int | None, fields: dict[str, Any]
) -> Profile:
    """Create a profile for `owner_id` (default: the actor); an admin's for someone else audited."""
    owner = get_user(session, owner_id) if owner_id is not None else actor
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=owner.id,
        action="create_profile",
        target_type="profile",
        target_id=owner.id,
    )
    return create_profile(session, user=owner, **fields)


def get_profile(session: Session, user_id: int) -> Profile:
    """The profile of a user, or NotFound."""
    profile = session.scalar(select(Profile).where(Profile.user_id == user_id))
    if profile is None:
        raise NotFound(f"user {user_id} has no profile", code="profile_not_found", user_id=user_id)
    return profile


def edit_profile(
    session: Session, *, actor: Actor, user_id: int, changes: dict[str, Any]
) -> Profile:
    """The owner (or an admin, audited) changes a profile."""
    profile = get_profile(session, user_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=user_id,
        action="update_profile",
        target_type="profile",
        target_id=user_id,
        details={"fields": sorted(changes)},
    )
    return update_profile(session, profile=profile, changes=changes)


def update_profile(session: Session, *, profile: Profile, changes: dict[str, Any]) -> Profile:
    """Apply changed profile fields."""
    _refuse_nulls(changes, required={"data", "visibility"})
    if "visibility" in changes:
        _check_visibility(changes["visibility"])
    if "data" in changes:
        jsonpolicy.check_stored(changes["data"], field="data")
    for key, value in changes.items():
        setattr(profile, key, value)
    session.flush()
    return profile
