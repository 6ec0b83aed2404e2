"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import Path, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    create_model,
)
from pydantic.json_schema import SkipJsonSchema

from freemarket.db.models import COMMENT_MAX
from freemarket.domain import jsonpolicy, preferences, telegram_auth
from freemarket.domain.fields import (
    MAX_ID,
    City,
    Contact,
    DbId,
    DisplayName,
    Integral,
    JsonSafeModel,
    Language,
    Latitude,
    Longitude,
    Stripped,
    TelegramId,
    Username,
    Visibility,
)
from freemarket.domain.item_fields import ITEM_FIELDS, ItemField, with_item_fields
from freemarket.domain.photos import photo_path

# An id in a URL path or query: a 64-bit positive integer, else 422 before any query runs.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


# An optional field that may be left out but not cleared: the schema does not offer null.
NotNull = SkipJsonSchema[None]

# A stored JSON field as responses show it: cut to the JSON policy, so it always serialises.
StoredJson = Annotated[dict[str, Any], BeforeValidator(jsonpolicy.shown)]


class Strict(JsonSafeModel):
    """Request bodies reject unknown fields, so a typo is an error and not silently lost.

    And take JSON types as the schema declares them: `"longitude": false`, `"score": "5"` or
    `"delivery": 1` are refused, not converted (an integral 5.0 is still an integer).
    """

    model_config = ConfigDict(extra="forbid", strict=True)


class Message(BaseModel):
    """An error or status message."""

    detail: str


class ErrorOut(Message):
    """An error: English `detail` for people reading logs, `code` and `params` for clients."""

    code: str = Field(description="stable snake_case key clients translate, e.g. item_not_found")
    params: dict[str, Any] = Field(
        default_factory=dict, description="values the message names, e.g. item_id"
    )


class ValidationIssue(BaseModel):
    """One field that failed validation."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidOut(BaseModel):
    """422: the request failed validation (a list of issues) or a rule (one sentence)."""

    detail: str | list[ValidationIssue]
    code: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)


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
    display_name: DisplayName | None = None
    contact: Contact | None = None
    city: City | None = None
    language: Language | None = Field(
        default=None, description="ru or en; null: from Telegram or the browser, else Russian"
    )


# Quiet hours are one setting in two fields: sent together, both hours or both null (what one
# means depends on the other). JSON Schema says so exactly; the domain refuses anything else.
QUIET_HOURS_TOGETHER: dict[str, Any] = {
    "dependentRequired": {"quiet_start": ["quiet_end"], "quiet_end": ["quiet_start"]},
    "anyOf": [
        {"properties": {"quiet_start": {"type": "null"}, "quiet_end": {"type": "null"}}},
        {"properties": {"quiet_start": {"type": "integer"}, "quiet_end": {"type": "integer"}}},
    ],
}


class UserUpdate(Strict):
    """Fields a user may change about themselves."""

    model_config = ConfigDict(json_schema_extra=QUIET_HOURS_TOGETHER)

    display_name: DisplayName | None = None
    contact: Contact | None = None
    city: City | None = None
    language: Language | NotNull = None
    notify_telegram: bool | NotNull = Field(default=None, description="Telegram notifications on")
    digest_enabled: bool | NotNull = Field(default=None, description="bursts become one digest")
    quiet_start: Annotated[int, Field(ge=0, le=23), Integral] | None = Field(
        default=None,
        description="quiet hours start (local hour), sent with quiet_end; both null, or the same "
        "hour: none",
    )
    quiet_end: Annotated[int, Field(ge=0, le=23), Integral] | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None,
        description="IANA name or offset like +03:00; null or empty: from the city",
        json_schema_extra=preferences.time_zone_schema,
    )


class UserPublic(BaseModel):
    """What anyone may see of a user."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None
    city: str | None
    trust_score: float | None = Field(
        description="Bayesian trust score 1-5; null before any rating"
    )
    rating_count: int = Field(description="distinct counterparties whose ratings count")
    created_at: datetime


