"""Our Telegram checks against aiogram's reference ones, on one table of payloads (finding 13).

For every payload both verdicts are computed: aiogram's `check_signature` (Login Widget) or
`safe_parse_webapp_init_data` (Mini App), and ours. They must agree, except on the rows marked
`stricter`, where aiogram accepts and we refuse on purpose, each for the reason given: our typed
model wants exact positive integer ids, names within Telegram's 64 characters, a fresh
`auth_date` and, for a Mini App, the user who signs in. No row may have us accept what aiogram
refuses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aiogram.utils.auth_widget import check_signature
from aiogram.utils.web_app import safe_parse_webapp_init_data

from freemarket.domain.telegram_auth import (
    sign_login_widget,
    sign_webapp_init_data,
    verify_login_widget,
    verify_webapp_init_data,
)
from freemarket.errors import Unauthenticated
from tests.domain.test_telegram_verify import MAX_AGE, NOW, TOKEN

FRESH = int((NOW - timedelta(minutes=1)).timestamp())
STALE = int((NOW - timedelta(days=3)).timestamp())


@dataclass(frozen=True)
class Case:
    """A payload, and why we refuse it where aiogram accepts (None: we agree with aiogram)."""

    name: str
    payload: Any
    stricter: str | None = None


# --- Login Widget: the JSON object the page posts ------------------------------------------------


def widget(**changes: Any) -> dict[str, Any]:
    """Widget fields as the widget hands them over (numbers as JSON numbers), unsigned."""
    fields: dict[str, Any] = {
        "id": 424242,
        "first_name": "Анна",
        "last_name": "К",
        "username": "anna_k",
        "photo_url": "https://t.me/i/userpic/320/anna.jpg",
        "auth_date": FRESH,
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not REMOVED}


REMOVED = object()


def signed(fields: dict[str, Any], token: str = TOKEN) -> dict[str, Any]:
    """Signed as Telegram signs: each value as its text."""
    return sign_login_widget(fields, bot_token=token)


def after(fields: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A signed payload changed after signing."""
    changed = {**fields, **changes}
    return {k: v for k, v in changed.items() if v is not REMOVED}


WIDGET_CASES = [
    Case("as-sent", signed(widget())),
    Case("numbers-as-decimal-text", signed(widget(id="424242", auth_date=str(FRESH)))),
    Case("only-required-fields", signed(widget(first_name=REMOVED, last_name=REMOVED,
                                               username=REMOVED, photo_url=REMOVED))),
    Case("names-64-and-64", signed(widget(first_name="Я" * 64, last_name="Ю" * 64))),
    Case("upper-case-hash", {**signed(widget()), "hash": signed(widget())["hash"].upper()}),
    Case("null-field-added", after(signed(widget(last_name=REMOVED)), last_name=None)),
    Case("id-with-leading-zero", after(signed(widget()), id="0424242")),
    Case("id-as-float", after(signed(widget()), id=424242.0)),
    Case("field-added", after(signed(widget()), is_admin="1")),
    Case("field-removed", after(signed(widget()), photo_url=REMOVED)),
    Case("username-changed", after(signed(widget()), username="admin")),
    Case("hash-missing", after(signed(widget()), hash=REMOVED)),
    Case("hash-short", after(signed(widget()), hash=signed(widget())["hash"][:63])),
    Case("other-bot", signed(widget(), token="654321:OTHER")),
    Case("signed-leading-zero-id", signed(widget(id="0424242")),
         stricter="an id is an exact integer; Telegram never writes 0424242"),
    Case("signed-fractional-id", signed(widget(id=1.5)),
         stricter="an id is an exact integer, 1.5 is not user 1"),
    Case("signed-boolean-field", signed(widget(username=True)),
         stricter="the widget sends strings and numbers only"),
    Case("signed-negative-id", signed(widget(id=-5)), stricter="Telegram ids are positive"),
    Case("signed-long-name", signed(widget(first_name="Я" * 65)),
         stricter="longer than Telegram allows (64)"),
    Case("signed-stale", signed(widget(auth_date=STALE)),
         stricter="aiogram does not look at auth_date; we want it fresh"),
]  # fmt: skip


def aiogram_accepts_widget(payload: dict[str, Any]) -> bool:
    """aiogram's verdict on a widget payload."""
    fields = dict(payload)
    if "hash" not in fields:
        return False
    return check_signature(TOKEN, **fields)


def we_accept(verify: Callable[..., object], payload: Any) -> bool:
    """Our verdict: an identity, or Unauthenticated (any other error is a bug)."""
    try:
        verify(payload, bot_token=TOKEN, now=NOW, max_age_seconds=MAX_AGE)
    except Unauthenticated:
        return False
    return True


