"""What notifications say, in Russian and English."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "match": {
        "ru": "Нашлось совпадение для «{want_title}»: «{offer_title}» (сходство {score:.0%}).",
        "en": "A match for “{want_title}”: “{offer_title}” (similarity {score:.0%}).",
    },
    "exchange": {
        "ru": "Обмен #{exchange_id}: {status}.",
        "en": "Exchange #{exchange_id}: {status}.",
    },
}
FALLBACK = {
    "ru": "У вас новое уведомление на FreeMarket.",
    "en": "You have a new FreeMarket notice.",
}


def render(kind: str, payload: dict[str, Any], language: str) -> str:
    """The message text for a notification, in the user's language (Russian by default)."""
    lang = language if language in ("ru", "en") else "ru"
    template = TEXTS.get(kind, {}).get(lang)
    if template is None:
        return FALLBACK[lang]
    try:
        return template.format(**payload)
    except (KeyError, ValueError, TypeError):
        # A payload from an older version may lack a field; say something rather than nothing.
        return FALLBACK[lang]
