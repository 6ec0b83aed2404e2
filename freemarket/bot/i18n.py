"""Every text the bot sends, from Fluent catalogs (locales/<lang>/bot.ftl) with CLDR plurals.

Fluent picks the plural form from the number (Russian: one, few, many; English: one, other)
through Babel's CLDR rules, so no template decides "1 match / 2 matches" by hand.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fluent.runtime import FluentLocalization, FluentResourceLoader

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
RESOURCES = ["bot.ftl"]


def language_of(code: str | None) -> str:
    """A supported language for a stored or Telegram language code (Russian by default)."""
    code = (code or "").lower()
    return next((lang for lang in LANGUAGES if code.startswith(lang)), DEFAULT_LANGUAGE)


@lru_cache(maxsize=len(LANGUAGES))
def _localization(language: str) -> FluentLocalization:
    fallback = [lang for lang in LANGUAGES if lang != language]
    return FluentLocalization(
        [language, *fallback],
        RESOURCES,
        FluentResourceLoader(str(LOCALES_DIR / "{locale}")),
        # Bidi isolation marks around every value are for mixed-direction scripts; in a chat
        # message they are invisible noise that breaks copying links and numbers.
        use_isolating=False,
    )


def text(language: str, message_id: str, **args: Any) -> str:
    """The message `message_id` in `language`, with `args` filled in (numbers select plurals)."""
    return _localization(language_of(language)).format_value(message_id, args)


class Translator:
    """`text` bound to one language: what handlers get as `t`."""

    def __init__(self, language: str) -> None:
        self.language = language_of(language)

    def __call__(self, message_id: str, **args: Any) -> str:
        """The message in this translator's language."""
        return text(self.language, message_id, **args)


@lru_cache(maxsize=len(LANGUAGES))
def message_ids(language: str) -> frozenset[str]:
    """Every message id defined in a language's catalog (for completeness checks)."""
    from fluent.syntax import FluentParser
    from fluent.syntax.ast import Message

    source = (LOCALES_DIR / language / RESOURCES[0]).read_text(encoding="utf-8")
    resource = FluentParser().parse(source)
    return frozenset(entry.id.name for entry in resource.body if isinstance(entry, Message))