class UserContact(UserPublic):
    """A user as the other parties of an accepted exchange see them: with how to reach them."""

    contact: str | None
    message_url: str | None = Field(
        default=None, description="opens a Telegram chat with the user, when one is known"
    )


class UserPrivate(UserPublic):
    """What a user (or an admin) sees of their own account."""

    telegram_id: int | None
    contact: str | None
    language: str | None = Field(description="null until chosen or learnt from a client")
    role: str
    is_banned: bool
    notify_telegram: bool
    digest_enabled: bool
    quiet_start: int | None
    quiet_end: int | None
    time_zone: str | None


class TelegramLinkOut(BaseModel):
    """A one-time code that links a Telegram account to yours: send it to the bot."""

    start_payload: str = Field(description="what follows /start: send `/start <start_payload>`")
    url: str | None = Field(description="t.me deep link that sends it; null: bot name unknown")
    expires_at: datetime


class ProfileCreate(Strict):
    """A new profile for the signed-in user (or, for an admin, for `user_id`)."""

    user_id: DbId | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    location: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    visibility: Visibility = "public"


class ProfileUpdate(Strict):
    """Changed profile fields."""

    data: dict[str, Any] | NotNull = None
    location: City | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    visibility: Visibility | NotNull = None


class ProfileOut(BaseModel):
    """A profile as its viewer may see it."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    data: StoredJson
    location: str | None
    visibility: str
    updated_at: datetime


class ItemCreate(with_item_fields(Strict)):  # type: ignore[misc]
    """A new item."""


class ItemUpdate(with_item_fields(Strict, editing=True)):  # type: ignore[misc]
    """Changed item fields (kind cannot change: post a new item instead)."""


class PhotoOut(BaseModel):
    """A photo of an item: where its thumbnail and display size are served."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str = Field(exclude=True)
    width: int
    height: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thumb_url(self) -> str:
        """The thumbnail (longest side 400 px), relative to the site."""
        return photo_path(self.key, "thumb")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        """The display size (longest side 1280 px), relative to the site."""
        return photo_path(self.key, "display")


