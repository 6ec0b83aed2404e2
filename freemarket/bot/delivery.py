"""Deliver the Telegram part of the notification outbox: retries, backoff, never twice.

A row is marked `sending` and committed before the message goes out, then `sent` after. A
worker that dies in between leaves a `sending` row whose outcome is unknown: it is given up as
`dead` rather than sent again, because a duplicate message is worse than a missed one (the web
inbox still has it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from freemarket.bot.texts import render
from freemarket.db.models import Notification, User, utcnow
from freemarket.db.session import unit_of_work
from freemarket.infra import metrics

log = logging.getLogger("freemarket.delivery")

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
STALE_SENDING = timedelta(minutes=5)


class DeliveryError(Exception):
    """A send that failed; `permanent` when retrying cannot help (blocked bot, no such chat)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


Sender = Callable[[int, str], Awaitable[None]]


@dataclass(slots=True)
class DeliveryResult:
    """What one delivery pass did."""

    sent: int = 0
    failed: int = 0
    dead: int = 0


def _claim(session: Session, *, limit: int) -> list[tuple[int, int, str]]:
    """Mark due rows `sending` and return (id, chat id, text) for each."""
    stale = utcnow() - STALE_SENDING
    session.execute(
        update(Notification)
        .where(Notification.status == "sending", Notification.next_attempt_at < stale)
        .values(status="dead", last_error="delivery outcome unknown: sender stopped mid-send")
    )
    rows = session.execute(
        select(Notification, User)
        .join(User, User.id == Notification.user_id)
        .where(
            Notification.channel == "telegram",
            Notification.status.in_(("pending", "failed")),
            Notification.next_attempt_at <= utcnow(),
        )
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Notification)
    ).all()
    claimed = []
    for notification, user in rows:
        if user.telegram_id is None or user.is_banned:
            notification.status = "dead"
            notification.last_error = "user cannot be reached on Telegram"
            continue
        notification.status = "sending"
        notification.next_attempt_at = utcnow()
        notification.attempts += 1
        claimed.append(
            (
                notification.id,
                user.telegram_id,
                render(notification.kind, notification.payload, user.language),
            )
        )
    return claimed


def _settle(session: Session, notification_id: int, error: DeliveryError | None) -> str:
    notification = session.get(Notification, notification_id)
    assert notification is not None
    if error is None:
        notification.status = "sent"
        notification.sent_at = utcnow()
        notification.last_error = None
        return "sent"
    notification.last_error = str(error)[:2000]
    if error.permanent or notification.attempts >= MAX_ATTEMPTS:
        notification.status = "dead"
        return "dead"
    delay = (
        timedelta(seconds=error.retry_after)
        if error.retry_after
        else BACKOFF_BASE * (2 ** (notification.attempts - 1))
    )
    notification.status = "failed"
    notification.next_attempt_at = utcnow() + delay
    return "failed"


async def deliver_once(engine: Engine, send: Sender, *, limit: int = 50) -> DeliveryResult:
    """Send every due Telegram notification once; record each outcome."""
    with unit_of_work(engine) as session:
        claimed = _claim(session, limit=limit)
    result = DeliveryResult()
    for notification_id, chat_id, text in claimed:
        error: DeliveryError | None = None
        try:
            await send(chat_id, text)
        except DeliveryError as exc:
            error = exc
        with unit_of_work(engine) as session:
            outcome = _settle(session, notification_id, error)
        setattr(result, outcome, getattr(result, outcome) + 1)
        if outcome == "sent":
            metrics.NOTIFICATIONS_SENT.inc()
        else:
            metrics.NOTIFICATIONS_FAILED.inc()
            log.warning("notification %s %s: %s", notification_id, outcome, error)
    return result


def aiogram_sender(bot: object) -> Sender:
    """A sender over an aiogram Bot, turning its exceptions into DeliveryError."""
    from aiogram import Bot
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramBadRequest,
        TelegramForbiddenError,
        TelegramNotFound,
        TelegramRetryAfter,
        TelegramUnauthorizedError,
    )

    assert isinstance(bot, Bot)

    async def send(chat_id: int, text: str) -> None:
        try:
            await bot.send_message(chat_id=chat_id, text=text)
        except TelegramAPIError as exc:
            metrics.TELEGRAM_API_ERRORS.labels(type(exc).__name__).inc()
            if isinstance(exc, TelegramRetryAfter):
                raise DeliveryError(
                    str(exc), permanent=False, retry_after=float(exc.retry_after)
                ) from exc
            permanent = isinstance(
                exc,
                TelegramForbiddenError
                | TelegramBadRequest
                | TelegramNotFound
                | TelegramUnauthorizedError,
            )
            raise DeliveryError(str(exc), permanent=permanent) from exc
        except Exception as exc:  # network trouble: aiohttp and asyncio errors
            metrics.TELEGRAM_API_ERRORS.labels(type(exc).__name__).inc()
            raise DeliveryError(f"{type(exc).__name__}: {exc}", permanent=False) from exc

    return send


def make_bot(token: str, api_url: str) -> object:
    """An aiogram Bot talking to `api_url` (Telegram, or a local Bot API server)."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url.rstrip("/")))
    return Bot(token=token, session=session)


async def run_delivery(
    engine: Engine, send: Sender, stop: threading.Event, *, poll_seconds: float = 1.0
) -> None:
    """Deliver until `stop` is set, polling when idle."""
    while not stop.is_set():
        try:
            result = await deliver_once(engine, send)
        except Exception:  # the database may be restarting: try again shortly
            log.exception("delivery pass failed")
            result = DeliveryResult()
        if result.sent + result.failed + result.dead == 0:
            await asyncio.sleep(poll_seconds)


def run_delivery_thread(
    engine: Engine, *, token: str, api_url: str, stop: threading.Event, poll_seconds: float = 1.0
) -> None:
    """Run the delivery loop on its own event loop (a thread of `freemarket up`)."""

    async def main() -> None:
        telegram = make_bot(token, api_url)
        try:
            await run_delivery(engine, aiogram_sender(telegram), stop, poll_seconds=poll_seconds)
        finally:
            await telegram.session.close()  # type: ignore[attr-defined]

    asyncio.run(main())
