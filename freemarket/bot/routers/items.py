"""/offer and /want (title → category → description → city → delivery → confirm) and /my.

The dialogue keeps its answers in the FSM storage (Redis when configured), so a bot restart in
the middle loses nothing; the item is created only on "Post", through `items.create_item`, the
same path as `POST /api/items/`, so the worker matches it like any other.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import (
    PAGE_SIZE,
    FormCb,
    ItemCb,
    button,
    markup,
    page_count,
    pager,
)
from freemarket.bot.views import category_name, web_link
from freemarket.db.models import User
from freemarket.domain import items, users
from freemarket.domain.categories import list_categories
from freemarket.domain.fields import City, Description, Title, check_text
from freemarket.infra.settings import Settings

router = Router(name="items")
MY_ITEMS_LIMIT = 100
# The API's own field rules, so the bot accepts exactly what POST /api/items/ accepts.
FIELDS: dict[str, TypeAdapter[str]] = {
    "title": TypeAdapter(Title),
    "description": TypeAdapter(Description),
    "city": TypeAdapter(City),
}


class ItemForm(StatesGroup):
    """The steps of posting an item."""

    title = State()
    category = State()
    description = State()
    city = State()
    delivery = State()
    confirm = State()


class ItemEdit(StatesGroup):
    """Waiting for a new title or description of one of your items."""

    title = State()
    description = State()


def _valid(adapter: TypeAdapter[str], text: str | None) -> str | None:
    """The text if it passes the field's rules, else None."""
    if text is None or text.startswith("/"):
        return None
    try:
        return check_text(adapter.validate_python(text))
    except (ValidationError, ValueError):
        return None


async def _read(message: Message, field: str, t: Translator) -> str | None:
    """The answer if it passes `field`'s rules; else None, having said why (`bad-<field>`)."""
    value = _valid(FIELDS[field], message.text)
    if value is None:
        await message.answer(t(f"bad-{field}"))
    return value


@router.message(Command("offer"))
async def offer(message: Message, state: FSMContext, t: Translator) -> None:
    """Start posting an offer."""
    await _begin(message, state, t, "offer")


@router.message(Command("want"))
async def want(message: Message, state: FSMContext, t: Translator) -> None:
    """Start posting a want."""
    await _begin(message, state, t, "want")


async def _begin(message: Message, state: FSMContext, t: Translator, kind: str) -> None:
    await state.clear()
    await state.set_state(ItemForm.title)
    await state.update_data(kind=kind)
    await message.answer(t(f"ask-title-{kind}"))


@router.message(ItemForm.title)
async def got_title(message: Message, state: FSMContext, db: Session, t: Translator) -> None:
    """Title, then the category keyboard."""
    title = await _read(message, "title", t)
    if title is None:
        return
    await state.update_data(title=title)
    await state.set_state(ItemForm.category)
    await message.answer(t("ask-category"), reply_markup=_categories(db, t))


def _categories(db: Session, t: Translator) -> Any:
    names = [(c.slug, c.name_en if t.language == "en" else c.name_ru) for c in list_categories(db)]
    buttons = [button(name, FormCb(action="category", value=slug)) for slug, name in names]
    return markup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


@router.callback_query(ItemForm.category, FormCb.filter(F.action == "category"))
async def got_category(
    callback: CallbackQuery, callback_data: FormCb, state: FSMContext, t: Translator
) -> None:
    """Category, then the description (skippable)."""
    await state.update_data(category=callback_data.value)
    await state.set_state(ItemForm.description)
    await callback.answer()
    await _say(callback, t("ask-description"), [[button(t("btn-skip"), FormCb(action="skip"))]])


@router.message(ItemForm.category)
async def category_typed(message: Message, db: Session, t: Translator) -> None:
    """Categories come from the buttons only."""
    await message.answer(t("bad-category"), reply_markup=_categories(db, t))


@router.message(ItemForm.description)
async def got_description(message: Message, state: FSMContext, actor: User, t: Translator) -> None:
    """Description, then the city."""
    description = await _read(message, "description", t)
    if description is None:
        return
    await state.update_data(description=description)
    await _ask_city(message, state, actor, t)


@router.callback_query(ItemForm.description, FormCb.filter(F.action == "skip"))
async def skip_description(
    callback: CallbackQuery, state: FSMContext, actor: User, t: Translator
) -> None:
    """No description."""
    await state.update_data(description="")
    await callback.answer()
    await _ask_city(callback, state, actor, t)


