"""The catalogs: complete in both languages, and every plural form right for 1, 2, 5 and 21."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from freemarket.bot import i18n
from freemarket.bot.i18n import Translator, message_ids, text

BOT_DIR = Path(i18n.__file__).parent
COUNTS = (1, 2, 5, 21)
# (template, the number's variable, other arguments, expected Russian and English fragments)
PLURALS = [
    (
        "notify-digest",
        "count",
        {},
        ["1 новое совпадение", "2 новых совпадения", "5 новых совпадений", "21 новое совпадение"],
        ["1 new match for", "2 new matches", "5 new matches", "21 new matches"],
    ),
    (
        "digest-more",
        "more",
        {},
        ["ещё 1 совпадение", "ещё 2 совпадения", "ещё 5 совпадений", "ещё 21 совпадение"],
        ["and 1 more", "and 2 more", "and 5 more", "and 21 more"],
    ),
    (
        "notify-match",
        "ratings",
        {"want": "велосипед", "offer": "Stels", "owner": "Anna", "score": 72, "link": "L"},
        ["1 оценка)", "2 оценки)", "5 оценок)", "21 оценка)"],
        ["1 rating)", "2 ratings)", "5 ratings)", "21 ratings)"],
    ),
    (
        "notify-exchange-proposed",
        "hours",
        {"by": "Anna", "id": "7", "kind": "swap", "legs": "…", "link": "L"},
        ["1 часа.", "2 часов.", "5 часов.", "21 часа."],
        ["1 hour.", "2 hours.", "5 hours.", "21 hours."],
    ),
    (
        "notify-exchange-accepted-one",
        "waiting",
        {"by": "Anna", "id": "7"},
        ["1 человека.", "2 человек.", "5 человек.", "21 человека."],
        ["1 more person.", "2 more people.", "5 more people.", "21 more people."],
    ),
    (
        "login-link",
        "minutes",
        {"url": "U"},
        ["1 минуты:", "2 минут:", "5 минут:", "21 минуты:"],
        ["1 minute:", "2 minutes:", "5 minutes:", "21 minutes:"],
    ),
    (
        "my-header",
        "total",
        {"page": 1, "pages": 1},
        ["(1)", "(2)", "(5)", "(21)"],
        ["(1)", "(2)", "(5)", "(21)"],
    ),
]


def test_both_languages_have_the_same_messages() -> None:
    """Nothing is English-only or Russian-only."""
    assert message_ids("ru") == message_ids("en")


def test_every_message_the_code_uses_exists() -> None:
    """Each literal message id in the bot's code is in the catalogs."""
    used = set()
    for path in BOT_DIR.rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z][a-z0-9-]+)["']""", path.read_text()))
    assert used, "no message ids found: the pattern is wrong"
    assert used <= message_ids("en"), sorted(used - message_ids("en"))


@pytest.mark.parametrize(("template", "variable", "args", "russian", "english"), PLURALS)
def test_plural_forms(
    template: str, variable: str, args: dict[str, object], russian: list[str], english: list[str]
) -> None:
    """Russian has one/few/many (21 is "one" again), English one/other, chosen by CLDR."""
    for count, ru, en in zip(COUNTS, russian, english, strict=True):
        assert ru in text("ru", template, **args, **{variable: count}), (template, count)
        assert en in text("en", template, **args, **{variable: count}), (template, count)


NOTIFICATION_ARGS = {
    "want": "велосипед",
    "offer": "Stels",
    "owner": "Anna",
    "score": 50,
    "ratings": 0,
    "link": "https://market.example/x",
    "count": 2,
    "more": 0,
    "lines": "",
    "by": "Boris",
    "id": "12",
    "kind": "swap",
    "legs": "You give X to Anna.",
    "hours": 5,
    "waiting": 1,
    "contacts": "Contact of Anna: @anna",
    "status": "completed",
}


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("count", COUNTS)
def test_every_notification_template_renders(language: str, count: int) -> None:
    """Every notification template fills every placeholder, for each count, in both languages."""
    templates = sorted(m for m in message_ids(language) if m.startswith(("notify-", "digest-")))
    assert len(templates) >= 14
    args = {**NOTIFICATION_ARGS, "count": count, "hours": count, "waiting": count}
    for template in templates:
        rendered = text(language, template, **args)
        assert rendered and "{" not in rendered and "$" not in rendered, (template, rendered)


def test_statuses_are_words() -> None:
    """Exchange states read as words, not enum values."""
    for status, ru, en in [
        ("proposed", "предложен, ждём ответов", "proposed, waiting for answers"),
        ("accepted", "все согласны", "agreed by everyone"),
        ("completed", "завершён", "completed"),
        ("expired", "истёк", "expired"),
    ]:
        assert Translator("ru")(f"status-{status}") == ru
        assert Translator("en")(f"status-{status}") == en


def test_unknown_languages_fall_back_to_russian() -> None:
    """Telegram codes like en-GB pick English; anything else Russian."""
    assert i18n.language_of("en-GB") == "en"
    assert i18n.language_of("de") == "ru"
    assert i18n.language_of(None) == "ru"
