"""A person as others see them: the public profile page, who may see what, how to reach them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Select, bindparam, false, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Exchange, ExchangeParty, Profile, Rating, User
from freemarket.domain import exchanges, matched, ratings, users, visibility
from freemarket.domain.actors import is_self_or_admin
from freemarket.errors import NotFound

# A contact that is a Telegram handle: "@name", "t.me/name" or "https://t.me/name".
TELEGRAM_HANDLE = re.compile(r"^(?:@|(?:https?://)?t\.me/)([A-Za-z][A-Za-z0-9_]{3,31})$")


def may_see_profile(
    session: Session, *, visibility: str, owner_id: int, viewer: User | None
) -> bool:
    """Public to all, `matches` to people matched with the owner, `private` to the owner only."""
    if visibility == "public":
        return True
    if viewer is None:
        return False
    if is_self_or_admin(viewer, owner_id):
        return True
    return visibility == "matches" and matched.have_matched(session, owner_id, viewer.id)


def visible_city(session: Session, *, user: User, viewer: User | None) -> str | None:
    """The user's city unless they hid it (`hide_city` in their profile, or a hidden profile)."""
    if is_self_or_admin(viewer, user.id):
        return user.city
    profile = session.execute(
        select(Profile.visibility, Profile.data).where(Profile.user_id == user.id)
    ).one_or_none()
    return _shown_city(
        session, user=user, viewer=viewer, profile=None if profile is None else tuple(profile)
    )


def _shown_city(
    session: Session, *, user: User, viewer: User | None, profile: tuple[Any, ...] | None
) -> str | None:
    """`visible_city` for someone else, given their profile's (visibility, data) or None."""
    if profile is None:
        return user.city
    shown_to, data = profile
    if data.get("hide_city") is True:
        return None
    if not may_see_profile(session, visibility=shown_to, owner_id=user.id, viewer=viewer):
        return None
    return user.city


@dataclass(frozen=True, slots=True)
class PersonView:
    """How much of a user `viewer` sees: everything, public fields and contact, or public only."""

    level: Literal["private", "contact", "public"]
    city: str | None
    message_url: str | None = None


def _view(user: User, *, city: str | None, contact: bool) -> PersonView:
    if contact:
        return PersonView(level="contact", city=city, message_url=message_link(user))
    return PersonView(level="public", city=city)


def may_see_contact(session: Session, *, user: User, viewer: User | None) -> bool:
    """Contacts are for the person, admins, and partners in an accepted or completed exchange."""
    if viewer is None:
        return False
    if is_self_or_admin(viewer, user.id):
        return True
    return bool(session.scalar(select(exchanges.shared_an_accepted_exchange(user.id, viewer.id))))


def view_person(session: Session, *, user: User, viewer: User | None) -> PersonView:
    """A user as `viewer` sees them: self and admins all, exchange partners the contact too."""
    if is_self_or_admin(viewer, user.id):
        return PersonView(level="private", city=user.city)
    city = visible_city(session, user=user, viewer=viewer)
    return _view(user, city=city, contact=may_see_contact(session, user=user, viewer=viewer))


def _person_statement(viewer_id: Any) -> Select[Any]:
    contact = (
        exchanges.shared_an_accepted_exchange(User.id, viewer_id)
        if viewer_id is not None
        else false()
    )
    return (
        select(User, Profile.visibility, Profile.data, contact.label("contact"))
        .outerjoin(Profile, Profile.user_id == User.id)
        .where(User.id == bindparam("user_id"))
    )


# Built once each: `GET /api/users/{id}` is a hot read (issue 14).
_PERSON_ANONYMOUS = _person_statement(None)
_PERSON_SEEN_BY = _person_statement(bindparam("viewer_id"))


