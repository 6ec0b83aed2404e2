"""Users."""

from __future__ import annotations

from fastapi import APIRouter, status

from freemarket import audit, users
from freemarket.api.deps import AdminUser, CurrentUser, DbSession, OptionalUser
from freemarket.api.schemas import UserCreate, UserPrivate, UserPublic, UserUpdate
from freemarket.models import User
from freemarket.permissions import authorize_owner_or_admin

router = APIRouter(prefix="/api/users", tags=["users"])


def render_user(user: User, viewer: User | None) -> UserPublic | UserPrivate:
    """The user's private view for themselves and admins, the public one for anyone else."""
    if viewer is not None and (viewer.id == user.id or viewer.is_admin):
        return UserPrivate.model_validate(user)
    return UserPublic.model_validate(user)


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=UserPrivate)
def create_user(body: UserCreate, db: DbSession, admin: AdminUser) -> UserPrivate:
    """Create a user (admins only)."""
    user = users.create_user(db, **body.model_dump())
    audit.record(db, actor=admin, action="create_user", target_type="user", target_id=user.id)
    return UserPrivate.model_validate(user)


@router.get("/me", response_model=UserPrivate)
def me(user: CurrentUser) -> UserPrivate:
    """The signed-in user's own account."""
    return UserPrivate.model_validate(user)


@router.get("/{user_id}", response_model=UserPrivate | UserPublic)
def get_user(user_id: int, db: DbSession, viewer: OptionalUser) -> UserPublic | UserPrivate:
    """A user: public fields only, unless it is you or you are an admin."""
    return render_user(users.get_user(db, user_id), viewer)


@router.patch("/{user_id}", response_model=UserPrivate)
def update_user(user_id: int, body: UserUpdate, db: DbSession, actor: CurrentUser) -> UserPrivate:
    """Change your display name, contact, city or language."""
    user = users.get_user(db, user_id)
    changes = body.model_dump(exclude_unset=True)
    authorize_owner_or_admin(
        db,
        actor=actor,
        owner_id=user.id,
        action="update_user",
        target_type="user",
        target_id=user.id,
        details={"fields": sorted(changes)},
    )
    return UserPrivate.model_validate(users.update_user(db, user=user, changes=changes))
