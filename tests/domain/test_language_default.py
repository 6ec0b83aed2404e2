"""A language nobody chose stays unset until Telegram or a browser tells; a chosen one stays."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.db.models import User, utcnow
from freemarket.domain import importer, users
from freemarket.domain.telegram_auth import TelegramIdentity


def _line(**fields: object) -> str:
    return json.dumps({"type": "user", **fields})


def _user(db: Session, username: str) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def test_import_leaves_an_unsaid_language_unset_and_keeps_a_chosen_one(db: Session) -> None:
    """An import line without a language neither sets one nor overwrites the person's choice."""
    importer.import_lines(db, [_line(username="quiet"), _line(username="chose", language="en")])
    db.commit()
    assert (_user(db, "quiet").language, _user(db, "chose").language) == (None, "en")
    report = importer.import_lines(db, [_line(username="chose", city="Тверь")])
    db.commit()
    assert report.updated["user"] == 1
    assert (_user(db, "chose").language, _user(db, "chose").city) == ("en", "Тверь")


def test_telegram_fills_an_unset_language_and_messages_fall_back_to_russian(
    db: Session,
) -> None:
    """Telegram's language_code is adopted only while unset; unset speaks Russian meanwhile."""
    web = users.create_user(db, username="web_only", telegram_id=4242)
    assert Translator(web.language).language == "ru"
    identity = TelegramIdentity(
        telegram_id=4242,
        username=None,
        first_name="W",
        last_name=None,
        auth_date=utcnow(),
        signature="",
    )
    users.sign_in_telegram(db, identity=identity, language="de")
    assert web.language is None  # a language we do not speak leaves it unset
    users.sign_in_telegram(db, identity=identity, language="en-US")
    assert web.language == "en"
    users.sign_in_telegram(db, identity=identity, language="ru")
    assert web.language == "en"  # adopted once, then it is theirs