def person(session: Session, *, user_id: int, viewer: User | None) -> tuple[User, PersonView]:
    """The user with this id (NotFound) and `view_person` of them, in one statement."""
    if is_self_or_admin(viewer, user_id):
        user = users.get_user(session, user_id)
        return user, view_person(session, user=user, viewer=viewer)
    if viewer is None:
        row = session.execute(_PERSON_ANONYMOUS, {"user_id": user_id}).one_or_none()
    else:
        params = {"user_id": user_id, "viewer_id": viewer.id}
        row = session.execute(_PERSON_SEEN_BY, params).one_or_none()
    if row is None:
        raise NotFound(f"user {user_id} not found", code="user_not_found", user_id=user_id)
    user, shown_to, data, contact = row
    profile = None if shown_to is None else (shown_to, data)
    city = _shown_city(session, user=user, viewer=viewer, profile=profile)
    return user, _view(user, city=city, contact=bool(contact))


def get_visible_profile(session: Session, *, user_id: int, viewer: User | None) -> Profile:
    """A profile as `viewer` may see it, or NotFound (a private profile's existence is private)."""
    profile = users.get_profile(session, user_id)
    if not may_see_profile(session, visibility=profile.visibility, owner_id=user_id, viewer=viewer):
        raise NotFound(f"user {user_id} has no profile", code="profile_not_found", user_id=user_id)
    return profile


def message_link(user: User) -> str | None:
    """A link that opens a chat with the user in Telegram, when there is a way to know one.

    A contact written as a Telegram handle gives https://t.me/<handle>; otherwise an account
    signed in through Telegram can be reached by id (tg://user?id=..., Telegram's own apps).
    """
    handle = TELEGRAM_HANDLE.match((user.contact or "").strip())
    if handle:
        return f"https://t.me/{handle.group(1)}"
    if user.telegram_id is not None:
        return f"tg://user?id={user.telegram_id}"
    return None


@dataclass(frozen=True, slots=True)
class Review:
    """A revealed rating and who gave it."""

    rating: Rating
    reviewer: User


@dataclass(slots=True)
class PublicProfile:
    """Everything the profile page shows about a person."""

    user: User
    city: str | None
    about: str | None
    completed_exchanges: int
    trust: ratings.TrustExplanation
    reviews: list[Review] = field(default_factory=list)


def completed_exchange_count(session: Session, *, user_id: int) -> int:
    """How many exchanges the user took part in to the end."""
    return int(
        session.scalar(
            select(func.count(ExchangeParty.id))
            .join(Exchange, Exchange.id == ExchangeParty.exchange_id)
            .where(ExchangeParty.user_id == user_id, Exchange.status == "completed")
        )
        or 0
    )


def public_profile(
    session: Session,
    *,
    user_id: int,
    viewer: User | None,
    policy: ratings.TrustPolicy,
) -> PublicProfile:
    """The profile page of a user as `viewer` sees it (anyone may look; banned users: 404)."""
    user = users.get_user(session, user_id)
    if not visibility.may_see_user(user, viewer=viewer):
        raise NotFound(f"user {user_id} not found", code="user_not_found", user_id=user_id)
    profile = session.scalar(select(Profile).where(Profile.user_id == user.id))
    about = None
    if profile is not None and may_see_profile(
        session, visibility=profile.visibility, owner_id=user.id, viewer=viewer
    ):
        text = profile.data.get("about")
        about = text if isinstance(text, str) and text.strip() else None
    ratings.reveal_due(session, policy=policy, user_id=user.id)
    shown = ratings.visible_ratings(session, user_id=user.id)
    reviewers = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({r.from_user_id for r in shown})))
    }
    return PublicProfile(
        user=user,
        city=visible_city(session, user=user, viewer=viewer),
        about=about,
        completed_exchanges=completed_exchange_count(session, user_id=user.id),
        trust=ratings.explain_trust(session, user_id=user.id, policy=policy),
        reviews=[Review(rating=r, reviewer=reviewers[r.from_user_id]) for r in shown],
    )
