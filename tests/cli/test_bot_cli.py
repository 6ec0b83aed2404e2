"""`freemarket bot webhook set|info|delete`, `bot --once` and `notifications list|retry|purge`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from freemarket.db.models import Notification, utcnow
from freemarket.domain import notifications
from freemarket.domain.notifications import OutboxMessage
from tests.cli.conftest import FREEMARKET, Result, cli_env
from tests.conftest import MakeUser
from tests.fakes.telegram import FakeTelegram, fake_telegram

SECRET = "webhook-secret_0123456789abcdefghijklmnop"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fake Bot API server."""
    with fake_telegram() as fake:
        yield fake


def _bot_cli(db_url: str, tmp_path: Path, telegram: FakeTelegram):  # type: ignore[no-untyped-def]
    """Run `freemarket` with the bot pointed at the fake server."""
    env = cli_env(db_url, tmp_path)
    env.update(
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.url,
        PUBLIC_URL="https://market.example",
    )
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)

    def run(*args: str, **extra: str) -> Result:
        done = subprocess.run(
            [FREEMARKET, *args],
            capture_output=True,
            text=True,
            env={**env, **extra},
            cwd=workdir,
            # Importing aiogram takes seconds (minutes on a machine shared by eight runs).
            timeout=300,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr, 0.0)

    return run


@pytest.fixture
def bot_cli(db_url: str, tmp_path: Path, telegram: FakeTelegram):  # type: ignore[no-untyped-def]
    """`freemarket` on the test database (both backends), the bot pointed at the fake."""
    return _bot_cli(db_url, tmp_path, telegram)


@pytest.fixture
def webhook_cli(tmp_path: Path, telegram: FakeTelegram):  # type: ignore[no-untyped-def]
    """`freemarket` for commands that talk only to Telegram: one run, no database needed."""
    return _bot_cli(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path, telegram)


def test_webhook_set_info_delete(webhook_cli, telegram: FakeTelegram) -> None:  # type: ignore[no-untyped-def]
    """set points Telegram at PUBLIC_URL/telegram/webhook with the secret; delete removes it."""
    refused = webhook_cli("bot", "webhook", "set")
    assert refused.code == 1
    assert refused.err.strip() == (
        "error: TELEGRAM_WEBHOOK_SECRET is not set; Telegram could not prove itself"
    )
    done = webhook_cli("bot", "webhook", "set", TELEGRAM_WEBHOOK_SECRET=SECRET)
    assert done.code == 0, done.err
    assert telegram.webhook == {
        "url": "https://market.example/telegram/webhook",
        "secret_token": SECRET,
    }
    assert {"ru", "en"} <= set(telegram.commands)
    info = webhook_cli("bot", "webhook", "info", "--json")
    assert info.code == 0, info.err
    assert info.json()["url"] == "https://market.example/telegram/webhook"
    assert webhook_cli("bot", "webhook", "delete").code == 0
    assert telegram.webhook == {}


def _outbox(db: Session, make_user: MakeUser) -> None:
    anna = make_user("anna", telegram_id=777)
    notifications.enqueue(
        db,
        [
            OutboxMessage(user=anna, kind="unknown-kind", payload={}, dedupe_key=f"k:{i}")
            for i in range(3)
        ],
    )
    db.commit()


def test_bot_once_delivers(
    bot_cli, telegram: FakeTelegram, db: Session, make_user: MakeUser
) -> None:  # type: ignore[no-untyped-def]
    """`bot --once` sends what is due and says what it did."""
    _outbox(db, make_user)
    result = bot_cli("bot", "--once")
    assert result.code == 0, result.err
    assert "sent 3, failed 0, dead 0, skipped 0" in result.out
    assert len(telegram.sent_messages()) == 3
    assert "https://market.example/inbox" in telegram.sent_messages()[0].text


def test_notifications_list_retry_purge(bot_cli, db: Session, make_user: MakeUser) -> None:  # type: ignore[no-untyped-def]
    """list filters by status; retry re-queues dead rows; purge deletes old finished ones."""
    _outbox(db, make_user)
    db.execute(
        update(Notification)
        .where(Notification.channel == "telegram")
        .values(status="dead", last_error="Forbidden: bot was blocked by the user")
    )
    db.commit()
    listed = bot_cli("notifications", "list", "--status", "dead", "--json")
    assert listed.code == 0, listed.err
    assert [r["status"] for r in listed.json()] == ["dead"] * 3
    assert "bot was blocked" in listed.json()[0]["error"]
    table = bot_cli("notifications", "list")
    assert "dead 3" in table.out and "sent 3" in table.out
    bad = bot_cli("notifications", "list", "--status", "lost")
    # A usage error naming the choices, before any database work (issue 12's CLI polish).
    assert bad.code == 2 and "is not one of 'pending', 'sending', 'sent'" in bad.err, bad.err
    retried = bot_cli("notifications", "retry", "--status", "dead", "--json")
    assert retried.json() == {"retried": 3}
    db.expire_all()
    statuses = set(
        db.scalars(select(Notification.status).where(Notification.channel == "telegram"))
    )
    assert statuses == {"pending"}
    # Purge: only finished Telegram rows older than the cutoff; the web inbox stays.
    db.execute(update(Notification).values(status="sent", created_at=utcnow() - timedelta(days=40)))
    db.commit()
    purged = bot_cli("notifications", "purge", "--status", "sent", "--json")
    assert purged.json() == {"purged": 3}
    db.expire_all()
    assert set(db.scalars(select(Notification.channel))) == {"web"}
    assert json.loads(bot_cli("notifications", "purge", "--json").out) == {"purged": 0}
