"""Verify Telegram sign-in payloads: the Login Widget and Mini App `initData` (pure functions).

Both are signed with HMAC-SHA256 over a "data-check-string" (the fields except `hash`, sorted,
as `key=value` lines). They differ in the key: the widget uses SHA-256 of the bot token, the
Mini App uses HMAC-SHA256 of the bot token keyed with the constant "WebAppData".

Strictness follows aiogram's reference checkers (`check_signature`,
`safe_parse_webapp_init_data`; tests/domain/test_telegram_reference.py runs both on one table):
the signature is checked over the fields exactly as they arrived (no normalising first, so
`id=0123` is not `id=123`), the hash is lower-case hex as Telegram writes it, a Mini App query
string must be well-formed, and blank Mini App fields are left out as aiogram leaves them out.
Only then is the payload read into a typed model, and there we are stricter than aiogram where
Telegram itself never sends otherwise: ids are exact positive integers (not 1.5, "01" or true),
names fit Telegram's 64 characters, and a Mini App sign-in must carry its user.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from freemarket.domain import jsonpolicy
from freemarket.errors import InvalidInput, Unauthenticated

# A payload dated this far in the future is refused: clocks differ, but not by minutes.
MAX_CLOCK_SKEW_SECONDS = 60
# Telegram's own limits: 64 characters for a first or a last name, 32 for a username.
TELEGRAM_NAME_MAX = 64
TELEGRAM_USERNAME_MAX = 32
# Telegram ids have at most 52 significant bits (below 4.6e15); anything else is not a Telegram
# id. The bounds are powers of ten so that a pattern says exactly which strings are in range.
TELEGRAM_ID_DIGITS = 16
# Unix times up to year 33658.
UNIX_TIME_DIGITS = 12
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class TelegramIdentity:
    """Who Telegram says signed in, and the signature that proves it (for replay checks)."""

    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    auth_date: datetime
    signature: str


def _whole_number(*, positive: bool, digits: int) -> Any:
    """An integer of at most `digits` digits (`positive`: from 1, else from 0) as JSON or a
    query string carries one: 5 or "5", never 5.0, "05" or true; the schema says exactly that."""
    low, high = (1 if positive else 0), 10**digits
    decimal = re.compile(
        f"[1-9][0-9]{{0,{digits - 1}}}" if positive else f"0|[1-9][0-9]{{0,{digits - 1}}}"
    )

    def check(value: object) -> int:
        if isinstance(value, str) and decimal.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if not low <= value < high:
            raise ValueError(f"must be at least {low} and below {high}")
        return value

    accepted = (
        Annotated[int, Field(ge=low, lt=high)]
        | Annotated[str, StringConstraints(pattern=f"^(?:{decimal.pattern})$")]
    )
    return Annotated[int, BeforeValidator(check, json_schema_input_type=accepted)]


TelegramId = _whole_number(positive=True, digits=TELEGRAM_ID_DIGITS)
UnixTime = _whole_number(positive=False, digits=UNIX_TIME_DIGITS)
Name = Annotated[str, StringConstraints(max_length=TELEGRAM_NAME_MAX)]
Username = Annotated[str, StringConstraints(max_length=256)]


# The payload models are built on their first validation (`defer_build`), not on import: every
# process that imports the user rules imports this module, few of them verify a sign-in.
class TelegramUser(BaseModel):
    """A Mini App's `user` object: what we use of it, typed (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    id: TelegramId
    first_name: Name
    last_name: Name | None = None
    username: Username | None = None


class WebAppPayload(BaseModel):
    """The `initData` fields we use, typed; `user` is the JSON object Telegram put there."""

    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    auth_date: UnixTime
    user: TelegramUser


class WidgetPayload(BaseModel):
    """A Login Widget payload, typed: the user's fields and when Telegram signed them."""

    model_config = ConfigDict(extra="ignore", strict=True, defer_build=True)

    id: TelegramId
    auth_date: UnixTime
    first_name: Name | None = None
    last_name: Name | None = None
    username: Username | None = None


Url = Annotated[str, StringConstraints(max_length=2048)]


class TelegramWidgetLogin(WidgetPayload):
    """What the Login Widget hands to the page, as it sent it: every field is signed as is.

    Optional fields are left out when Telegram has no value; they are never null.
    """

    model_config = ConfigDict(extra="allow", strict=True)
    __pydantic_extra__: dict[str, Url | int]

    hash: Annotated[str, StringConstraints(pattern=f"^{HASH_PATTERN.pattern}$")]
    first_name: Name = None  # type: ignore[assignment]
    last_name: Name = None  # type: ignore[assignment]
    username: Username = None  # type: ignore[assignment]
    photo_url: Url = None  # type: ignore[assignment]


