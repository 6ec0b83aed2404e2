"""Running the bot: long polling with outbox delivery, or webhook updates handed in by the API."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any

from aiogram import Bot, Dispatcher
from sqlalchemy import Engine

from freemarket.bot import delivery
from freemarket.bot.dispatcher import build_dispatcher, register_commands
from freemarket.bot.middleware import CommitBeforeSending
from freemarket.errors import NotConfigured
from freemarket.infra.settings import Settings

log = logging.getLogger("freemarket.bot")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# How long the API waits for the bot to handle a webhook update before answering Telegram.
WEBHOOK_HANDLE_SECONDS = 25.0


def make_bot(settings: Settings) -> Bot:
    """The aiogram Bot for the configured token and Bot API server."""
    if not settings.telegram_bot_token:
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set; the bot has nothing to sign in with")
    bot = delivery.make_bot(settings.telegram_bot_token, settings.telegram_api_url)
    assert isinstance(bot, Bot)
    bot.session.middleware(CommitBeforeSending())
    return bot


def webhook_url(settings: Settings) -> str:
    """Where Telegram posts updates: the public address nginx forwards to the API."""
    return settings.public_url.rstrip("/") + WEBHOOK_PATH


async def run_bot(
    engine: Engine,
    settings: Settings,
    stop: threading.Event,
    *,
    polling: bool = True,
    poll_seconds: float = 1.0,
    polling_timeout: int = 10,
    dispatcher: Dispatcher | None = None,
) -> None:
    """Deliver the outbox and (with `polling`) answer people, until `stop` is set."""
    bot = make_bot(settings)
    dispatcher = dispatcher or build_dispatcher(engine=engine, settings=settings)
    try:
        await register_commands(bot)
        # Delivery gets a thread and event loop of its own: its database work must never wait
        # on a handler's transaction on the same loop (SQLite's single writer would deadlock).
        tasks = [
            asyncio.create_task(
                asyncio.to_thread(run_delivery_loop, settings, engine, stop, poll_seconds)
            )
        ]
        if polling:
            tasks.append(
                asyncio.create_task(
                    dispatcher.start_polling(
                        bot,
                        handle_signals=False,
                        close_bot_session=False,
                        polling_timeout=polling_timeout,
                    )
                )
            )
        await asyncio.to_thread(stop.wait)
        if polling:
            await dispatcher.stop_polling()
        await asyncio.gather(*tasks)
    finally:
        await bot.session.close()
        await dispatcher.storage.close()


def run_delivery_loop(
    settings: Settings, engine: Engine, stop: threading.Event, poll_seconds: float
) -> None:
    """Deliver the outbox on this thread's own event loop until `stop` is set."""

    async def main() -> None:
        bot = make_bot(settings)
        try:
            await delivery.run_delivery(
                engine,
                delivery.aiogram_sender(bot),
                stop,
                public_url=settings.public_url,
                poll_seconds=poll_seconds,
            )
        finally:
            await bot.session.close()

    asyncio.run(main())


def run_bot_thread(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    """Run the bot on its own event loop (a thread of `freemarket up`)."""
    asyncio.run(run_bot(engine, settings, stop, polling=settings.telegram_mode == "polling"))


class WebhookRuntime:
    """The bot inside the API process: its own event loop thread, fed webhook updates.

    Handlers call the (synchronous) domain; on their own loop they never stall the API's.
    """

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="bot-webhook", daemon=True
        )
        self.thread.start()
        self.bot = make_bot(settings)
        self.dispatcher = build_dispatcher(engine=engine, settings=settings)

    def feed(self, update: dict[str, Any]) -> None:
        """Handle one update from Telegram, waiting until the bot has answered it."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(
            self.dispatcher.feed_raw_update(self.bot, update), self.loop
        )
        future.result(timeout=WEBHOOK_HANDLE_SECONDS)

    def close(self) -> None:
        """Close the Bot API session and stop the loop."""

        async def shutdown() -> None:
            await self.bot.session.close()
            await self.dispatcher.storage.close()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


async def set_webhook(settings: Settings, *, drop_pending: bool = False) -> str:
    """Point Telegram at this server's webhook (with the secret) and register the commands."""
    if not settings.telegram_webhook_secret:
        raise NotConfigured("TELEGRAM_WEBHOOK_SECRET is not set; Telegram could not prove itself")
    bot = make_bot(settings)
    try:
        url = webhook_url(settings)
        await bot.set_webhook(
            url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=["message", "callback_query"],
            drop_pending_updates=drop_pending,
        )
        await register_commands(bot)
        return url
    finally:
        await bot.session.close()


async def webhook_info(settings: Settings) -> dict[str, Any]:
    """What Telegram says about the webhook (url, pending updates, last error)."""
    bot = make_bot(settings)
    try:
        info = await bot.get_webhook_info()
        return info.model_dump(exclude_none=True, mode="json")
    finally:
        await bot.session.close()


async def delete_webhook(settings: Settings, *, drop_pending: bool = False) -> None:
    """Remove the webhook: updates wait for long polling again."""
    bot = make_bot(settings)
    try:
        await bot.delete_webhook(drop_pending_updates=drop_pending)
    finally:
        await bot.session.close()
