"""Telegram signature checks against an independent computation of the documented HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest

from freemarket.domain.telegram_auth import (
    MAX_CLOCK_SKEW_SECONDS,
    data_check_string,
    sign_login_widget,
    sign_webapp_init_data,
    verify_login_widget,
    verify_webapp_init_data,
)
from freemarket.errors import Unauthenticated

TOKEN = "123456:TEST"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
MAX_AGE = 86_400


def documented_widget_hash(fields: dict[str, str], bot_token: str) -> str:
    """core.telegram.org/widgets/login: HMAC-SHA256(data_check_string, SHA256(bot_token))."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def documented_webapp_hash(fields: dict[str, str], bot_token: str) -> str:
    """core.telegram.org/bots/webapps: secret = HMAC-SHA256(bot_token, key="WebAppData")."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def widget_fields(**overrides: str) -> dict[str, str]:
    """A widget payload dated a minute before NOW."""
    fields = {
        "id": "424242",
        "first_name": "Анна",
        "last_name": "К",
        "username": "anna_k",
        "photo_url": "https://t.me/i/userpic/1.jpg",
        "auth_date": str(int((NOW - timedelta(minutes=1)).timestamp())),
    }
    fields.update(overrides)
    return fields


def webapp_fields(**overrides: str) -> dict[str, str]:
    """Mini App initData fields dated a minute before NOW."""
    user = {"id": 777, "first_name": "Борис", "username": "boris_b", "language_code": "ru"}
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int((NOW - timedelta(minutes=1)).timestamp())),
    }
    fields.update(overrides)
    return fields


def check_widget(fields: dict[str, str], *, token: str = TOKEN) -> object:
    return verify_login_widget(fields, bot_token=token, now=NOW, max_age_seconds=MAX_AGE)


def check_webapp(fields: dict[str, str], *, token: str = TOKEN) -> object:
    return verify_webapp_init_data(
        urlencode(fields), bot_token=token, now=NOW, max_age_seconds=MAX_AGE
    )


def test_data_check_string_is_sorted_lines_without_hash() -> None:
    fields = {"username": "x", "auth_date": "5", "hash": "ff", "id": "1"}
    assert data_check_string(fields) == "auth_date=5\nid=1\nusername=x"


def test_widget_signature_matches_the_documented_computation() -> None:
    fields = widget_fields()
    assert sign_login_widget(fields, bot_token=TOKEN)["hash"] == documented_widget_hash(
        fields, TOKEN
    )


def test_widget_payload_signed_independently_is_accepted() -> None:
    fields = widget_fields()
    fields["hash"] = documented_widget_hash(fields, TOKEN)
    identity = verify_login_widget(fields, bot_token=TOKEN, now=NOW, max_age_seconds=MAX_AGE)
    assert identity.telegram_id == 424242
    assert identity.username == "anna_k"
    assert (identity.first_name, identity.last_name) == ("Анна", "К")
    assert identity.signature == fields["hash"]
    assert identity.auth_date == NOW.replace(second=0) - timedelta(minutes=1)


def test_widget_upper_case_hash_is_refused() -> None:
    # Telegram writes the hash in lower case, and aiogram's check_signature compares it as is.
    fields = widget_fields()
    fields["hash"] = documented_widget_hash(fields, TOKEN).upper()
    with pytest.raises(Unauthenticated, match="signature"):
        verify_login_widget(fields, bot_token=TOKEN, now=NOW, max_age_seconds=MAX_AGE)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda f: f.update(hash="0" * 64), id="wrong-hash"),
        pytest.param(lambda f: f.update(id="424243"), id="changed-id"),
        pytest.param(lambda f: f.update(username="admin"), id="changed-username"),
        pytest.param(lambda f: f.update(extra="1"), id="added-field"),
        pytest.param(lambda f: f.pop("photo_url"), id="removed-field"),
        pytest.param(lambda f: f.pop("hash"), id="no-hash"),
        pytest.param(lambda f: f.update(hash=""), id="empty-hash"),
    ],
)
def test_forged_widget_payload_is_refused(tamper: object) -> None:
    fields = sign_login_widget(widget_fields(), bot_token=TOKEN)
    tamper(fields)  # type: ignore[operator]
    with pytest.raises(Unauthenticated, match="signature"):
        check_widget(fields)


def test_widget_signed_with_another_bot_token_is_refused() -> None:
    fields = sign_login_widget(widget_fields(), bot_token="999:OTHER")
    with pytest.raises(Unauthenticated):
        check_widget(fields)


def test_widget_signed_with_the_webapp_key_is_refused() -> None:
    fields = sign_webapp_init_data(widget_fields(), bot_token=TOKEN)
    with pytest.raises(Unauthenticated):
        check_widget(fields)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(seconds=MAX_AGE - 5), True),
        (timedelta(seconds=MAX_AGE + 5), False),
        (timedelta(days=30), False),
        (-timedelta(seconds=MAX_CLOCK_SKEW_SECONDS - 5), True),
        (-timedelta(seconds=MAX_CLOCK_SKEW_SECONDS + 5), False),
        (-timedelta(days=1), False),
    ],
    ids=["just-fresh", "just-stale", "month-old", "small-skew", "future", "day-ahead"],
)
def test_widget_auth_date_window(age: timedelta, accepted: bool) -> None:
    fields = sign_login_widget(
        widget_fields(auth_date=str(int((NOW - age).timestamp()))), bot_token=TOKEN
    )
    if accepted:
        check_widget(fields)
    else:
        with pytest.raises(Unauthenticated, match=r"too old|future"):
            check_widget(fields)


@pytest.mark.parametrize("auth_date", ["", "soon", "99999999999999999999999"])
def test_widget_without_a_valid_auth_date_is_refused(auth_date: str) -> None:
    fields = sign_login_widget(widget_fields(auth_date=auth_date), bot_token=TOKEN)
    with pytest.raises(Unauthenticated):
        check_widget(fields)


def test_webapp_signature_matches_the_documented_computation() -> None:
    fields = webapp_fields()
    assert sign_webapp_init_data(fields, bot_token=TOKEN)["hash"] == documented_webapp_hash(
        fields, TOKEN
    )


def test_webapp_init_data_signed_independently_is_accepted() -> None:
    fields = webapp_fields()
    fields["hash"] = documented_webapp_hash(fields, TOKEN)
    identity = check_webapp(fields)
    assert identity.telegram_id == 777  # type: ignore[attr-defined]
    assert identity.username == "boris_b"  # type: ignore[attr-defined]
    assert identity.first_name == "Борис"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda f: f.update(hash="f" * 64), id="wrong-hash"),
        pytest.param(lambda f: f.update(user='{"id":1,"first_name":"x"}'), id="changed-user"),
        pytest.param(lambda f: f.update(query_id="other"), id="changed-query-id"),
        pytest.param(lambda f: f.pop("hash"), id="no-hash"),
    ],
)
def test_forged_webapp_init_data_is_refused(tamper: object) -> None:
    fields = sign_webapp_init_data(webapp_fields(), bot_token=TOKEN)
    tamper(fields)  # type: ignore[operator]
    with pytest.raises(Unauthenticated, match="signature"):
        check_webapp(fields)


def test_webapp_signed_with_the_widget_key_is_refused() -> None:
    fields = sign_login_widget(webapp_fields(), bot_token=TOKEN)
    with pytest.raises(Unauthenticated):
        check_webapp(fields)


def test_webapp_stale_and_future_are_refused() -> None:
    stale = webapp_fields(auth_date=str(int((NOW - timedelta(days=2)).timestamp())))
    future = webapp_fields(auth_date=str(int((NOW + timedelta(hours=1)).timestamp())))
    with pytest.raises(Unauthenticated, match="too old"):
        check_webapp(sign_webapp_init_data(stale, bot_token=TOKEN))
    with pytest.raises(Unauthenticated, match="future"):
        check_webapp(sign_webapp_init_data(future, bot_token=TOKEN))


@pytest.mark.parametrize("user", ["not json", '{"first_name":"x"}', '{"id":"abc"}', "[1]"])
def test_webapp_without_a_valid_user_is_refused(user: str) -> None:
    fields = sign_webapp_init_data(webapp_fields(user=user), bot_token=TOKEN)
    with pytest.raises(Unauthenticated, match="user"):
        check_webapp(fields)