class _ItemIds(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: int
    user_id: int


def _shown(field: ItemField) -> tuple[Any, Any]:
    """A response field: read from the stored attribute, named as clients know it, unvalidated."""
    # What is stored is shown as it is: the input rules (lengths, patterns) are not re-checked.
    plain = field.type
    if get_origin(plain) is Annotated:
        plain = get_args(plain)[0]
    if get_origin(plain) is Literal:
        plain = str
    if plain == dict[str, Any]:
        # cut to the JSON policy on the way out, so it always serialises
        plain = StoredJson
    annotation = plain | None if field.nullable else plain
    return annotation, Field(validation_alias=field.column) if field.attr else ...


_ItemOutFields = create_model(
    "_ItemOutFields", __base__=_ItemIds, **{f.name: _shown(f) for f in ITEM_FIELDS if f.shown}
)


class ItemOut(_ItemOutFields):  # type: ignore[misc,valid-type]
    """An item."""

    active: bool
    photos: list[PhotoOut] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class ItemDetailOut(ItemOut):
    """One item, with the completed exchange it was part of (null while it is on the market).

    Only here: in lists it would always be null, and a field that is always null invites
    clients (and schemathesis' link inference) to follow it to /api/exchanges/null.
    """

    exchange_id: int | None = Field(
        default=None, description="the completed exchange it was part of"
    )


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


class DismissalOut(BaseModel):
    """Whether you said "not interested" to a match (it is then hidden from your matches)."""

    match_id: int
    want_item_id: int
    offer_item_id: int
    dismissed: bool


class RatingCreate(Strict):
    """A rating of another party of a completed exchange."""

    to_user_id: DbId
    tx_id: DbId
    score: Annotated[int, Field(ge=1, le=5), Integral]
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


class ReviewerOut(BaseModel):
    """Who wrote a review."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str | None


class ReviewOut(BaseModel):
    """A revealed rating on a profile page."""

    id: int
    score: int
    comment: str | None
    created_at: datetime
    reviewer: ReviewerOut


class TrustOut(BaseModel):
    """A trust score and the numbers that explain it."""

    score: float | None = Field(description="null before the first counted rating")
    counted: int = Field(description="ratings that count")
    ignored: int = Field(description="ratings not counted (same rater again within the window)")
    counterparties: int
    mean_of_counted: float | None
    prior_mean: float
    prior_weight: float
    window_days: int


class PublicProfileOut(BaseModel):
    """A person's profile page."""

    id: int
    username: str
    display_name: str | None
    city: str | None
    about: str | None
    member_since: datetime
    completed_exchanges: int
    trust: TrustOut
    reviews: list[ReviewOut]


class HealthOut(BaseModel):
    """Liveness or readiness."""

    status: str
    detail: str | None = None


# The widget's payload is signed field by field as sent, so its model lives with the check.
TelegramWidgetLogin = telegram_auth.TelegramWidgetLogin


class WebAppLogin(Strict):
    """A Telegram Mini App's `initData` string."""

    init_data: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class CodeLogin(Strict):
    """A one-time login code from a login link."""

    code: Annotated[str, StringConstraints(min_length=8, max_length=128)]


class SessionOut(BaseModel):
    """A new session: the token (also set as an HttpOnly cookie) and who it belongs to."""

    token: str
    csrf_token: str
    expires_at: datetime
    user: UserPrivate


class ExchangeCreate(Strict):
    """Propose an exchange from 1 (direct), 2 (swap) or 3 (cycle) matches."""

    match_ids: Annotated[
        list[DbId], Field(min_length=1, max_length=3, json_schema_extra={"uniqueItems": True})
    ]


class ExchangeLegOut(BaseModel):
    """One item going from one party to another (and the want it fulfils)."""

    model_config = ConfigDict(from_attributes=True)

    item_id: int
    item_title: str
    want_item_id: int | None
    from_user_id: int
    to_user_id: int


class ExchangePartyOut(BaseModel):
    """A party and where they stand."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    accepted_at: datetime | None
    completed_at: datetime | None


class ExchangeOut(BaseModel):
    """An exchange with its legs and parties."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    status: str
    proposed_by_id: int
    expires_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    legs: list[ExchangeLegOut]
    parties: list[ExchangePartyOut]
    rated_user_ids: list[int] = Field(
        default_factory=list, description="the parties you have already rated in this exchange"
    )
    actions: list[str] = Field(
        default_factory=list,
        description="what you may do now (accept, decline, complete, cancel): the buttons to show",
    )


class ReportCreate(Strict):
    """A report about an item or a user (exactly one of them)."""

    # The domain refuses both or neither; the schema says so.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["item_id"],
                    "properties": {"item_id": {"type": "integer"}, "user_id": {"type": "null"}},
                },
                {
                    "required": ["user_id"],
                    "properties": {"user_id": {"type": "integer"}, "item_id": {"type": "null"}},
                },
            ]
        }
    )

    item_id: DbId | None = None
    user_id: DbId | None = None
    reason: Stripped(3, 1000)  # type: ignore[valid-type]


class ReportOut(BaseModel):
    """A filed report."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int | None
    reported_user_id: int | None
    reason: str
    status: str
    created_at: datetime


class NotificationOut(BaseModel):
    """A message in the web inbox."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    payload: dict[str, Any]
    status: str
    created_at: datetime
    read_at: datetime | None


class TradeLegOut(BaseModel):
    """One transfer of a trade: `giver` hands `offer_item_id` to `receiver`."""

    giver: int
    receiver: int
    offer_item_id: int
    want_item_id: int
    score: float
    match_id: int


class TradeOut(BaseModel):
    """A direct swap or a 3-way cycle; propose it with its `match_ids`."""

    kind: str
    users: list[int]
    score: float
    legs: list[TradeLegOut]
    match_ids: list[int]
    overlaps_with_other_trades: bool
