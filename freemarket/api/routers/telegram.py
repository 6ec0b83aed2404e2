"""The Telegram webhook: updates Telegram posts (through nginx) are handed to the bot."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from freemarket.api.deps import AppSettings
from freemarket.api.schemas import Message
from freemarket.errors import Forbidden, InvalidInput, NotFound

router = APIRouter(tags=["telegram"])
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def close_runtime(state: Any) -> None:
    """Stop the app's bot, if an update ever started it."""
    runtime = getattr(state, "bot_runtime", None)
    if runtime is not None:
        runtime.close()
        state.bot_runtime = None


def _runtime(request: Request) -> Any:
    """The app's bot, started on the first update (most API replicas never receive one)."""
    state = request.app.state
    if getattr(state, "bot_runtime", None) is None:
        from freemarket.bot.runtime import WebhookRuntime

        state.bot_runtime = WebhookRuntime(state.engine, state.settings)
    return state.bot_runtime


@router.post(
    "/telegram/webhook",
    response_model=Message,
    responses={
        403: {"model": Message, "description": "Missing or wrong secret header"},
        404: {"model": Message, "description": "Webhook mode is off"},
        422: {"model": Message, "description": "Not a Telegram update"},
    },
)
async def telegram_webhook(request: Request, settings: AppSettings) -> Message:
    """Telegram's updates (webhook mode): handled when they carry the secret header."""
    secret = settings.telegram_webhook_secret
    if settings.telegram_mode != "webhook" or not secret or not settings.telegram_bot_token:
        raise NotFound("the Telegram webhook is not enabled on this server", code="webhook_off")
    sent = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(sent.encode(), secret.encode()):
        raise Forbidden(f"missing or wrong {SECRET_HEADER} header", code="webhook_secret")
    try:
        update = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("the update is not JSON", code="webhook_update") from exc
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise InvalidInput("the update has no update_id", code="webhook_update")
    # The bot runs on its own loop; waiting for it happens in a worker thread, not on ours.
    await run_in_threadpool(_runtime(request).feed, update)
    return Message(detail="ok")
