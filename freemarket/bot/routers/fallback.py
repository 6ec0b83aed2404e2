"""Last: whatever no other handler took gets a short help reply, never silence."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from freemarket.bot.i18n import Translator

router = Router(name="fallback")


@router.message(StateFilter(None))
async def anything_else(message: Message, t: Translator) -> None:
    """Ordinary text (or an unknown command) outside a dialogue."""
    await message.answer(t("fallback"))


@router.message()
async def off_script(message: Message, t: Translator) -> None:
    """Something a dialogue step cannot use (a photo, a sticker)."""
    await message.answer(t("use-buttons"))


@router.callback_query()
async def unknown_button(callback: CallbackQuery, t: Translator) -> None:
    """A button from an older version of the bot."""
    await callback.answer(t("fallback"))
