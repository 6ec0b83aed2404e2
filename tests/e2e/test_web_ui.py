"""The web UI in a real browser, as people use it: two people, two languages, one exchange.

Runs the real service (`freemarket up`: API + worker, serving frontend/dist) on a private SQLite
database and drives headless Debian Chromium through Playwright. Each person has their own
browser contexts (separate cookie jars); axe-core checks every page; screenshots of the main
pages on a desktop and a phone are saved (FREEMARKET_E2E_SCREENSHOT_DIR keeps a copy; `make
screenshots` refreshes the README's).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import Service, axe_violations

pytestmark = pytest.mark.slow

TIMEOUT_MS = 15_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

OFFER_TITLE = "Детский велосипед Stels 16 дюймов"
WANT_TITLE = "Ищу детский велосипед 16 дюймов"
REVIEW = "Всё честно, спасибо!"


@pytest.fixture(autouse=True)
def _patient_expect() -> None:
    """Assertions wait as long as actions do (a loaded CI machine is slow)."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)


class Shots:
    """Screenshots of the journey, kept in the test's directory (and copied where asked)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.keep = os.environ.get("FREEMARKET_E2E_SCREENSHOT_DIR")
        self.taken: list[Path] = []

    def __call__(self, page, name: str) -> Path:
        from playwright.sync_api import expect

        page.wait_for_load_state("networkidle")
        expect(page.get_by_text("…", exact=True)).to_have_count(0)
        path = self.directory / f"{name}.png"
        page.screenshot(path=str(path), full_page=name.endswith("desktop"))
        self.taken.append(path)
        if self.keep:
            Path(self.keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(self.keep) / path.name)
        return path


class Audit:
    """axe-core on every page the journey shows: serious and critical violations fail the test."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.pages = 0

    def __call__(self, page, label: str) -> None:
        page.wait_for_load_state("networkidle")
        self.pages += 1
        violations = axe_violations(page)
        if violations:
            self.found[f"{label} ({page.url})"] = violations


