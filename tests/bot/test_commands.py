"""A conversation test for every command, through long polling against the fake Bot API."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, User
from tests.bot.conftest import ANNA, BORIS, PUBLIC_URL, RunningBot


def _user(db: Session, telegram_id: int) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


def test_start_creates_the_account_in_the_telegram_language(
    running_bot: RunningBot, db: Session
) -> None:
    """/start makes an account from the Telegram user: name, @username as contact, language."""
    reply = running_bot.say(ANNA, "/start")
    assert "Здравствуйте, Anna!" in reply.text
    assert "/offer" in reply.text
    anna = _user(db, ANNA.id)
    assert (anna.username, anna.display_name, anna.contact, anna.language) == (
        "anna_tg",
        "Anna",
        "@anna_tg",
        "ru",
    )
    english = running_bot.say(BORIS, "/start")
    assert "Hello, Boris!" in english.text
    assert _user(db, BORIS.id).language == "en"
    # A second /start links to the same account rather than making another.
    running_bot.say(ANNA, "/start")
    assert db.scalar(select(User.id).where(User.telegram_id == ANNA.id)) == anna.id


def test_help_and_ordinary_text(running_bot: RunningBot) -> None:
    """/help lists the commands; text that is not a command gets a short help, never silence."""
    help_text = running_bot.say(BORIS, "/help").text
    for command in ("/offer", "/want", "/my", "/matches", "/trades", "/login", "/settings"):
        assert command in help_text
    assert "I only understand commands" in running_bot.say(BORIS, "hello there").text
    assert "Я понимаю только команды" in running_bot.say(ANNA, "привет").text
    assert "I only understand commands" in running_bot.say(BORIS, "/nonsense").text


def test_lang_switches_and_is_stored(running_bot: RunningBot, db: Session) -> None:
    """/lang offers both languages; the choice is stored on the account and used at once."""
    menu = running_bot.say(ANNA, "/lang")
    done = running_bot.press(ANNA, menu, "English")
    assert done.text == "Done: I will speak English with you."
    assert _user(db, ANNA.id).language == "en"
    assert "What I can do" in running_bot.say(ANNA, "/help").text
    back = running_bot.press(ANNA, running_bot.say(ANNA, "/lang"), "Русский")
    assert "по-русски" in back.text


def test_commands_are_registered_in_both_languages(running_bot: RunningBot) -> None:
    """setMyCommands ran for Russian (also the default) and English."""
    commands = running_bot.telegram.commands
    assert {c["command"] for c in commands["en"]} >= {"start", "offer", "want", "login"}
    assert next(c for c in commands["ru"] if c["command"] == "offer")["description"] == (
        "Предложить вещь или услугу"
    )
    assert commands[""] == commands["ru"]
    assert next(c for c in commands["en"] if c["command"] == "offer")["description"] == (
        "Post something you offer"
    )


def test_login_gives_a_one_time_link(running_bot: RunningBot, db: Session) -> None:
    """/login answers with a one-time link, a button, and the Mini App button; it is audited."""
    reply = running_bot.say(BORIS, "/login")
    assert f"{PUBLIC_URL}/login?code=" in reply.text
    assert "10 minutes" in reply.text
    assert reply.button("Open FreeMarket")["url"].startswith(f"{PUBLIC_URL}/login?code=")
    assert reply.button("Open in Telegram")["web_app"] == {"url": PUBLIC_URL}
    boris = _user(db, BORIS.id)
    assert db.scalar(
        select(AuditLog).where(AuditLog.action == "issue_login_link", AuditLog.actor_id == boris.id)
    )
