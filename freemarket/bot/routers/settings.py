"""/settings: Telegram notifications on/off, quiet hours, time zone, digest of bursts."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import SettingsCb, button, markup
from freemarket.db.models import User
from freemarket.domain import preferences, users
from freemarket.errors import InvalidInput

router = Router(name="settings")
QUIET_PRESETS = ((22, 8), (23, 7), (0, 9))


class SettingsForm(StatesGroup):
    """Waiting for a typed time zone."""

    time_zone = State()


def _zone_label(actor: User, t: Translator) -> str:
    if actor.time_zone:
        return actor.time_zone
    zone = preferences.zone_of(time_zone=None, city=actor.city)
    return t("zone-from-city", zone=str(zone))


def _quiet_label(actor: User, t: Translator) -> str:
    if actor.quiet_start is None or actor.quiet_end is None:
        return t("quiet-none")
    return t("quiet-range", start=f"{actor.quiet_start:02d}", end=f"{actor.quiet_end:02d}")


def settings_view(actor: User, t: Translator) -> tuple[str, Any]:
    """The settings message and its toggles."""
    text = t(
        "settings",
        notify="yes" if actor.notify_telegram else "no",
        digest="yes" if actor.digest_enabled else "no",
        quiet=_quiet_label(actor, t),
        zone=_zone_label(actor, t),
    )
    quiet = (
        t("quiet-none")
        if actor.quiet_start is None
        else f"{actor.quiet_start:02d}–{actor.quiet_end:02d}"
    )
    rows = [
        [
            button(
                t("btn-notify-on" if actor.notify_telegram else "btn-notify-off"),
                SettingsCb(action="notify"),
            )
        ],
        [
            button(
                t("btn-digest-on" if actor.digest_enabled else "btn-digest-off"),
                SettingsCb(action="digest"),
            )
        ],
        [button(t("btn-quiet", hours=quiet), SettingsCb(action="quiet"))],
        [button(t("btn-time-zone", zone=actor.time_zone or "…"), SettingsCb(action="zone"))],
    ]
    return text, markup(rows)


@router.message(Command("settings"))
async def show_settings(message: Message, actor: User, t: Translator) -> None:
    """Your notification settings with buttons to change them."""
    text, keyboard = settings_view(actor, t)
    await message.answer(text, reply_markup=keyboard)


async def _save(
    callback: CallbackQuery, db: Session, actor: User, t: Translator, changes: dict[str, Any]
) -> None:
    users.edit_user(db, actor=actor, user_id=actor.id, changes=changes)
    text, keyboard = settings_view(actor, t)
    await callback.answer(t("settings-saved"))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


@router.callback_query(SettingsCb.filter(F.action == "notify"))
async def toggle_notify(callback: CallbackQuery, db: Session, actor: User, t: Translator) -> None:
    """Telegram notifications on or off (the web inbox keeps everything either way)."""
    await _save(callback, db, actor, t, {"notify_telegram": not actor.notify_telegram})


@router.callback_query(SettingsCb.filter(F.action == "digest"))
async def toggle_digest(callback: CallbackQuery, db: Session, actor: User, t: Translator) -> None:
    """Bursts of matches as one digest, or every match on its own."""
    await _save(callback, db, actor, t, {"digest_enabled": not actor.digest_enabled})


@router.callback_query(SettingsCb.filter(F.action == "quiet"))
async def quiet_menu(callback: CallbackQuery, actor: User, t: Translator) -> None:
    """The quiet-hours choices."""
    rows = [
        [
            button(
                f"{start:02d}:00–{end:02d}:00",
                SettingsCb(action="quietset", value=f"{start}-{end}"),
            )
            for start, end in QUIET_PRESETS
        ],
        [button(t("btn-quiet-off"), SettingsCb(action="quietset", value="off"))],
    ]
    await callback.answer()
    if isinstance(callback.message, Message):
        zone = _zone_label(actor, t)
        await callback.message.edit_text(t("ask-quiet", zone=zone), reply_markup=markup(rows))


@router.callback_query(SettingsCb.filter(F.action == "quietset"))
async def set_quiet(
    callback: CallbackQuery, callback_data: SettingsCb, db: Session, actor: User, t: Translator
) -> None:
    """Store the chosen quiet hours."""
    if callback_data.value == "off":
        changes: dict[str, Any] = {"quiet_start": None, "quiet_end": None}
    else:
        start, _, end = callback_data.value.partition("-")
        changes = {"quiet_start": int(start), "quiet_end": int(end)}
    await _save(callback, db, actor, t, changes)


@router.callback_query(SettingsCb.filter(F.action == "zone"))
async def ask_zone(callback: CallbackQuery, state: FSMContext, t: Translator) -> None:
    """Wait for a typed time zone."""
    await state.set_state(SettingsForm.time_zone)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(t("ask-time-zone"))


@router.message(SettingsForm.time_zone)
async def got_zone(
    message: Message, state: FSMContext, db: Session, actor: User, t: Translator
) -> None:
    """Store the time zone (an offset like +3, or a name like Europe/Moscow)."""
    value = (message.text or "").strip().replace("−", "-")
    if value[:1] in "+-" and value[1:].isdigit():
        value = f"{value[0]}{int(value[1:]):02d}:00"
    try:
        users.edit_user(db, actor=actor, user_id=actor.id, changes={"time_zone": value})
    except InvalidInput:
        await message.answer(t("bad-time-zone"))
        return
    await state.clear()
    text, keyboard = settings_view(actor, t)
    await message.answer(t("settings-saved") + "\n\n" + text, reply_markup=keyboard)
