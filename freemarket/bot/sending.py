"""Sending a View: a photo with the text as its caption when it has one, else a text message.

Telegram fetches a photo from its address itself. It cannot when the address is not public (a
development server on 127.0.0.1) or the fetch fails, and then answers 400; the text still
matters more than the picture, so it goes out as a plain message with the photo as its link
preview (which Telegram shows when it can, and silently drops when it cannot). A caption holds
at most 1024 characters, so a longer text takes the same way.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LinkPreviewOptions

from freemarket.bot.views import View

# Telegram's limit on a caption, counted in UTF-16 code units as Telegram counts it.
CAPTION_MAX = 1024


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fits_caption(text: str) -> bool:
    """True when the text can be a photo's caption."""
    return _utf16_length(text) <= CAPTION_MAX


async def send_view(bot: Bot, chat_id: int, view: View) -> None:
    """Send the view to a chat: its photo captioned with its text when possible."""
    if view.photo and fits_caption(view.text):
        try:
            await bot.send_photo(
                chat_id, photo=view.photo, caption=view.text, reply_markup=view.keyboard
            )
            return
        except TelegramBadRequest:
            pass  # a bad request of another kind (no such chat) fails the text message too
    preview = (
        LinkPreviewOptions(url=view.photo, prefer_large_media=True, show_above_text=True)
        if view.photo
        else None
    )
    await bot.send_message(
        chat_id, text=view.text, reply_markup=view.keyboard, link_preview_options=preview
    )
