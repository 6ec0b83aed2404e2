"""What every handler gets: one unit of work per update, the acting user, and their language.

Handlers declare what they need by name (`db`, `actor`, `t`, `settings`), aiogram passes it.
The unit of work commits when the handler returns and rolls back when it raises, exactly as
the API's request does; the error handler then answers in the person's language.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject, Update
from aiogram.types import User as TelegramUser
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator, language_of, message_ids
from freemarket.db.models import utcnow
from freemarket.db.session import is_retryable, retry_delays, unit_of_work
from freemarket.domain import telegram_link, users
from freemarket.domain.telegram_auth import TelegramIdentity
from freemarket.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited
from freemarket.infra.settings import Settings

log = logging.getLogger("freemarket.bot")
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
# The unit of work of the update being handled, for CommitBeforeSending.
_current_unit: ContextVar[Session | None] = ContextVar("freemarket_bot_unit", default=None)
# Whether the update being handled has said anything yet (then it cannot be replayed).
_has_spoken: ContextVar[list[bool] | None] = ContextVar("freemarket_bot_spoken", default=None)


class CommitBeforeSending(BaseRequestMiddleware):
    """Commit the update's changes before the bot tells anyone about them.

    "Posted!" must never reach a person for an item whose transaction then fails, just as the
    API commits before it answers. Handlers do their domain work first and reply after, so
    this commits it whole; the unit of work still commits whatever follows, or rolls it back.
    """

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        """Commit pending changes of the current update, then send."""
        session = _current_unit.get()
        if session is not None and session.in_transaction():
            session.commit()
        spoken = _has_spoken.get()
        if spoken is not None:
            spoken[0] = True
        return await make_request(bot, method)


def identity_of(user: TelegramUser) -> TelegramIdentity:
    """The Telegram user as sign-in knows them: Telegram vouches for who sent an update."""
    return TelegramIdentity(
        telegram_id=user.id,
        username=user.username,
        first_name=user.first_name,
        last_name=user.last_name,
        auth_date=utcnow(),
        signature="",
    )


class UnitOfWork(BaseMiddleware):
    """One transaction per update, and the person behind it (created on first contact).

    Updates are handled one at a time per process: the domain is synchronous, so a handler
    waiting on a row lock (or SQLite's write lock) would block the event loop that the lock's
    holder needs to finish its reply on: a deadlock. Each update's database work takes a few
    milliseconds; more throughput comes from more processes (webhook on every API replica).
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.one_at_a_time = asyncio.Lock()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        """Open the unit of work, find or create the acting user, run the handler."""
        sender: TelegramUser | None = data.get("event_from_user")
        data["settings"] = self.settings
        # Known before the account is: the error handler must speak even if sign-in fails.
        data["t"] = Translator(language_of(sender.language_code if sender else None))
        async with self.one_at_a_time:
            # Like the API (freemarket.api.retry): a transaction the database aborted to
            # resolve a race is replayed from scratch, as long as nothing was sent yet.
            for delay in (*retry_delays(), None):
                spoken = [False]
                token = _has_spoken.set(spoken)
                try:
                    return await self._handle(handler, event, data, sender)
                except Exception as exc:
                    if delay is None or spoken[0] or not is_retryable(exc):
                        raise
                    log.info("update replayed after a lost race: %s", type(exc).__name__)
                finally:
                    _has_spoken.reset(token)
                await asyncio.sleep(delay)
            raise AssertionError("unreachable: the last attempt returns or raises")

    async def _handle(
        self,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
        sender: TelegramUser | None,
    ) -> Any:
        with unit_of_work(self.engine) as session:
            token = _current_unit.set(session)
            try:
                return await self._with_actor(handler, event, data, sender, session)
            finally:
                _current_unit.reset(token)

    async def _with_actor(
        self,
        handler: Handler,
        event: TelegramObject,
        data: dict[str, Any],
        sender: TelegramUser | None,
        session: Session,
    ) -> Any:
        data["db"] = session
        if sender is not None and not sender.is_bot:
            link_code = _link_code(event)
            if link_code is not None:
                # `/start link_<code>` from the web settings: this Telegram account becomes a
                # way into that account, instead of getting one of its own.
                actor = telegram_link.link_telegram(
                    session,
                    code=link_code,
                    identity=identity_of(sender),
                    language=sender.language_code,
                )
            else:
                actor = users.sign_in_telegram(
                    session, identity=identity_of(sender), language=sender.language_code
                )
            data["actor"] = actor
            data["t"] = Translator(actor.language)
        return await handler(event, data)


def _link_code(event: TelegramObject) -> str | None:
    """The link code of an update that is a `/start link_<code>` message."""
    message = event.message if isinstance(event, Update) else None
    return telegram_link.code_in_command(message.text) if message is not None else None


ERROR_TEXTS: list[tuple[type[DomainError], str]] = [
    (NotFound, "error-not-found"),
    (Forbidden, "error-forbidden"),
    (Conflict, "error-conflict"),
    (InvalidInput, "error-invalid"),
    (RateLimited, "error-rate-limited"),
]


def error_text(exc: DomainError, t: Translator) -> str:
    """The error in the person's words: by its code when the catalog has it, else its kind."""
    params = {k: str(v) for k, v in exc.params.items()}
    if "status" in params:
        params["status"] = t(f"status-{params['status']}")
    key = f"error-{exc.code.replace('_', '-')}"
    if key in message_ids(t.language):
        return t(key, **params)
    generic = next((k for cls, k in ERROR_TEXTS if isinstance(exc, cls)), "error-generic")
    return t(generic, detail=exc.message)


async def on_error(event: ErrorEvent, t: Translator | None = None) -> bool:
    """Tell the person what went wrong, in their language; log what nobody expected."""
    t = t or Translator("ru")
    exc = event.exception
    if isinstance(exc, DomainError):
        text = error_text(exc, t)
    else:
        log.error("update %s failed", event.update.update_id, exc_info=exc)
        text = t("error-generic")
    await reply(event.update, text)
    return True


async def reply(update: Update, text: str) -> None:
    """Answer an update where the person is: in the chat, and close a pressed button's spinner."""
    callback: CallbackQuery | None = update.callback_query
    message: Message | None = update.message
    if callback is not None:
        await callback.answer()
        if callback.message is not None and isinstance(callback.message, Message):
            await callback.message.answer(text)
    elif message is not None:
        await message.answer(text)
