"""Deliver the Telegram part of the notification outbox: retries, backoff, never twice.

A row is marked `sending` and committed before the message goes out, then `sent` after. A
worker that dies in between leaves a `sending` row whose outcome is unknown: it is given up as
`dead` rather than sent again, because a duplicate message is worse than a missed one (the web
inbox still has it).

What each person asked for is applied here, when a message is due: Telegram notifications off
makes the row `skipped`; quiet hours keep it pending until they end; and a burst of matches
(more than DIGEST_AFTER for one person within DIGEST_WINDOW, as after an import or a
recompute) goes out as one digest message instead of one message each.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from freemarket.bot.notify import render_digest, render_notification
from freemarket.bot.views import View
from freemarket.db.models import Notification, User, utcnow
from freemarket.db.session import unit_of_work
from freemarket.domain import preferences
from freemarket.infra import metrics

log = logging.getLogger("freemarket.delivery")

MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
STALE_SENDING = timedelta(minutes=5)
# More match notifications than this for one person within the window become one digest.
DIGEST_AFTER = 3
DIGEST_WINDOW = timedelta(minutes=10)


class DeliveryError(Exception):
    """A send that failed; `permanent` when retrying cannot help (blocked bot, no such chat)."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


Sender = Callable[[int, View], Awaitable[None]]


@dataclass(slots=True)
class DeliveryResult:
    """What one delivery pass did (counted in outbox rows; a digest sends several at once)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    held: int = 0
    messages: int = 0


@dataclass(slots=True)
class Outgoing:
    """One Telegram message and the outbox rows it delivers."""

    chat_id: int
    view: View
    notification_ids: list[int] = field(default_factory=list)


def _recent_match_messages(session: Session, user_id: int, since: datetime) -> int:
    """Match notifications already sent to the person on Telegram since `since`."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.channel == "telegram",
                Notification.kind == "match",
                Notification.status == "sent",
                Notification.sent_at >= since,
            )
        )
        or 0
    )


def _claim(
    session: Session, *, limit: int, public_url: str, result: DeliveryResult
) -> list[Outgoing]:
    """Mark due rows `sending` and return the messages to send for them."""
    now = utcnow()
    stale = now - STALE_SENDING
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
            Notification.next_attempt_at <= now,
        )
        .order_by(Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Notification)
    ).all()
    by_user: dict[int, tuple[User, list[Notification]]] = {}
    for notification, user in rows:
        by_user.setdefault(user.id, (user, []))[1].append(notification)
    claimed: list[Outgoing] = []
    for user, notifications in by_user.values():
        if user.telegram_id is None or user.is_banned:
            for notification in notifications:
                notification.status = "dead"
                notification.last_error = "user cannot be reached on Telegram"
            result.dead += len(notifications)
            continue
        if not user.notify_telegram:
            for notification in notifications:
                notification.status = "skipped"
                notification.last_error = "Telegram notifications are off for this person"
            result.skipped += len(notifications)
            continue
        zone = preferences.zone_of(time_zone=user.time_zone, city=user.city)
        quiet_end = preferences.quiet_until(
            now=now, start=user.quiet_start, end=user.quiet_end, zone=zone
        )
        if quiet_end is not None:
            for notification in notifications:
                notification.next_attempt_at = quiet_end
            result.held += len(notifications)
            continue
        claimed += _messages_for(session, user, notifications, now=now, public_url=public_url)
    for outgoing in claimed:
        for notification_id in outgoing.notification_ids:
            notification = session.get(Notification, notification_id)
            assert notification is not None
            notification.status = "sending"
            notification.next_attempt_at = now
            notification.attempts += 1
    return claimed


def _messages_for(
    session: Session,
    user: User,
    notifications: list[Notification],
    *,
    now: datetime,
    public_url: str,
) -> list[Outgoing]:
    """One message per row, except that a burst of matches becomes one digest."""
    assert user.telegram_id is not None
    matches = [n for n in notifications if n.kind == "match"]
    burst = (
        user.digest_enabled
        and len(matches) > 1
        and len(matches) + _recent_match_messages(session, user.id, now - DIGEST_WINDOW)
        > DIGEST_AFTER
    )
    messages = []
    if burst:
        view = render_digest(matches, user, public_url=public_url)
        messages.append(Outgoing(user.telegram_id, view, [n.id for n in matches]))
    for notification in notifications:
        if burst and notification.kind == "match":
            continue
        view = render_notification(session, notification, user, public_url=public_url)
        messages.append(Outgoing(user.telegram_id, view, [notification.id]))
    return messages


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


async def deliver_once(
    engine: Engine, send: Sender, *, public_url: str, limit: int = 50
) -> DeliveryResult:
    """Send every due Telegram notification once; record each outcome."""
    result = DeliveryResult()
    with unit_of_work(engine) as session:
        claimed = _claim(session, limit=limit, public_url=public_url, result=result)
    for outgoing in claimed:
        error: DeliveryError | None = None
        try:
            await send(outgoing.chat_id, outgoing.view)
        except DeliveryError as exc:
            error = exc
        with unit_of_work(engine) as session:
            outcomes = [_settle(session, nid, error) for nid in outgoing.notification_ids]
        result.messages += 1
        for outcome in outcomes:
            setattr(result, outcome, getattr(result, outcome) + 1)
        if error is None:
            metrics.NOTIFICATIONS_SENT.inc(len(outcomes))
        else:
            metrics.NOTIFICATIONS_FAILED.inc(len(outcomes))
            log.warning("notifications %s %s: %s", outgoing.notification_ids, outcomes[0], error)
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

    from freemarket.bot.sending import send_view

    assert isinstance(bot, Bot)

    async def send(chat_id: int, view: View) -> None:
        try:
            await send_view(bot, chat_id, view)
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
    engine: Engine,
    send: Sender,
    stop: threading.Event,
    *,
    public_url: str,
    poll_seconds: float = 1.0,
) -> None:
    """Deliver until `stop` is set, polling when idle."""
    while not stop.is_set():
        try:
            result = await deliver_once(engine, send, public_url=public_url)
        except Exception:  # the database may be restarting: try again shortly
            log.exception("delivery pass failed")
            result = DeliveryResult()
        if result.messages + result.dead + result.skipped == 0:
            await asyncio.sleep(poll_seconds)
