"""Inline buttons: what each one carries back (callback data) and the keyboards made of them.

Callback data is at most 64 bytes, so buttons carry ids and short action names only; every
handler loads the current state again and lets the domain decide, so an old button pressed
late is answered with the state as it is now, never acted on blindly.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from freemarket.bot.i18n import Translator

PAGE_SIZE = 5


class LangCb(CallbackData, prefix="lang"):
    """Switch the language."""

    language: str


class FormCb(CallbackData, prefix="form"):
    """A step of the /offer or /want dialogue: category, skip, city, delivery, post, cancel."""

    action: str
    value: str = ""


class ItemCb(CallbackData, prefix="item"):
    """Your items: hide, show, edit (title or description), or a page of the list."""

    action: str
    item_id: int = 0
    page: int = 0


class MatchCb(CallbackData, prefix="match"):
    """A match: see it, propose an exchange, not interested, or a page of the list."""

    action: str
    match_id: int = 0
    page: int = 0


class TradeCb(CallbackData, prefix="trade"):
    """Propose a swap or 3-way trade made of these matches ("12-34-56")."""

    matches: str


class ExchangeCb(CallbackData, prefix="ex"):
    """An exchange: show, accept, decline, complete, cancel, or rate one of its parties."""

    action: str
    exchange_id: int
    user_id: int = 0


class StarCb(CallbackData, prefix="star"):
    """A star rating of a party of a completed exchange."""

    exchange_id: int
    user_id: int
    score: int


class SettingsCb(CallbackData, prefix="set"):
    """A /settings change: toggle notifications or digest, quiet hours, time zone."""

    action: str
    value: str = ""


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    """A keyboard of these rows, or None when there are no buttons at all."""
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """A button that sends `data` back when pressed."""
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def url_button(text: str, url: str) -> InlineKeyboardButton:
    """A button that opens a link."""
    return InlineKeyboardButton(text=text, url=url)


def web_app_button(text: str, url: str) -> InlineKeyboardButton | None:
    """A button that opens the web UI as a Mini App (Telegram accepts only https pages)."""
    if not url.startswith("https://"):
        return None
    return InlineKeyboardButton(text=text, web_app=WebAppInfo(url=url))


def pager(t: Translator, make: type[ItemCb] | type[MatchCb], page: int, pages: int) -> list:
    """Back/next buttons for a paged list (none on a single page)."""
    row = []
    if page > 0:
        row.append(button(t("btn-prev"), make(action="page", page=page - 1)))
    if page + 1 < pages:
        row.append(button(t("btn-next"), make(action="page", page=page + 1)))
    return row


def page_count(total: int) -> int:
    """How many pages `total` entries fill (at least one)."""
    return max(1, -(-total // PAGE_SIZE))
