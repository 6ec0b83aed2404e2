"""Profiles."""

from __future__ import annotations

from fastapi import APIRouter, status

from freemarket.api.deps import OPTIONAL_AUTH, CurrentUser, DbSession, OptionalUser
from freemarket.api.schemas import PathId, ProfileCreate, ProfileOut, ProfileUpdate
from freemarket.domain import public_profile, users

router = APIRouter(prefix="/api/profiles", tags=["profiles"])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ProfileOut)
def create_profile(body: ProfileCreate, db: DbSession, actor: CurrentUser) -> ProfileOut:
    """Create your profile (an admin may create one for `user_id`)."""
    fields = body.model_dump(exclude={"user_id"})
    return ProfileOut.model_validate(
        users.add_profile(db, actor=actor, owner_id=body.user_id, fields=fields)
    )


@router.get("/{user_id}", response_model=ProfileOut, openapi_extra=OPTIONAL_AUTH)
def get_profile(user_id: PathId, db: DbSession, viewer: OptionalUser) -> ProfileOut:
    """A profile: public to all, `matches` to people matched with its owner, `private` to none."""
    return ProfileOut.model_validate(
        public_profile.get_visible_profile(db, user_id=user_id, viewer=viewer)
    )


@router.patch("/{user_id}", response_model=ProfileOut)
def update_profile(
    user_id: PathId, body: ProfileUpdate, db: DbSession, actor: CurrentUser
) -> ProfileOut:
    """Change your profile."""
    changes = body.model_dump(exclude_unset=True)
    return ProfileOut.model_validate(
        users.edit_profile(db, actor=actor, user_id=user_id, changes=changes)
    )
