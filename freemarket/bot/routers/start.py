"""/start (with deep links), /help, /lang, /login and the Mini App button."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import LangCb, button, markup, url_button, web_app_button
from freemarket.bot.sending import send_view
from freemarket.bot.views import exchange_view, item_view, name_of
from freemarket.db.models import User
from freemarket.domain import exchanges, items, sessions, telegram_link, users
from freemarket.infra.settings import Settings

router = Router(name="start")


@router.message(CommandStart())
async def start(
    message: Message,
    bot: Bot,
    command: CommandObject,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Greet (the account exists by now) and open the place a deep link points to."""
    await state.clear()
    payload = (command.args or "").strip()
    if payload.startswith(telegram_link.START_PREFIX):
        # The middleware already linked this chat to the account that issued the code.
        await message.answer(t("linked", name=name_of(actor, t)) + "\n\n" + t("help"))
        return
    if payload == "login":
        await send_login_link(message, db, actor, t, settings)
        return
    if payload.startswith("item_") and payload[5:].isdigit():
        item = items.get_visible_item(db, item_id=int(payload[5:]), viewer=actor)
        await send_view(bot, message.chat.id, item_view(db, item, t, settings.public_url))
        return
    if payload.startswith("exchange_") and payload[9:].isdigit():
        exchange = exchanges.get_exchange(db, exchange_id=int(payload[9:]), viewer=actor)
        view = exchange_view(db, exchange, actor, t)
        await message.answer(view.text, reply_markup=view.keyboard)
        return
    welcome = t("welcome", name=name_of(actor, t)) + "\n\n" + t("help")
    if telegram_link.is_placeholder(db, actor):
        # Someone new here may already have an account from the website: say how to join them.
        welcome += "\n\n" + t("link-hint")
    await message.answer(welcome)


@router.message(Command("help"))
async def help_command(message: Message, t: Translator) -> None:
    """What the bot can do."""
    await message.answer(t("help"))


@router.message(Command("lang"))
async def lang(message: Message, t: Translator) -> None:
    """Offer both languages."""
    keyboard = markup(
        [[button("Русский", LangCb(language="ru")), button("English", LangCb(language="en"))]]
    )
    await message.answer(t("lang-choose"), reply_markup=keyboard)


@router.callback_query(LangCb.filter())
async def lang_chosen(
    callback: CallbackQuery, callback_data: LangCb, db: Session, actor: User
) -> None:
    """Store the language on the account: the bot and the web UI use it from now on."""
    users.edit_user(db, actor=actor, user_id=actor.id, changes={"language": callback_data.language})
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(Translator(callback_data.language)("lang-set"))


@router.message(Command("login"))
async def login(
    message: Message, db: Session, actor: User, t: Translator, settings: Settings
) -> None:
    """A one-time sign-in link to the web UI (the same codes as `freemarket user login-link`)."""
    await send_login_link(message, db, actor, t, settings)


async def send_login_link(
    message: Message, db: Session, actor: User, t: Translator, settings: Settings
) -> None:
    """Issue the link and send it with a button, and the Mini App button where it can work."""
    ttl = timedelta(minutes=settings.login_code_ttl_minutes)
    link = sessions.issue_login_link(
        db, user=actor, actor=actor, ttl=ttl, public_url=settings.public_url
    )
    text = t("login-link", minutes=settings.login_code_ttl_minutes, url=link.url)
    rows = [[url_button(t("btn-open-site"), link.url)]]
    app = web_app_button(t("btn-open-app"), settings.public_url)
    if app is not None:
        rows.append([app])
    await message.answer(text, reply_markup=markup(rows))


@router.message(Command("cancel"))
async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
    """Leave whatever dialogue is going on; nothing half-written stays behind."""
    if await state.get_state() is None:
        await message.answer(t("nothing-to-cancel"))
        return
    await state.clear()
    await message.answer(t("cancelled"))


@router.callback_query(F.data == "noop")
async def noop(callback: CallbackQuery) -> None:
    """A label-only button."""
    await callback.answer()
