"""Linking Telegram from the web (a one-time code for the bot); the language learnt at sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.api.routers.auth import browser_language
from freemarket.db.models import (
    AuditLog,
    AuthSession,
    LoginCode,
    Notification,
    Profile,
    Report,
    User,
    utcnow,
)
from freemarket.domain import audit, items, reports, sessions, telegram_link, users
from freemarket.domain.actors import OPERATOR
from freemarket.domain.telegram_auth import TelegramIdentity
from freemarket.errors import Conflict, Forbidden, Unauthenticated
from freemarket.infra.settings import Settings
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


@pytest.fixture
def bot_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A client on an app whose server has a bot (a token and the bot's username)."""
    with_bot = settings.model_copy(
        update={"telegram_bot_token": "123456:test-token", "telegram_bot_username": "FmTestBot"}
    )
    with TestClient(create_app(with_bot, engine=engine), raise_server_exceptions=False) as c:
        yield c


def test_the_web_issues_a_link_code_for_the_bot(
    bot_client: TestClient, db: Session, anna: User, anna_h: Headers
) -> None:
    """POST /api/users/me/telegram-link: the /start payload for the bot, as a t.me link."""
    response = bot_client.post("/api/users/me/telegram-link", headers=anna_h)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["start_payload"].startswith("link_") and len(body["start_payload"]) <= 64
    assert body["url"] == f"https://t.me/FmTestBot?start={body['start_payload']}"
    user = telegram_link.link_telegram(
        db, code=body["start_payload"][5:], identity=_identity(), language="en"
    )
    assert user.id == anna.id and user.telegram_id == 7001
    assert bot_client.post("/api/users/me/telegram-link").status_code == 401


def test_no_link_code_on_a_server_without_a_bot(
    client: TestClient, db: Session, anna_h: Headers
) -> None:
    """Nobody could send a code to a bot that is not there: a clear 4xx, and no code issued."""
    response = client.post("/api/users/me/telegram-link", headers=anna_h)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "telegram_not_configured"
    assert "start_payload" not in response.json()
    assert db.scalar(select(func.count(LoginCode.id))) == 0


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


def _placeholder_with_history(db: Session, make_user: Callable[..., User]) -> tuple[User, User]:
    """A Telegram account that pressed /start before linking, then filed and drew a report."""
    villain = make_user("villain")
    placeholder = users.sign_in_telegram(db, identity=_identity())
    reports.create_report(db, reporter=placeholder, reason="spam in the chat", user_id=villain.id)
    reports.create_report(db, reporter=villain, reason="rude placeholder", user_id=placeholder.id)
    db.add(Notification(user_id=placeholder.id, dedupe_key="welcome:placeholder"))
    audit.record(db, actor=placeholder, action="test_action", target_type="user")
    sessions.issue_token(db, user=placeholder, ttl=timedelta(hours=1), origin="test")
    db.commit()
    return placeholder, villain


def _owners(db: Session, column: Any) -> list[int | None]:
    """The user ids a column holds, in row order."""
    return list(db.scalars(select(column).order_by(column.table.c.id)))


def test_linking_moves_what_the_placeholder_account_held(
    db: Session, make_user: Callable[..., User]
) -> None:
    """Its reports (filed and drawn), notifications, audit entries and profile survive."""
    web = make_user("webby")
    placeholder, villain = _placeholder_with_history(db, make_user)
    users.create_profile(db, user=placeholder, data={"bio": "из телеграма"}, location="Тверь")
    link = telegram_link.issue_link_code(db, actor=web, ttl=timedelta(minutes=5))
    db.commit()

    linked = telegram_link.link_telegram(db, code=link.code, identity=_identity())
    db.commit()
    assert linked.id == web.id and linked.telegram_id == 7001
    assert db.get(User, placeholder.id) is None
    assert _owners(db, Report.reporter_id) == [web.id, villain.id]
    assert _owners(db, Report.reported_user_id) == [villain.id, web.id]
    assert _owners(db, Notification.user_id) == [web.id]
    assert db.scalar(select(Profile.data).where(Profile.user_id == web.id)) == {
        "bio": "из телеграма"
    }
    # Its sessions only opened the placeholder: they go with it.
    assert _owners(db, AuthSession.user_id) == []
    assert placeholder.id not in _owners(db, AuditLog.actor_id)
    assert web.id in _owners(db, AuditLog.actor_id)


def test_a_second_profile_is_kept_in_the_audit_entry(
    db: Session, make_user: Callable[..., User]
) -> None:
    """Both accounts have a profile: the linked account keeps its own, the other is recorded."""
    web = make_user("webby")
    users.create_profile(db, user=web, data={"bio": "с сайта"})
    placeholder = users.sign_in_telegram(db, identity=_identity())
    users.create_profile(db, user=placeholder, data={"bio": "из телеграма"}, visibility="private")
    link = telegram_link.issue_link_code(db, actor=web, ttl=timedelta(minutes=5))
    db.commit()

    telegram_link.link_telegram(db, code=link.code, identity=_identity())
    db.commit()
    assert list(db.scalars(select(Profile.data))) == [{"bio": "с сайта"}]
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "link_telegram")).one()
    assert entry.details["released_user_id"] == placeholder.id
    assert entry.details["dropped_profile"]["data"] == {"bio": "из телеграма"}
    assert entry.details["dropped_profile"]["visibility"] == "private"


@pytest.mark.parametrize("why", ["listing", "banned"])
def test_an_account_that_is_more_than_a_placeholder_is_refused(
    db: Session, make_user: Callable[..., User], why: str
) -> None:
    """Listings of its own, or a ban (giving it up would lift it): refused, nothing changes."""
    web = make_user("webby")
    placeholder, _ = _placeholder_with_history(db, make_user)
    if why == "listing":
        items.create_item(db, owner=placeholder, kind="offer", category="books", title="Атлас")
    else:
        users.set_banned(db, actor=OPERATOR, user=placeholder, banned=True)
    link = telegram_link.issue_link_code(db, actor=web, ttl=timedelta(minutes=5))
    db.commit()
    assert telegram_link.is_placeholder(db, placeholder) is (why == "banned")

    expected = (Conflict, "telegram_in_use") if why == "listing" else (Forbidden, "account_banned")
    with pytest.raises(expected[0]) as refused:
        telegram_link.link_telegram(db, code=link.code, identity=_identity())
    assert refused.value.code == expected[1]
    db.rollback()
    assert db.get(User, placeholder.id).telegram_id == 7001  # type: ignore[union-attr]
    assert db.get(User, web.id).telegram_id is None  # type: ignore[union-attr]
    assert len(_owners(db, Report.reporter_id)) == 2