def _context(
    browser,
    service: Service,
    *,
    locale: str,
    viewport: dict[str, int] = DESKTOP,
    color_scheme: str = "light",
):
    context = browser.new_context(
        viewport=viewport, locale=locale, base_url=service.url, color_scheme=color_scheme
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # type: ignore[attr-defined]
    return context, page


def _sign_in(browser, service: Service, username: str, *, locale: str, sign_out: str):
    """A new browser context signed in through `username`'s one-time link."""
    from playwright.sync_api import expect

    context, page = _context(browser, service, locale=locale)
    page.goto(service.login_link(username))
    page.wait_for_url(service.url + "/")
    expect(page.locator(".account")).to_contain_text(f"@{username}")
    # The interface speaks the person's saved language, not their browser's.
    expect(page.get_by_role("button", name=sign_out)).to_be_visible()
    return context, page


def _photo(path: Path, colour: tuple[int, int, int], *, size: tuple[int, int]) -> Path:
    image = Image.new("RGB", size, colour)
    image.paste((240, 240, 240), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    path.write_bytes(out.getvalue())
    return path


def _wait_for(check, what: str, service: Service, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen:\n{service.log_tail()}"
        time.sleep(0.5)


def test_two_people_exchange_in_two_languages(browser, service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    started = time.monotonic()
    shot, audit = Shots(tmp_path), Audit()
    photos = [
        _photo(tmp_path / "bike-front.jpg", (20, 90, 200), size=(1600, 1200)),
        _photo(tmp_path / "bike-side.jpg", (200, 40, 40), size=(1200, 1600)),
    ]
    contexts = []
    try:
        # Alice reads English (her saved setting), though her browser asks for Russian.
        alice_ctx, alice = _sign_in(browser, service, "alice", locale="ru-RU", sign_out="Sign out")
        contexts.append(alice_ctx)
        alice.get_by_role("link", name="+ Post").click()
        expect(alice.get_by_role("heading", name="New listing")).to_be_visible()
        audit(alice, "post form (en)")
        # Client-side validation, in her language and with the right plural.
        alice.get_by_role("button", name="Post", exact=True).click()
        expect(alice.get_by_text("At least 2 characters")).to_be_visible()
        alice.get_by_label("Give away (offer)").check()
        alice.get_by_label("Category").select_option("bicycles")
        alice.get_by_label("Title").fill(OFFER_TITLE)
        alice.get_by_label("Description").fill(
            "Синий, колёса 16 дюймов, есть звонок. Blue kids bike."
        )
        alice.get_by_label("City").fill("Москва")
        alice.locator("input[type=file]").set_input_files([str(p) for p in photos])
        expect(alice.locator(".photo-list img")).to_have_count(2)
        alice.get_by_role("button", name="Post", exact=True).click()
        alice.wait_for_url(re.compile(r"/items/\d+\?posted=1$"))
        offer_id = int(re.search(r"/items/(\d+)", alice.url).group(1))  # type: ignore[union-attr]
        expect(alice.get_by_role("status").first).to_contain_text("Your listing is posted")
        expect(alice.get_by_role("heading", level=1)).to_have_text(OFFER_TITLE)
        expect(alice.locator(".gallery-thumbs img")).to_have_count(2)
        natural = alice.wait_for_function(
            "() => { const i = document.querySelector('.gallery-main');"
            " return i && i.complete && i.naturalWidth > 0 && i.naturalWidth; }"
        )
        assert natural.json_value() == 1280  # the display size, resized by the server
        expect(alice.get_by_role("heading", name="Matches for this listing")).to_be_visible()
        audit(alice, "item page, owner (en)")
        shot(alice, "item-desktop")

        # Bob's saved language is Russian; his browser asks for English.
        bob_ctx, bob = _sign_in(browser, service, "bob", locale="en-US", sign_out="Выйти")
        contexts.append(bob_ctx)
        expect(bob.get_by_test_id("unread-badge")).to_have_count(0)
        bob.get_by_role("link", name="+ Разместить").click()
        bob.get_by_label("Найти (запрос)").check()
        bob.get_by_label("Категория").select_option("bicycles")
        bob.get_by_label("Название").fill(WANT_TITLE)
        bob.get_by_label("Описание").fill("Нужен велосипед для ребёнка 5 лет, колёса 16 дюймов.")
        bob.get_by_label("Город").fill("Москва")
        bob.get_by_role("button", name="Разместить", exact=True).click()
        bob.wait_for_url(re.compile(r"/items/\d+\?posted=1$"))
        want_id = int(re.search(r"/items/(\d+)", bob.url).group(1))  # type: ignore[union-attr]
        # The new listing's page shows its first match as soon as the worker finds it.
        found = bob.get_by_test_id("item-matches").locator(f"a[href='/items/{offer_id}']")
        expect(found).to_be_visible(timeout=40_000)
        expect(bob.get_by_test_id("item-matches").locator("img.thumb")).to_have_count(1)
        audit(bob, "item page with matches (ru)")

        # The match is announced: Bob's unread badge appears, and goes once he reads the inbox.
        bob.get_by_role("link", name="Совпадения", exact=True).click()
        badge = bob.get_by_test_id("unread-badge")
        expect(badge).to_have_text("1", timeout=30_000)
        expect(badge).to_have_attribute("aria-label", "1 непрочитанное уведомление")
        match = bob.locator("[data-match-id]").first
        expect(match.get_by_role("link", name=OFFER_TITLE)).to_be_visible()
        chips = match.locator(".chip").all_inner_texts()
        # Chips are the listings' own words, not stems cut mid-word.
        assert "велосипед" in chips and "детский" in chips, chips
        expect(match.get_by_role("button", name="Не интересно")).to_be_visible()
        audit(bob, "matches (ru)")
        shot(bob, "matches-desktop")
        bob.get_by_role("link", name=re.compile(r"^Входящие")).click()
        expect(bob.locator(".inbox")).to_contain_text("Новое совпадение")
        expect(badge).to_have_count(0)
        audit(bob, "inbox (ru)")

        # Bob proposes from Alice's item page, which fits his want.
        bob.goto(f"/items/{offer_id}")
        expect(bob.locator(".gallery-thumbs img")).to_have_count(2)
        expect(bob.get_by_text(f"Подходит к вашему запросу «{WANT_TITLE}»")).to_be_visible()
        audit(bob, "item page, visitor signed in (ru)")
        bob.get_by_role("button", name="Предложить обмен").click()
        expect(bob.get_by_role("status")).to_contain_text("Предложение отправлено")
        # A report, with reasons, reaches the moderators.
        bob.get_by_role("button", name="Пожаловаться").click()
        bob.get_by_label("Спам или реклама").check()
        audit(bob, "report form (ru)")
        bob.get_by_role("button", name="Отмена").click()

        # A new visitor: the idea in two lines, a call to action, the listings with photos.
        visitor_ctx, visitor = _context(browser, service, locale="en-US")
        contexts.append(visitor_ctx)
        visitor.goto("/")
        expect(visitor.get_by_role("heading", name="Swap things without money")).to_be_visible()
        expect(visitor.get_by_role("link", name="Sign in and post")).to_be_visible()
        listing = visitor.get_by_test_id("item-list")
        expect(listing.locator("[data-item-id]")).to_have_count(2)
        expect(visitor.get_by_text("Showing 2 listings")).to_be_visible()
        expect(listing.locator(f"[data-item-id='{offer_id}'] img")).to_be_visible()
        audit(visitor, "home (en)")
        shot(visitor, "home-desktop")
        visitor.set_viewport_size(PHONE)
        visitor.reload()
        # On a phone the listings come first: the filters fold behind one button.
        expect(visitor.get_by_role("search")).to_be_hidden()
        first_card = listing.locator("[data-item-id]").first
        expect(first_card).to_be_visible()
        box = first_card.bounding_box()
        assert box is not None and box["y"] < PHONE["height"], box
        audit(visitor, "home (en, phone)")
        shot(visitor, "home-phone")
        visitor.get_by_role("button", name="Filters").click()
        expect(visitor.get_by_role("search")).to_be_visible()
        visitor.set_viewport_size(DESKTOP)
        # The home search speaks the matcher's language: slang and English find the Russian
        # bicycles (the offer and the want), and a word no listing has finds nothing.
        search_box = visitor.get_by_role("search")
        for query, found in (("велик", 2), ("bike", 2), ("диван", 0)):
            search_box.get_by_label("Search", exact=True).fill(query)
            search_box.get_by_role("button", name="Search", exact=True).click()
            visitor.wait_for_url(re.compile(r"[?&]q="))
            expect(listing.locator("[data-item-id]")).to_have_count(found)
            if found:
                expect(listing.locator(f"[data-item-id='{offer_id}']")).to_be_visible()
            else:
                expect(visitor.get_by_text("Nothing found.")).to_be_visible()
        search_box.get_by_role("button", name="Reset").click()
        expect(listing.locator("[data-item-id]")).to_have_count(2)
        # The dark theme keeps AA contrast too (a Russian browser, so the Russian interface).
        dark_ctx, dark = _context(browser, service, locale="ru-RU", color_scheme="dark")
        contexts.append(dark_ctx)
        dark.goto(f"/items/{offer_id}")
        expect(dark.get_by_role("heading", level=1)).to_have_text(OFFER_TITLE)
        audit(dark, "item page (ru, dark)")
        dark.goto("/")
        expect(dark.get_by_role("heading", name="Обмен вещами без денег")).to_be_visible()
        audit(dark, "home (ru, dark)")
        visitor.goto("/login")
        expect(visitor.get_by_text("write /login to it")).to_be_visible()
        audit(visitor, "login (en)")

        # Bob's Russian home page agrees numbers and nouns.
        bob.goto("/")
        expect(bob.get_by_text("Показано: 2 объявления")).to_be_visible()

        # Alice hears of the proposal (her badge changes), accepts, and sees Bob's contact.
        alice.goto("/")
        alice_badge = alice.get_by_test_id("unread-badge")
        expect(alice_badge).to_be_visible(timeout=30_000)
        alice.get_by_role("link", name="Exchanges", exact=True).click()
        exchange = alice.locator("[data-exchange-id]").first
        expect(exchange).to_have_attribute("data-status", "proposed")
        expect(exchange).to_contain_text("@bob")
        expect(exchange).to_contain_text(f"You give “{OFFER_TITLE}” → @bob")
        exchange.get_by_role("button", name="Accept").click()
        expect(exchange).to_have_attribute("data-status", "accepted")
        expect(exchange.locator(".contact")).to_contain_text("+7 900 000-00-00")
        audit(alice, "exchanges (en)")

        bob.get_by_role("link", name="Сделки", exact=True).click()
        bob_exchange = bob.locator("[data-exchange-id]").first
        expect(bob_exchange).to_have_attribute("data-status", "accepted")
        expect(bob_exchange).to_contain_text(f"@alice отдаёт «{OFFER_TITLE}» — вам")
        expect(bob_exchange.locator(".contact")).to_contain_text("@alice_swaps")
        message = bob_exchange.get_by_role("link", name="Написать в Telegram")
        expect(message).to_have_attribute("href", "https://t.me/alice_swaps")

        # Both confirm the handover.
        bob_exchange.get_by_role("button", name="Обмен состоялся").click()
        expect(bob_exchange.get_by_role("button", name="Обмен состоялся")).to_have_count(0)
        exchange.get_by_role("button", name="Mark as done").click()
        expect(exchange).to_have_attribute("data-status", "completed")

        # Bob rates Alice; a new browser context (another device) knows he did.
        bob.reload()
        bob_exchange = bob.locator("[data-exchange-id]").first
        expect(bob_exchange).to_have_attribute("data-status", "completed")
        bob_exchange.locator("label.star").nth(4).click()
        bob_exchange.get_by_label("Комментарий (необязательно)").fill(REVIEW)
        bob_exchange.get_by_role("button", name="Отправить оценку").click()
        expect(bob_exchange.get_by_role("status")).to_contain_text("оценка сохранена")
        bob_ctx.close()
        contexts.remove(bob_ctx)
        bob_ctx, bob = _sign_in(browser, service, "bob", locale="ru-RU", sign_out="Выйти")
        contexts.append(bob_ctx)
        bob.goto("/exchanges")
        bob_exchange = bob.locator("[data-exchange-id]").first
        expect(bob_exchange.get_by_role("status")).to_contain_text("оценка сохранена")
        expect(bob_exchange.get_by_role("button", name="Отправить оценку")).to_have_count(0)
        audit(bob, "exchanges, rated (ru)")
        shot(bob, "exchanges-desktop")

        # Only one side rated: Alice's profile does not show the review yet.
        alice_id = json.loads(service.cli("user", "show", "alice", "--json"))["id"]
        visitor.goto(f"/users/{alice_id}")
        expect(visitor.get_by_test_id("completed-exchanges")).to_have_text("1 completed exchange")
        expect(visitor.get_by_text("No reviews yet.", exact=False)).to_be_visible()

        # Alice rates Bob: both rated, so the reviews are revealed.
        alice.reload()
        final = alice.locator("[data-exchange-id]").first
        final.locator("label.star").nth(3).click()
        final.get_by_role("button", name="Send rating").click()
        expect(final.get_by_role("status")).to_contain_text("rating saved")
        visitor.reload()
        reviews = visitor.get_by_test_id("reviews")
        expect(reviews).to_contain_text(REVIEW)
        expect(reviews).to_contain_text("by @bob")
        # (3.5 x 3 + 5) / 4 = 3.875, shown per locale.
        expect(visitor.get_by_test_id("trust-score")).to_have_text("3.9 of 5")
        audit(visitor, "public profile (en)")
        shot(visitor, "profile-desktop")
        bob.goto(f"/users/{alice_id}")
        expect(bob.get_by_test_id("trust-score")).to_have_text("3,9 из 5")
        expect(bob.get_by_test_id("completed-exchanges")).to_have_text("1 завершённый обмен")
        audit(bob, "public profile (ru)")

        # The exchanged bike left the market, yet its page stays open to Bob, marked.
        bob.goto(f"/items/{offer_id}")
        expect(bob.get_by_role("heading", level=1)).to_have_text(OFFER_TITLE)
        expect(bob.get_by_role("link", name=re.compile(r"Обменяно — сделка #\d+"))).to_be_visible()
        visitor.goto(f"/items/{want_id}")
        expect(visitor.get_by_role("alert")).to_contain_text("Listing not found.")

        # The remaining pages pass axe too; a phone view of the item page for the README.
        for path, label in (
            ("/trades", "trades"),
            ("/profile", "profile"),
            ("/my-items", "my items"),
        ):
            bob.goto(path)
            audit(bob, f"{label} (ru)")
        alice.set_viewport_size(PHONE)
        alice.goto(f"/items/{offer_id}")
        audit(alice, "item page (en, phone)")
        shot(alice, "item-phone")
        alice.get_by_role("button", name="Menu").click()
        expect(alice.get_by_role("link", name="My items")).to_be_visible()

        assert audit.found == {}, audit.found
        assert audit.pages >= 15
        errors = {
            name: p.js_errors for name, p in (("alice", alice), ("bob", bob), ("visitor", visitor))
        }
        assert all(not e for e in errors.values()), errors
    finally:
        for context in contexts:
            context.close()
    print(f"e2e journey took {time.monotonic() - started:.1f}s; screenshots: {shot.taken}")


def test_signed_out_visitor_is_sent_to_sign_in(browser, service: Service) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=service.url, locale="ru-RU")
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/matches")
        page.wait_for_url(re.compile(r"/login\?next=%2Fmatches$"))
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()
        # A spent or forged code is refused in the visitor's language, and nobody is signed in.
        page.goto("/login?code=not-a-real-code-123")
        expect(page.get_by_role("alert")).to_have_text(
            "Ссылка для входа неверна или уже использована."
        )
        expect(page.get_by_role("link", name="Войти")).to_be_visible()
    finally:
        context.close()


def test_settings_page_notifications_language_and_telegram_link(browser, service: Service) -> None:
    """A CLI-made account with no language: the browser's becomes its own; notification settings
    checked on the server; "Link Telegram" on a server without a bot says so, with no code."""
    from playwright.sync_api import expect

    service.cli("user", "create", "carol", "--city", "Казань")
    assert json.loads(service.cli("user", "show", "carol", "--json"))["language"] is None
    context, page = _sign_in(browser, service, "carol", locale="en-GB", sign_out="Sign out")
    try:
        assert json.loads(service.cli("user", "show", "carol", "--json"))["language"] == "en"
        page.goto("/profile")
        settings = page.locator("form", has=page.get_by_role("heading", name="Notifications"))
        settings.get_by_label("Send me notifications in Telegram").uncheck()
        settings.get_by_label("Quiet hours: hold messages until they end").check()
        settings.get_by_label("From", exact=True).select_option(label="23:00")
        settings.get_by_label("Until", exact=True).select_option(label="07:00")
        settings.get_by_label("Time zone").fill("Mars/Olympus")
        settings.get_by_role("button", name="Save notification settings").click()
        expect(settings.get_by_role("alert")).to_contain_text("Unknown time zone")
        settings.get_by_label("Time zone").fill("+03:00")
        settings.get_by_role("button", name="Save notification settings").click()
        expect(settings.get_by_text("Saved.")).to_be_visible()
        me = page.request.get("/api/users/me").json()
        assert (me["notify_telegram"], me["digest_enabled"]) == (False, True)
        assert (me["quiet_start"], me["quiet_end"], me["time_zone"]) == (23, 7, "+03:00")
        violations = axe_violations(page)
        assert not violations, violations

        telegram = page.get_by_role("region", name="Telegram")
        telegram.get_by_role("button", name="Link Telegram").click()
        # This service has no bot: nobody could send a code, so none is shown, and the page
        # says why (the code flow with a bot: tests/e2e/test_telegram_mini_app.py).
        expect(telegram.get_by_role("alert")).to_have_text(
            "Telegram is not set up on this server: there is no bot to sign in or link with."
        )
        expect(telegram.locator("code")).to_have_count(0)
        assert json.loads(service.cli("user", "show", "carol", "--json"))["telegram_id"] is None
        assert not page.js_errors  # type: ignore[attr-defined]
    finally:
        context.close()
    # A visitor with an English browser who switched the sign-in page to Russian gets Russian.
    service.cli("user", "create", "dora")
    context, page = _context(browser, service, locale="en-GB")
    try:
        page.goto("/login")
        page.get_by_role("button", name="Переключить на русский").click()
        expect(page.get_by_role("heading", name="Вход")).to_be_visible()
        page.goto(service.login_link("dora"))
        page.wait_for_url(service.url + "/")
        expect(page.get_by_role("button", name="Выйти")).to_be_visible()
        assert json.loads(service.cli("user", "show", "dora", "--json"))["language"] == "ru"
    finally:
        context.close()
