"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from freemarket.fields import (
    City,
    Contact,
    Description,
    Kind,
    Language,
    Latitude,
    Longitude,
    Slug,
    TelegramId,
    Title,
    Username,
    Visibility,
)
from freemarket.models import COMMENT_MAX


class Strict(BaseModel):
    """Request bodies reject unknown fields, so a typo is an error and not silently lost."""

    model_config = ConfigDict(extra="forbid")


class Message(BaseModel):
    """An error or status message."""

    detail: str


class CategoryOut(BaseModel):
    """A listing category."""

    model_config = ConfigDict(from_attributes=True)

    slug: str
    name_ru: str
    name_en: str


class UserCreate(Strict):
    """A new user (created by an admin; people sign up through Telegram)."""

    username: Username
    telegram_id: TelegramId | None = None
    display_name: Annotated[str, StringConstraints(max_length=128)] | None = None
    contact: Contact | None = None
    city: City | None = None
    language: Language = "ru"


class UserUpdate(Strict):
    """Fields a user may change about themselves."""

    display_name: Annotated[str, StringConstraints(max_length=128)] | None = None
    contact: Contact | None = None
    city: City | None = None
    language: Language | None = None


class UserPublic(BaseModel):
    """What anyone may see of a user."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None
    city: str | None
    trust_score: float
    rating_count: int
    created_at: datetime


class UserPrivate(UserPublic):
    """What a user (or an admin) sees of their own account."""

    telegram_id: int | None
    contact: str | None
    language: str
    role: str
    is_banned: bool


class ProfileCreate(Strict):
    """A new profile for the signed-in user (or, for an admin, for `user_id`)."""

    user_id: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    location: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    visibility: Visibility = "public"


class ProfileUpdate(Strict):
    """Changed profile fields."""

    data: dict[str, Any] | None = None
    location: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    visibility: Visibility | None = None


class ProfileOut(BaseModel):
    """A profile as its viewer may see it."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    data: dict[str, Any]
    location: str | None
    visibility: str
    updated_at: datetime


class ItemCreate(Strict):
    """A new item."""

    kind: Kind
    category: Slug
    title: Title
    description: Description = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    city: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    delivery: bool = False


class ItemUpdate(Strict):
    """Changed item fields (kind cannot change: post a new item instead)."""

    category: Slug | None = None
    title: Title | None = None
    description: Description | None = None
    metadata: dict[str, Any] | None = None
    city: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    delivery: bool | None = None


class ItemOut(BaseModel):
    """An item."""

    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: int
    user_id: int
    kind: str
    category: str
    title: str
    description: str
    metadata: dict[str, Any] = Field(validation_alias="meta")
    city: str | None
    delivery: bool
    active: bool
    created_at: datetime
    updated_at: datetime


class ItemPageOut(BaseModel):
    """A page of items; pass `next_cursor` as `cursor` for the next page."""

    items: list[ItemOut]
    next_cursor: str | None


class MatchOut(BaseModel):
    """A want matched to an offer, with why."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    want_item: ItemOut
    offer_item: ItemOut
    score: float
    computed_by: str
    explanation: dict[str, Any]
    created_at: datetime


class RatingCreate(Strict):
    """A rating of another party of a completed exchange."""

    to_user_id: int
    tx_id: int
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, StringConstraints(max_length=COMMENT_MAX)] | None = None


class RatingOut(BaseModel):
    """A stored rating."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    from_user_id: int
    to_user_id: int
    tx_id: int
    score: int
    comment: str | None
    created_at: datetime


class HealthOut(BaseModel):
    """Liveness or readiness."""

    status: str
    detail: str | None = None
