"""The one place the bot is put together: storage, middleware, routers, commands."""

from __future__ import annotations

from aiogram import Bot, Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand, BotCommandScopeDefault
from sqlalchemy import Engine

from freemarket.bot.i18n import LANGUAGES, text
from freemarket.bot.middleware import UnitOfWork, on_error
from freemarket.bot.routers import exchanges, fallback, items, matches, settings, start
from freemarket.infra.settings import Settings

# In the order they are tried: commands that leave a dialogue come first, the fallback last.
ROUTERS = (start, items, matches, exchanges, settings, fallback)
COMMANDS = (
    "start",
    "offer",
    "want",
    "my",
    "matches",
    "trades",
    "exchanges",
    "login",
    "settings",
    "lang",
    "help",
    "cancel",
)
# Dialogue state outlives a restart in Redis; this long after the last answer it is dropped.
FSM_STATE_TTL_SECONDS = 7 * 24 * 3600


def make_storage(redis_url: str | None, *, prefix: str = "fsm") -> BaseStorage:
    """FSM storage: Redis when configured (shared by replicas, survives restarts), else memory."""
    if not redis_url:
        return MemoryStorage()
    from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

    return RedisStorage.from_url(
        redis_url,
        key_builder=DefaultKeyBuilder(prefix=prefix),
        state_ttl=FSM_STATE_TTL_SECONDS,
        data_ttl=FSM_STATE_TTL_SECONDS,
    )


def build_dispatcher(
    *, engine: Engine, settings: Settings, storage: BaseStorage | None = None
) -> Dispatcher:
    """A Dispatcher with every feature router and the per-update unit of work."""
    dispatcher = Dispatcher(storage=storage or make_storage(settings.redis_url))
    dispatcher.update.outer_middleware(UnitOfWork(engine, settings))
    dispatcher.errors.register(on_error)
    for module in ROUTERS:
        dispatcher.include_router(_fresh(module.router))
    return dispatcher


def _fresh(template: Router) -> Router:
    """A new Router with the template's handlers.

    aiogram lets a Router belong to one Dispatcher for life, and a process builds several (a
    restart, the webhook runtime); the handlers themselves are plain data, safe to share.
    """
    router = Router(name=template.name)
    for event, observer in template.observers.items():
        router.observers[event].handlers.extend(observer.handlers)
    return router


async def register_commands(bot: Bot) -> None:
    """setMyCommands for each language (Russian is also the default for everyone else)."""
    for language in LANGUAGES:
        commands = [BotCommand(command=c, description=text(language, f"cmd-{c}")) for c in COMMANDS]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=language)
        if language == "ru":
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault())