async def _ask_city(
    event: Message | CallbackQuery, state: FSMContext, actor: User, t: Translator
) -> None:
    await state.set_state(ItemForm.city)
    if actor.city:
        keep = [[button(t("btn-keep-city", city=actor.city), FormCb(action="city"))]]
        await _say(event, t("ask-city-known", city=actor.city), keep)
    else:
        await _say(event, t("ask-city"), [])


@router.message(ItemForm.city)
async def got_city(message: Message, state: FSMContext, db: Session, t: Translator) -> None:
    """A typed city."""
    city = await _read(message, "city", t)
    if city is None:
        return
    await _after_city(message, state, t, db, city)


@router.callback_query(ItemForm.city, FormCb.filter(F.action == "city"))
async def keep_city(
    callback: CallbackQuery, state: FSMContext, db: Session, actor: User, t: Translator
) -> None:
    """The city remembered from last time."""
    await callback.answer()
    await _after_city(callback, state, t, db, actor.city or "")


async def _after_city(
    event: Message | CallbackQuery, state: FSMContext, t: Translator, db: Session, city: str
) -> None:
    await state.update_data(city=city)
    data = await state.get_data()
    if data["kind"] == "offer":
        await state.set_state(ItemForm.delivery)
        yes_no = [
            button(t("btn-yes"), FormCb(action="delivery", value="yes")),
            button(t("btn-no"), FormCb(action="delivery", value="no")),
        ]
        await _say(event, t("ask-delivery"), [yes_no])
        return
    await _confirm(event, state, t, db)


@router.callback_query(ItemForm.delivery, FormCb.filter(F.action == "delivery"))
async def got_delivery(
    callback: CallbackQuery,
    callback_data: FormCb,
    state: FSMContext,
    db: Session,
    t: Translator,
) -> None:
    """Delivery yes or no, then confirm."""
    await state.update_data(delivery=callback_data.value == "yes")
    await callback.answer()
    await _confirm(callback, state, t, db)


async def _confirm(
    event: Message | CallbackQuery, state: FSMContext, t: Translator, db: Session
) -> None:
    await state.set_state(ItemForm.confirm)
    data = await state.get_data()
    text = t(
        "confirm-item",
        kind=data["kind"],
        title=data["title"],
        category=category_name(db, data["category"], t.language),
        description=data["description"] or t("no-description"),
        city=data["city"],
    )
    if data["kind"] == "offer":
        text += "\n" + t("confirm-delivery", delivery="yes" if data.get("delivery") else "no")
    buttons = [
        button(t("btn-post"), FormCb(action="post")),
        button(t("btn-cancel"), FormCb(action="cancel")),
    ]
    await _say(event, text, [buttons])


