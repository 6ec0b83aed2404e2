"""Webhook mode: Telegram's updates through the real API route, proven by the secret header."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.api.app import create_app
from freemarket.db.models import User
from freemarket.infra.settings import Settings
from tests.bot.conftest import ANNA
from tests.fakes.telegram import FakeTelegram

SECRET = "s3cret-token_for-the-webhook-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": ANNA.id, "type": "private"},
            "from": ANNA.as_user(),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


@pytest.fixture
def webhook_client(bot_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The API in webhook mode, its bot talking to the fake server."""
    settings = bot_settings.model_copy(
        update={"telegram_mode": "webhook", "telegram_webhook_secret": SECRET}
    )
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        yield client


def test_wrong_or_missing_secret_is_refused(
    webhook_client: TestClient, telegram: FakeTelegram, db: Session
) -> None:
    """Without the right secret nothing reaches the bot: 403, no message, no account."""
    body = json.dumps(_update(1, "/start"))
    for headers in ({}, {HEADER: "wrong"}, {HEADER: SECRET + "x"}):
        response = webhook_client.post("/telegram/webhook", content=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "webhook_secret"
    assert telegram.sent_messages() == []
    assert db.scalar(select(User)) is None


def test_right_secret_is_handled_like_polling(
    webhook_client: TestClient, telegram: FakeTelegram, db: Session
) -> None:
    """With the secret, the update is answered before the route returns; state is committed."""
    response = webhook_client.post(
        "/telegram/webhook", content=json.dumps(_update(2, "/start")), headers={HEADER: SECRET}
    )
    assert response.status_code == 200, response.text
    [reply] = telegram.sent_messages()
    assert reply.chat_id == ANNA.id and "Здравствуйте, Anna!" in reply.text
    assert db.scalar(select(User.username).where(User.telegram_id == ANNA.id)) == "anna_tg"
    junk = webhook_client.post("/telegram/webhook", content=b"{not json", headers={HEADER: SECRET})
    assert junk.status_code == 422


def test_the_route_is_off_in_polling_mode(client: TestClient) -> None:
    """Without webhook mode the route does not exist for anyone (404, not 405)."""
    response = client.post("/telegram/webhook", json=_update(3, "/start"), headers={HEADER: "x"})
    assert response.status_code == 404
    assert response.json()["code"] == "webhook_off"


def test_production_refuses_a_weak_or_missing_webhook_setup() -> None:
    """Webhook mode in production needs a real secret and Redis for the dialogues."""
    from freemarket.errors import ConfigurationError

    production = Settings(
        _env_file=None,
        environment="production",
        database_url="postgresql+psycopg2://fm:pw@db/fm",
        db_password="a-real-database-password-1234",
        secret_key="Wq3v8Lr0PzX2nM6tB9kY4cH7dJ1sF5gA",  # random: guessable keys are refused
        telegram_bot_token="123456:AAHrealLookingTokenValue0123456789",
        telegram_mode="webhook",
        redis_url="redis://redis:6379/0",
    )
    cases = [
        ({}, "TELEGRAM_WEBHOOK_SECRET is not set"),
        ({"telegram_webhook_secret": "short"}, "placeholder or too weak"),
        ({"telegram_webhook_secret": SECRET, "redis_url": None}, "needs REDIS_URL"),
    ]
    for update, message in cases:
        with pytest.raises(ConfigurationError, match=message):
            production.model_copy(update=update).validate_for_startup()
    production.model_copy(update={"telegram_webhook_secret": SECRET}).validate_for_startup()
