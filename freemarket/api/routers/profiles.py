"""Profiles."""

from __future__ import annotations

from fastapi import APIRouter, status

from freemarket.api.deps import OPTIONAL_AUTH, CurrentUser, DbSession, OptionalUser
from freemarket.api.schemas import PathId, ProfileCreate, ProfileOut, ProfileUpdate
from freemarket.domain import public_profile, users
from freemarket.domain.permissions import authorize_owner_or_admin
from freemarket.errors import NotFound

router = APIRouter(prefix="/api/profiles", tags=["profiles"])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ProfileOut)
def create_profile(body: ProfileCreate, db: DbSession, actor: CurrentUser) -> ProfileOut:
    """Create your profile (an admin may create one for `user_id`)."""
    owner = users.get_user(db, body.user_id) if body.user_id is not None else actor
    authorize_owner_or_admin(
        db,
        actor=actor,
        owner_id=owner.id,
        action="create_profile",
        target_type="profile",
        target_id=owner.id,
    )
    fields = body.model_dump(exclude={"user_id"})
    return ProfileOut.model_validate(users.create_profile(db, user=owner, **fields))


@router.get("/{user_id}", response_model=ProfileOut, openapi_extra=OPTIONAL_AUTH)
def get_profile(user_id: PathId, db: DbSession, viewer: OptionalUser) -> ProfileOut:
    """A profile: public to all, `matches` to people matched with its owner, `private` to none."""
    profile = users.get_profile(db, user_id)
    if not public_profile.may_see_profile(
        db, visibility=profile.visibility, owner_id=user_id, viewer=viewer
    ):
        # Say "not found" rather than "forbidden" so a private profile's existence stays private.
        raise NotFound(f"user {user_id} has no profile", code="profile_not_found", user_id=user_id)
    return ProfileOut.model_validate(profile)


@router.patch("/{user_id}", response_model=ProfileOut)
def update_profile(
    user_id: PathId, body: ProfileUpdate, db: DbSession, actor: CurrentUser
) -> ProfileOut:
    """Change your profile."""
    profile = users.get_profile(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    authorize_owner_or_admin(
        db,
        actor=actor,
        owner_id=user_id,
        action="update_profile",
        target_type="profile",
        target_id=user_id,
        details={"fields": sorted(changes)},
    )
    return ProfileOut.model_validate(users.update_profile(db, profile=profile, changes=changes))
