"""Linking Telegram from the web (a one-time code for the bot); the language learnt at sign-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from freemarket.api.routers.auth import browser_language
from freemarket.db.models import User, utcnow
from freemarket.domain import sessions, telegram_link
from freemarket.domain.telegram_auth import TelegramIdentity
from freemarket.errors import Unauthenticated
from tests.api.conftest import Headers


def _identity(telegram_id: int = 7001) -> TelegramIdentity:
    return TelegramIdentity(
        telegram_id=telegram_id,
        username="linked_tg",
        first_name="Linked",
        last_name=None,
        auth_date=utcnow(),
        signature="",
    )


def test_the_web_issues_a_link_code_for_the_bot(
    client: TestClient, db: Session, anna: User, anna_h: Headers
) -> None:
    """POST /api/users/me/telegram-link: the /start payload for the bot (t.me link if named)."""
    response = client.post("/api/users/me/telegram-link", headers=anna_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["start_payload"].startswith("link_") and len(body["start_payload"]) <= 64
    assert body["url"] is None  # no TELEGRAM_BOT_USERNAME in the test settings
    user = telegram_link.link_telegram(
        db, code=body["start_payload"][5:], identity=_identity(), language="en"
    )
    assert user.id == anna.id and user.telegram_id == 7001
    assert client.post("/api/users/me/telegram-link").status_code == 401


def test_the_link_url_names_the_bot(db: Session, make_user: Callable[..., User]) -> None:
    """With the bot's username configured the code comes as a t.me deep link."""
    link = telegram_link.issue_link_code(
        db, actor=make_user("webby"), ttl=timedelta(minutes=5), bot_username="FreeMarketBot"
    )
    assert link.url == f"https://t.me/FreeMarketBot?start={link.start_payload}"
    assert telegram_link.code_in_command(f"/start {link.start_payload}") == link.code
    assert telegram_link.code_in_command(f"/start@FreeMarketBot {link.start_payload}") == link.code
    assert telegram_link.code_in_command("/start login") is None


def test_link_codes_and_login_codes_are_not_interchangeable(
    db: Session, make_user: Callable[..., User]
) -> None:
    """A link code never signs in on the web; a login code never links a Telegram account."""
    web = make_user("webby")
    link = telegram_link.issue_link_code(db, actor=web, ttl=timedelta(minutes=5))
    with pytest.raises(Unauthenticated) as refused:
        sessions.redeem_login_code(db, code=link.code)
    assert refused.value.code == "login_link_invalid"
    login = sessions.issue_login_code(db, user=web, ttl=timedelta(minutes=5))
    with pytest.raises(Unauthenticated) as refused:
        telegram_link.link_telegram(db, code=login, identity=_identity())
    assert refused.value.code == "telegram_link_invalid"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-GB,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9,ru;q=0.5,en;q=0.4", "ru"),
        ("ru;q=0.2, en;q=0.7", "en"),
        ("en;q=0, ru", "ru"),
        ("fr, de", None),
        ("en;q=bogus, ru", "ru"),
        ("", None),
    ],
)
def test_browser_language(header: str, language: str | None) -> None:
    """Accept-Language by preference; only languages we speak; q=0 means no."""
    assert browser_language(header) == language


def test_sign_in_gives_an_unset_language_the_browsers_and_keeps_a_chosen_one(
    client: TestClient, db: Session, make_user: Callable[..., User]
) -> None:
    """A CLI-made account has no language: the browser's becomes its own; a chosen one stays."""
    unset = make_user("fresh")
    chosen = make_user("chosen", language="ru")
    for user in (unset, chosen):
        code = sessions.issue_login_code(db, user=user, ttl=timedelta(minutes=5))
        db.commit()
        response = client.post(
            "/api/auth/code", json={"code": code}, headers={"Accept-Language": "en-US,en;q=0.9"}
        )
        assert response.status_code == 200, response.text
    db.expire_all()
    assert (db.get(User, unset.id).language, db.get(User, chosen.id).language) == ("en", "ru")  # type: ignore[union-attr]
