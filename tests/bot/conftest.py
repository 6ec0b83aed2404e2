"""The real bot (aiogram Dispatcher, long polling, delivery) against the fake Bot API server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from aiogram.fsm.storage.base import BaseStorage
from sqlalchemy import Engine

from freemarket.bot.dispatcher import build_dispatcher, make_storage
from freemarket.bot.runtime import run_bot
from freemarket.infra.settings import Settings
from tests.fakes.telegram import MESSAGE_CALLS, Call, FakeTelegram, Person, fake_telegram

# This suite's own Redis database (see TEAM.md: never FLUSHALL, keys carry a per-run prefix).
REDIS_URL = "redis://127.0.0.1:6379/11"
PUBLIC_URL = "https://market.example"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server for the test."""
    with fake_telegram() as fake:
        yield fake


@pytest.fixture
def bot_settings(settings: Settings, telegram: FakeTelegram) -> Settings:
    """Settings with the bot pointed at the fake server."""
    return settings.model_copy(
        update={
            "telegram_bot_token": telegram.token,
            "telegram_api_url": telegram.url,
            "public_url": PUBLIC_URL,
        }
    )


@dataclass
class RunningBot:
    """The bot running in a thread (its own event loop), as `freemarket bot` runs it."""

    engine: Engine
    settings: Settings
    telegram: FakeTelegram
    make_storage: Callable[[], BaseStorage]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    failure: list[BaseException] = field(default_factory=list)

    def start(self) -> RunningBot:
        """Start polling and delivering; returns once the bot has registered its commands."""
        self.stop = threading.Event()
        mark = self.telegram.mark()
        dispatcher = build_dispatcher(
            engine=self.engine, settings=self.settings, storage=self.make_storage()
        )

        def main() -> None:
            try:
                asyncio.run(
                    run_bot(
                        self.engine,
                        self.settings,
                        self.stop,
                        poll_seconds=0.05,
                        polling_timeout=1,
                        dispatcher=dispatcher,
                    )
                )
            except BaseException as exc:  # surfaced by stop()
                self.failure.append(exc)

        self.thread = threading.Thread(target=main, name="test-bot", daemon=True)
        self.thread.start()
        self.telegram.wait_for(lambda c: c.method == "getUpdates", after=mark)
        return self

    def shutdown(self) -> None:
        """Stop the bot as a restart or deploy would."""
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=15)
            assert not self.thread.is_alive(), "the bot did not stop"
        assert not self.failure, self.failure

    def say(self, person: Person, text: str, *, timeout: float = 10.0) -> Call:
        """`person` writes to the bot; returns the bot's first message back."""
        mark = self.telegram.mark()
        self.telegram.say(person, text)
        return self.reply_to(person, after=mark, timeout=timeout)

    def press(self, person: Person, call: Call, button: str, *, timeout: float = 10.0) -> Call:
        """`person` presses a button under a message; returns the bot's first message back."""
        mark = self.telegram.mark()
        self.telegram.press(person, call, button)
        return self.reply_to(person, after=mark, timeout=timeout)

    def reply_to(self, person: Person, *, after: int, timeout: float = 10.0) -> Call:
        """The next message (sent or edited) in the person's chat after call number `after`."""
        return self.telegram.wait_for(
            lambda c: c.method in MESSAGE_CALLS and c.chat_id == person.id,
            after=after,
            timeout=timeout,
        )


@pytest.fixture
def running_bot(
    engine: Engine, bot_settings: Settings, telegram: FakeTelegram
) -> Iterator[RunningBot]:
    """The bot running against the fake server with in-memory dialogue state."""
    storage = make_storage(None)
    bot = RunningBot(engine, bot_settings, telegram, lambda: storage).start()
    yield bot
    bot.shutdown()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own in this suite's Redis database."""
    return f"fm-test-{uuid.uuid4().hex[:10]}"


ANNA = Person(id=5001, first_name="Anna", username="anna_tg", language_code="ru")
BORIS = Person(id=5002, first_name="Boris", username="boris_tg", language_code="en")
