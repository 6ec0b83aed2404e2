"""Verify Telegram sign-in payloads: the Login Widget and Mini App `initData` (pure functions).

Both are signed with HMAC-SHA256 over a "data-check-string" (the fields except `hash`, sorted,
as `key=value` lines). They differ in the key: the widget uses SHA-256 of the bot token, the
Mini App uses HMAC-SHA256 of the bot token keyed with the constant "WebAppData".
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from freemarket.errors import Unauthenticated

# A payload dated this far in the future is refused: clocks differ, but not by minutes.
MAX_CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class TelegramIdentity:
    """Who Telegram says signed in, and the signature that proves it (for replay checks)."""

    telegram_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    auth_date: datetime
    signature: str


def data_check_string(fields: dict[str, str]) -> str:
    """The signed text: every field except `hash`, sorted by key, one `key=value` a line."""
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def _widget_secret(bot_token: str) -> bytes:
    return hashlib.sha256(bot_token.encode()).digest()


def _webapp_secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _digest(fields: dict[str, str], secret: bytes) -> str:
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def _check(
    fields: dict[str, str], secret: bytes, *, now: datetime, max_age_seconds: int
) -> datetime:
    received = fields.get("hash", "")
    expected = _digest(fields, secret)
    if not received or not hmac.compare_digest(expected, received.lower()):
        raise Unauthenticated("Telegram signature does not match", code="telegram_signature")
    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise Unauthenticated(
            "Telegram payload has no valid auth_date", code="telegram_payload"
        ) from exc
    age = (now - auth_date).total_seconds()
    if age > max_age_seconds:
        raise Unauthenticated("Telegram sign-in is too old; sign in again", code="telegram_too_old")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise Unauthenticated("Telegram sign-in is dated in the future", code="telegram_clock")
    return auth_date


def verify_login_widget(
    fields: dict[str, str], *, bot_token: str, now: datetime, max_age_seconds: int
) -> TelegramIdentity:
    """Check a Login Widget payload and return the identity it proves."""
    auth_date = _check(fields, _widget_secret(bot_token), now=now, max_age_seconds=max_age_seconds)
    try:
        telegram_id = int(fields["id"])
    except (KeyError, ValueError) as exc:
        raise Unauthenticated("Telegram payload has no user id", code="telegram_payload") from exc
    return TelegramIdentity(
        telegram_id=telegram_id,
        username=fields.get("username"),
        first_name=fields.get("first_name"),
        last_name=fields.get("last_name"),
        auth_date=auth_date,
        signature=fields["hash"].lower(),
    )


def verify_webapp_init_data(
    init_data: str, *, bot_token: str, now: datetime, max_age_seconds: int
) -> TelegramIdentity:
    """Check a Mini App `initData` query string and return the identity it proves."""
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=False))
    auth_date = _check(fields, _webapp_secret(bot_token), now=now, max_age_seconds=max_age_seconds)
    try:
        user = json.loads(fields["user"])
        telegram_id = int(user["id"])
    except (KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated(
            "Mini App initData has no valid user", code="telegram_payload"
        ) from exc
    return TelegramIdentity(
        telegram_id=telegram_id,
        username=user.get("username"),
        first_name=user.get("first_name"),
        last_name=user.get("last_name"),
        auth_date=auth_date,
        signature=fields["hash"].lower(),
    )


def sign_login_widget(fields: dict[str, str], *, bot_token: str) -> dict[str, str]:
    """Sign a widget payload as Telegram would (for tests and local tools)."""
    return {**fields, "hash": _digest(fields, _widget_secret(bot_token))}


def sign_webapp_init_data(fields: dict[str, str], *, bot_token: str) -> dict[str, str]:
    """Sign Mini App fields as Telegram would (for tests and local tools)."""
    return {**fields, "hash": _digest(fields, _webapp_secret(bot_token))}
