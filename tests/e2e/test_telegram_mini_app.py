"""`freemarket up` with a bot token runs the bot; its Mini App button signs in by initData.

The real service (API + worker + bot) talks to the fake Bot API server; a person /starts the
bot, then opens the web UI the way Telegram opens a Mini App (signed launch data in the
address fragment) in headless Chromium and is signed in without any other step.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from freemarket.domain.telegram_auth import sign_webapp_init_data
from tests.e2e.conftest import Service, running_service
from tests.fakes.telegram import FakeTelegram, Person, fake_telegram

pytestmark = pytest.mark.slow
CARLA = Person(id=7301, first_name="Carla", username="carla_tg", language_code="en")
ERIN = Person(id=7302, first_name="Erin", username="erin_tg", language_code="en")
BOT_USERNAME = "FreeMarketE2EBot"


@pytest.fixture(scope="module")
def telegram() -> Iterator[FakeTelegram]:
    """The fake Bot API server the service's bot talks to."""
    with fake_telegram() as fake:
        yield fake


@pytest.fixture(scope="module")
def bot_service(
    tmp_path_factory: pytest.TempPathFactory,
    web_dist: Path,
    chromium_path: str,
    telegram: FakeTelegram,
) -> Iterator[Service]:
    """`freemarket up` with TELEGRAM_BOT_TOKEN set, pointed at the fake."""
    extra = {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_URL": telegram.url,
        "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
    }
    with running_service(tmp_path_factory.mktemp("e2e-bot"), web_dist, extra) as svc:
        yield svc


def test_up_runs_the_bot_and_the_mini_app_signs_in(
    bot_service: Service, telegram: FakeTelegram, browser: object
) -> None:
    from playwright.sync_api import expect

    # The bot inside `up` registered its commands and answers by long polling.
    telegram.wait_for(lambda c: c.method == "getUpdates", timeout=90)
    assert {"ru", "en"} <= set(telegram.commands)
    mark = telegram.mark()
    telegram.say(CARLA, "/start")
    hello = telegram.wait_for(lambda c: c.chat_id == CARLA.id, after=mark, timeout=15)
    assert hello.text.startswith("Hello, Carla!")

    # Telegram opens the Mini App with signed launch data in the fragment.
    fields = {
        "query_id": "AAE-test",
        "user": json.dumps(CARLA.as_user(), separators=(",", ":")),
        "auth_date": str(int(time.time())),
    }
    init_data = urlencode(sign_webapp_init_data(fields, bot_token=telegram.token))
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="en-US", base_url=bot_service.url
    )
    try:
        page = context.new_page()
        page.goto(f"{bot_service.url}/#tgWebAppData={quote(init_data)}&tgWebAppVersion=7.0")
        expect(page.locator(".account")).to_contain_text("@carla_tg", timeout=15_000)
        assert "tgWebAppData" not in page.url  # the credential left the address bar
    finally:
        context.close()


def test_link_telegram_shows_a_code_the_bot_accepts(
    bot_service: Service, telegram: FakeTelegram, browser: object
) -> None:
    """With a bot, "Link Telegram" shows the code and the t.me link; sent to the bot, it links."""
    from playwright.sync_api import expect

    telegram.wait_for(lambda c: c.method == "getUpdates", timeout=90)
    bot_service.cli("user", "create", "erin", "--language", "en")
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 900}, locale="en-US", base_url=bot_service.url
    )
    try:
        page = context.new_page()
        page.goto(bot_service.login_link("erin"))
        expect(page.locator(".account")).to_contain_text("@erin", timeout=15_000)
        page.goto("/profile")
        region = page.get_by_role("region", name="Telegram")
        region.get_by_role("button", name="Link Telegram").click()
        command = region.locator("code").inner_text()
        assert re.fullmatch(r"/start link_[A-Za-z0-9_-]{16,59}", command), command
        payload = command.removeprefix("/start ")
        expect(region.get_by_role("link", name="Open the bot")).to_have_attribute(
            "href", f"https://t.me/{BOT_USERNAME}?start={payload}"
        )
        expect(region.get_by_role("alert")).to_have_count(0)

        # Erin sends it from Telegram, to the bot running inside `up`.
        mark = telegram.mark()
        telegram.say(ERIN, command)
        reply = telegram.wait_for(lambda c: c.chat_id == ERIN.id, after=mark, timeout=15)
        assert reply.text.startswith("Done, erin:"), reply.text
        shown = json.loads(bot_service.cli("user", "show", "erin", "--json"))
        assert shown["telegram_id"] == ERIN.id
        page.reload()
        expect(region).to_contain_text("Your Telegram account is linked")
    finally:
        context.close()