@pytest.mark.parametrize("case", WIDGET_CASES, ids=lambda c: c.name)
def test_widget_verdicts_match_aiogram(case: Case) -> None:
    reference = aiogram_accepts_widget(case.payload)
    ours = we_accept(verify_login_widget, case.payload)
    if case.stricter:
        assert (reference, ours) == (True, False), case.stricter
    else:
        assert ours == reference


# --- Mini App: the initData query string ----------------------------------------------------


def user(**changes: Any) -> str:
    """A Mini App user object as Telegram writes it."""
    fields: dict[str, Any] = {"id": 777, "first_name": "Борис", "username": "boris_b",
                              "language_code": "ru", "allows_write_to_pm": True}  # fmt: skip
    fields.update(changes)
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def init_data(*, extra: str = "", **changes: Any) -> str:
    """Signed initData with `changes` to the signed fields, then `extra` appended unsigned."""
    fields: dict[str, str] = {"query_id": "AAHdF6IQAAAAAN0XohDhrOrc", "user": user(),
                              "auth_date": str(FRESH)}  # fmt: skip
    fields.update(changes)
    fields = {k: v for k, v in fields.items() if v is not REMOVED}
    return urlencode(sign_webapp_init_data(fields, bot_token=TOKEN), quote_via=quote) + extra


def _with_hash(query: str, transform: Callable[[str], str]) -> str:
    head, _, digest = query.rpartition("hash=")
    return head + "hash=" + transform(digest)


WEBAPP_CASES = [
    Case("as-sent", init_data()),
    Case("id-as-decimal-text", init_data(user=user(id="777"))),
    Case("blank-field-appended", init_data(extra="&start_param=")),
    Case("blank-field-signed", init_data(start_param="")),
    Case("pair-without-equals", init_data(extra="&junk")),
    Case("signed-pair-without-equals", init_data(junk="").replace("&junk=&", "&junk&")),
    Case("upper-case-hash", _with_hash(init_data(), str.upper)),
    Case("user-changed", init_data().replace("boris_b", "admin")),
    Case("fractional-user-id", init_data(user=user(id=1.5))),
    Case("numeric-username", init_data(user=user(username=123))),
    Case("list-first-name", init_data(user=user(first_name=["a", "b"]))),
    Case("null-first-name", init_data(user=user(first_name=None))),
    Case("user-not-json", init_data(user="abc")),
    Case("user-broken-json", init_data(user='{"id": 1')),
    Case("auth-date-not-a-number", init_data(auth_date="yesterday")),
    Case("hash-missing", init_data().rpartition("&hash=")[0]),
    Case("not-a-query-string", "%%%"),
    Case("names-64-and-64", init_data(user=user(first_name="Я" * 64, last_name="Ю" * 64))),
    Case("boolean-user-id", init_data(user=user(id=True)),
         stricter="an id is an exact integer, true is not user 1"),
    Case("whole-float-user-id", init_data(user=user(id=777.0)),
         stricter="an id is an exact integer; Telegram writes 777"),
    Case("zero-user-id", init_data(user=user(id=0)), stricter="Telegram ids are positive"),
    Case("long-first-name", init_data(user=user(first_name="Я" * 65)),
         stricter="longer than Telegram allows (64)"),
    Case("no-user", init_data(user=REMOVED), stricter="signing in needs the user"),
    Case("deeply-nested-user", init_data(user=user(x=json.loads("[" * 40 + "]" * 40))),
         stricter="deeper than the JSON policy allows (32 levels)"),
    Case("stale", init_data(auth_date=str(STALE)),
         stricter="aiogram does not look at auth_date; we want it fresh"),
]  # fmt: skip


def aiogram_accepts_webapp(query: str) -> bool:
    """aiogram's verdict on initData."""
    try:
        safe_parse_webapp_init_data(TOKEN, query)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("case", WEBAPP_CASES, ids=lambda c: c.name)
def test_webapp_verdicts_match_aiogram(case: Case) -> None:
    reference = aiogram_accepts_webapp(case.payload)
    ours = we_accept(verify_webapp_init_data, case.payload)
    if case.stricter:
        assert (reference, ours) == (True, False), case.stricter
    else:
        assert ours == reference


def test_the_table_has_both_verdicts() -> None:
    # A table where everything is accepted (or refused) would prove nothing.
    for cases, reference in ((WIDGET_CASES, aiogram_accepts_widget),
                             (WEBAPP_CASES, aiogram_accepts_webapp)):  # fmt: skip
        verdicts = {reference(c.payload) for c in cases if not c.stricter}
        assert verdicts == {True, False}