def data_check_string(fields: Mapping[str, object]) -> str:
    """The signed text: every field except `hash`, sorted by key, one `key=value` a line."""
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def _widget_secret(bot_token: str) -> bytes:
    return hashlib.sha256(bot_token.encode()).digest()


def _webapp_secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _digest(fields: Mapping[str, object], secret: bytes) -> str:
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def _check_signature(fields: Mapping[str, object], secret: bytes) -> str:
    """The payload's hash if it is Telegram's signature of the other fields, as they came."""
    received = fields.get("hash")
    if not (isinstance(received, str) and HASH_PATTERN.fullmatch(received)):
        raise Unauthenticated("Telegram signature does not match", code="telegram_signature")
    if not hmac.compare_digest(_digest(fields, secret), received):
        raise Unauthenticated("Telegram signature does not match", code="telegram_signature")
    return received


def _typed(model: type[BaseModel], data: object) -> Any:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        where = ".".join(str(part) for part in exc.errors()[0]["loc"]) or "payload"
        raise Unauthenticated(
            f"Telegram payload has no valid {where}", code="telegram_payload", field=where
        ) from exc


def _fresh(auth_date: int, *, now: datetime, max_age_seconds: int) -> datetime:
    signed_at = datetime.fromtimestamp(auth_date, tz=UTC)
    age = (now - signed_at).total_seconds()
    if age > max_age_seconds:
        raise Unauthenticated("Telegram sign-in is too old; sign in again", code="telegram_too_old")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise Unauthenticated("Telegram sign-in is dated in the future", code="telegram_clock")
    return signed_at


def _identity(
    user: TelegramUser | WidgetPayload, signed_at: datetime, signature: str
) -> TelegramIdentity:
    return TelegramIdentity(
        telegram_id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        auth_date=signed_at,
        signature=signature,
    )


def verify_login_widget(
    fields: Mapping[str, object], *, bot_token: str, now: datetime, max_age_seconds: int
) -> TelegramIdentity:
    """Check a Login Widget payload (its JSON object, as sent) and return who it proves."""
    for key, value in fields.items():
        # The widget sends strings and numbers; anything else was never signed by Telegram.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise Unauthenticated(
                f"Telegram payload field {key!r} is not a string or a number",
                code="telegram_payload",
                field=key,
            )
    signature = _check_signature(fields, _widget_secret(bot_token))
    payload: WidgetPayload = _typed(WidgetPayload, fields)
    signed_at = _fresh(payload.auth_date, now=now, max_age_seconds=max_age_seconds)
    return _identity(payload, signed_at, signature)


def verify_webapp_init_data(
    init_data: str, *, bot_token: str, now: datetime, max_age_seconds: int
) -> TelegramIdentity:
    """Check a Mini App `initData` query string and return who it proves."""
    try:
        # As aiogram reads it: every pair must have its "=", blank values are left out.
        fields: dict[str, object] = dict(parse_qsl(init_data, strict_parsing=True))
    except ValueError as exc:
        raise Unauthenticated(
            "Mini App initData is not a query string", code="telegram_payload", field="init_data"
        ) from exc
    signature = _check_signature(fields, _webapp_secret(bot_token))
    raw_user = fields.get("user")
    if isinstance(raw_user, str):
        try:
            jsonpolicy.check_body(raw_user.encode("utf-8", "surrogatepass"))
            fields["user"] = json.loads(raw_user)
        except (InvalidInput, ValueError) as exc:
            raise Unauthenticated(
                "Telegram payload has no valid user", code="telegram_payload", field="user"
            ) from exc
    payload: WebAppPayload = _typed(WebAppPayload, fields)
    signed_at = _fresh(payload.auth_date, now=now, max_age_seconds=max_age_seconds)
    return _identity(payload.user, signed_at, signature)


def sign_login_widget(fields: Mapping[str, object], *, bot_token: str) -> dict[str, object]:
    """Sign a widget payload as Telegram would (for tests and local tools)."""
    return {**fields, "hash": _digest(fields, _widget_secret(bot_token))}


def sign_webapp_init_data(fields: Mapping[str, str], *, bot_token: str) -> dict[str, str]:
    """Sign Mini App fields as Telegram would (for tests and local tools)."""
    return {**fields, "hash": _digest(fields, _webapp_secret(bot_token))}