@router.callback_query(ItemForm.confirm, FormCb.filter(F.action == "post"))
async def post(
    callback: CallbackQuery,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """Post the item through the domain, remember the city, end the dialogue."""
    data = await state.get_data()
    item = items.create_item(
        db,
        owner=actor,
        kind=data["kind"],
        category=data["category"],
        title=data["title"],
        description=data["description"],
        city=data["city"],
        delivery=bool(data.get("delivery", False)),
    )
    if data["city"] and data["city"] != actor.city:
        users.edit_user(db, actor=actor, user_id=actor.id, changes={"city": data["city"]})
    await state.clear()
    await callback.answer()
    link = web_link(settings.public_url, f"items/{item.id}")
    await _say(callback, t("item-posted", title=item.title, link=link), [])


@router.callback_query(FormCb.filter(F.action == "cancel"))
async def cancel_form(callback: CallbackQuery, state: FSMContext, t: Translator) -> None:
    """The Cancel button of the dialogue."""
    await state.clear()
    await callback.answer()
    await _say(callback, t("cancelled"), [])


@router.callback_query(FormCb.filter())
async def stale_form_button(callback: CallbackQuery, t: Translator) -> None:
    """A button of a dialogue that has ended (or of another step)."""
    await callback.answer(t("use-buttons"))


async def _say(event: Message | CallbackQuery, text: str, rows: list) -> None:
    """Reply to a message, or to the message whose button was pressed."""
    target = event if isinstance(event, Message) else event.message
    if isinstance(target, Message):
        await target.answer(text, reply_markup=markup(rows))


# --- /my ---------------------------------------------------------------------------------


@router.message(Command("my"))
async def my_items(message: Message, db: Session, actor: User, t: Translator) -> None:
    """Your items, a page at a time, with buttons to hide, show and edit them."""
    text, keyboard = _my_page(db, actor, t, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(ItemCb.filter(F.action == "page"))
async def my_items_page(
    callback: CallbackQuery, callback_data: ItemCb, db: Session, actor: User, t: Translator
) -> None:
    """Another page of your items."""
    text, keyboard = _my_page(db, actor, t, callback_data.page)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=keyboard)


def _my_page(db: Session, actor: User, t: Translator, page: int) -> tuple[str, Any]:
    mine = items.list_items(
        db, viewer=actor, user_id=actor.id, include_inactive=True, limit=MY_ITEMS_LIMIT
    ).items
    if not mine:
        return t("my-empty"), None
    pages = page_count(len(mine))
    page = min(max(page, 0), pages - 1)
    shown = mine[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [t("my-header", total=len(mine), page=page + 1, pages=pages)]
    rows = []
    for n, item in enumerate(shown, start=page * PAGE_SIZE + 1):
        lines.append(
            t(
                "my-line",
                n=str(n),
                kind=item.kind,
                id=str(item.id),
                title=item.title,
                active="yes" if item.active else "no",
            )
        )
        toggle = (
            button(t("btn-deactivate", id=str(item.id)), ItemCb(action="hide", item_id=item.id))
            if item.active
            else button(
                t("btn-reactivate", id=str(item.id)), ItemCb(action="show", item_id=item.id)
            )
        )
        rows.append(
            [toggle, button(t("btn-edit", id=str(item.id)), ItemCb(action="edit", item_id=item.id))]
        )
    rows.append(pager(t, ItemCb, page, pages))
    return "\n".join(lines), markup(rows)


@router.callback_query(ItemCb.filter(F.action.in_({"hide", "show"})))
async def toggle_item(
    callback: CallbackQuery, callback_data: ItemCb, db: Session, actor: User, t: Translator
) -> None:
    """Hide or show an item (owner only, like DELETE /api/items/{id})."""
    active = callback_data.action == "show"
    item = items.set_item_active(db, actor=actor, item_id=callback_data.item_id, active=active)
    await callback.answer()
    await _say(callback, t("item-shown" if active else "item-hidden", title=item.title), [])


@router.callback_query(ItemCb.filter(F.action == "edit"))
async def edit_item(
    callback: CallbackQuery, callback_data: ItemCb, db: Session, actor: User, t: Translator
) -> None:
    """Which field to change."""
    item = items.get_visible_item(db, item_id=callback_data.item_id, viewer=actor)
    await callback.answer()
    rows = [
        [
            button(t("btn-edit-title"), ItemCb(action="etitle", item_id=item.id)),
            button(t("btn-edit-description"), ItemCb(action="edesc", item_id=item.id)),
        ]
    ]
    await _say(callback, item.title, rows)


@router.callback_query(ItemCb.filter(F.action.in_({"etitle", "edesc"})))
async def edit_field(
    callback: CallbackQuery,
    callback_data: ItemCb,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
) -> None:
    """Wait for the new text."""
    item = items.get_visible_item(db, item_id=callback_data.item_id, viewer=actor)
    title = callback_data.action == "etitle"
    await state.set_state(ItemEdit.title if title else ItemEdit.description)
    await state.update_data(item_id=item.id)
    await callback.answer()
    await _say(
        callback, t("ask-new-title" if title else "ask-new-description", title=item.title), []
    )


@router.message(ItemEdit.title)
@router.message(ItemEdit.description)
async def got_edit(
    message: Message, state: FSMContext, db: Session, actor: User, t: Translator
) -> None:
    """Save the new title or description (owner only, like PATCH /api/items/{id})."""
    field = "title" if await state.get_state() == ItemEdit.title.state else "description"
    value = await _read(message, field, t)
    if value is None:
        return
    data = await state.get_data()
    item = items.edit_item(db, actor=actor, item_id=int(data["item_id"]), changes={field: value})
    await state.clear()
    await message.answer(t("item-updated", title=item.title))
