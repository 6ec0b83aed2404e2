"""Users."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from freemarket.api.deps import (
    OPTIONAL_AUTH,
    READ_AUTH,
    AdminUser,
    AppSettings,
    CurrentUser,
    DbSession,
    OptionalUser,
    read_in_one_hop,
    require_bot_token,
)
from freemarket.api.render import json_response
from freemarket.api.schemas import (
    PathId,
    PublicProfileOut,
    RatingOut,
    ReviewerOut,
    ReviewOut,
    TelegramLinkOut,
    TrustOut,
    UserContact,
    UserCreate,
    UserPrivate,
    UserPublic,
    UserUpdate,
)
from freemarket.db.models import User
from freemarket.domain import public_profile, ratings, users
from freemarket.domain import telegram_link as telegram_link_domain

router = APIRouter(prefix="/api/users", tags=["users"])


def render_user(
    user: User, view: public_profile.PersonView
) -> UserPublic | UserContact | UserPrivate:
    """The user in the schema of what the viewer may see (public_profile decides the view)."""
    if view.level == "private":
        return UserPrivate.model_validate(user)
    if view.level == "contact":
        contact = UserContact.model_validate(user)
        return contact.model_copy(update={"city": view.city, "message_url": view.message_url})
    return UserPublic.model_validate(user).model_copy(update={"city": view.city})


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=UserPrivate)
def create_user(body: UserCreate, db: DbSession, admin: AdminUser) -> UserPrivate:
    """Create a user (admins only)."""
    user = users.add_user(db, actor=admin, **body.model_dump())
    return UserPrivate.model_validate(user)


@router.get("/me", response_model=UserPrivate)
def me(user: CurrentUser) -> UserPrivate:
    """The signed-in user's own account."""
    return UserPrivate.model_validate(user)


@router.post("/me/telegram-link", response_model=TelegramLinkOut)
def telegram_link(db: DbSession, user: CurrentUser, settings: AppSettings) -> TelegramLinkOut:
    """A one-time code linking the Telegram account that sends it to the bot to this account."""
    # Without a bot nobody could ever send the code: say so instead of issuing one.
    require_bot_token(settings)
    link = telegram_link_domain.issue_link_code(
        db,
        actor=user,
        ttl=timedelta(minutes=settings.login_code_ttl_minutes),
        bot_username=settings.telegram_bot_username,
    )
    return TelegramLinkOut(
        start_payload=link.start_payload, url=link.url, expires_at=link.expires_at
    )


@router.get(
    "/{user_id:int}",
    response_model=UserPrivate | UserContact | UserPublic,
    openapi_extra=READ_AUTH["optional"],
)
async def get_user(request: Request, user_id: PathId) -> Response:
    """A user: public fields; contact only for you, admins and partners of an accepted deal."""
    return await read_in_one_hop(request, "optional", _get_user, user_id)


def _get_user(db: Session, viewer: User | None, user_id: int) -> Response:
    # A read that never writes: ratings whose reveal period ended are revealed by the worker's
    # loop (MatchWorker.run_once), and a rating back reveals both at once (ratings.create_rating).
    user, view = public_profile.person(db, user_id=user_id, viewer=viewer)
    return json_response(render_user(user, view))


@router.get("/{user_id:int}/ratings", response_model=list[RatingOut])
def user_ratings(user_id: PathId, db: DbSession, settings: AppSettings) -> list[RatingOut]:
    """Ratings the user received, once the other side rated too or the reveal period passed."""
    users.get_user(db, user_id)
    ratings.reveal_due(db, policy=ratings.TrustPolicy.from_settings(settings), user_id=user_id)
    return [RatingOut.model_validate(r) for r in ratings.visible_ratings(db, user_id=user_id)]


@router.get("/{user_id:int}/profile", response_model=PublicProfileOut, openapi_extra=OPTIONAL_AUTH)
def profile_page(
    user_id: PathId, db: DbSession, viewer: OptionalUser, settings: AppSettings
) -> PublicProfileOut:
    """A person's profile page: trust and why, revealed reviews, completed exchanges."""
    page = public_profile.public_profile(
        db,
        user_id=user_id,
        viewer=viewer,
        policy=ratings.TrustPolicy.from_settings(settings),
    )
    trust = page.trust
    counted = trust.counted
    return PublicProfileOut(
        id=page.user.id,
        username=page.user.username,
        display_name=page.user.display_name,
        city=page.city,
        about=page.about,
        member_since=page.user.created_at,
        completed_exchanges=page.completed_exchanges,
        trust=TrustOut(
            score=trust.score,
            counted=len(counted),
            ignored=len(trust.ignored),
            counterparties=trust.counterparties,
            mean_of_counted=round(sum(r.score for r in counted) / len(counted), 2)
            if counted
            else None,
            prior_mean=trust.policy.prior_mean,
            prior_weight=trust.policy.prior_weight,
            window_days=trust.policy.window_days,
        ),
        reviews=[
            ReviewOut(
                id=r.rating.id,
                score=r.rating.score,
                comment=r.rating.comment,
                created_at=r.rating.created_at,
                reviewer=ReviewerOut.model_validate(r.reviewer),
            )
            for r in page.reviews
        ],
    )


@router.patch("/{user_id:int}", response_model=UserPrivate)
def update_user(
    user_id: PathId, body: UserUpdate, db: DbSession, actor: CurrentUser
) -> UserPrivate:
    """Change your display name, contact, city or language."""
    changes = body.model_dump(exclude_unset=True)
    return UserPrivate.model_validate(
        users.edit_user(db, actor=actor, user_id=user_id, changes=changes)
    )
