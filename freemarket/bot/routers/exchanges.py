"""/exchanges and the buttons of an exchange: accept, decline, complete, cancel, rate.

Every press goes through `exchanges.transition` or `ratings.create_rating`, the functions
behind POST /api/exchanges/{id}/{action} and POST /api/ratings/, with the same checks; the
message is then redrawn from the exchange as it now is.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import ExchangeCb, StarCb, button, markup
from freemarket.bot.views import exchange_view, name_of
from freemarket.db.models import COMMENT_MAX, User
from freemarket.domain import exchanges, ratings, users
from freemarket.domain.fields import check_text
from freemarket.infra.settings import Settings

router = Router(name="exchanges")
EXCHANGES_SHOWN = 10
COMMENT = TypeAdapter(str)


class RatingForm(StatesGroup):
    """Waiting for the optional comment of a star rating."""

    comment = State()


@router.message(Command("exchanges"))
async def my_exchanges(message: Message, db: Session, actor: User, t: Translator) -> None:
    """Your exchanges, newest first, each a button that opens it."""
    found = exchanges.list_for_user(db, user=actor, limit=EXCHANGES_SHOWN)
    if not found:
        await message.answer(t("exchanges-empty"))
        return
    lines = [t("exchanges-header")]
    rows = []
    for exchange in found:
        line = t(
            "exchange-line",
            id=str(exchange.id),
            kind=t(f"kind-{exchange.kind}"),
            status=t(f"status-{exchanges.status_of(exchange)}"),
        )
        lines.append(line)
        rows.append([button(line, ExchangeCb(action="show", exchange_id=exchange.id))])
    await message.answer("\n".join(lines), reply_markup=markup(rows))


@router.callback_query(ExchangeCb.filter(F.action == "show"))
async def show(
    callback: CallbackQuery, callback_data: ExchangeCb, db: Session, actor: User, t: Translator
) -> None:
    """One exchange with the buttons for its state."""
    exchange = exchanges.get_exchange(db, exchange_id=callback_data.exchange_id, viewer=actor)
    view = exchange_view(db, exchange, actor, t)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(view.text, reply_markup=view.keyboard)


@router.callback_query(ExchangeCb.filter(F.action.in_({"accept", "decline", "complete", "cancel"})))
async def act(
    callback: CallbackQuery, callback_data: ExchangeCb, db: Session, actor: User, t: Translator
) -> None:
    """Apply the party's decision and redraw the exchange in place."""
    exchange = exchanges.transition(
        db, exchange_id=callback_data.exchange_id, actor=actor, action=callback_data.action
    )
    view = exchange_view(db, exchange, actor, t)
    await callback.answer(t(f"status-{exchange.status}"))
    if isinstance(callback.message, Message):
        await callback.message.edit_text(view.text, reply_markup=view.keyboard)


@router.callback_query(ExchangeCb.filter(F.action == "rate"))
async def rate(
    callback: CallbackQuery, callback_data: ExchangeCb, db: Session, actor: User, t: Translator
) -> None:
    """The 1–5 star keyboard."""
    exchanges.get_exchange(db, exchange_id=callback_data.exchange_id, viewer=actor)
    ratee = users.get_user(db, callback_data.user_id)
    stars = [
        button(
            "⭐" * score,
            StarCb(exchange_id=callback_data.exchange_id, user_id=ratee.id, score=score),
        )
        for score in range(1, 6)
    ]
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("rate-ask", name=name_of(ratee, t)), reply_markup=markup([stars[:3], stars[3:]])
        )


@router.callback_query(StarCb.filter())
async def stars(
    callback: CallbackQuery,
    callback_data: StarCb,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
) -> None:
    """Remember the stars and ask for an optional comment."""
    ratee = users.get_user(db, callback_data.user_id)
    await state.set_state(RatingForm.comment)
    await state.update_data(
        exchange_id=callback_data.exchange_id, user_id=ratee.id, score=callback_data.score
    )
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("rate-comment", stars="⭐" * callback_data.score, name=name_of(ratee, t)),
            reply_markup=markup(
                [
                    [
                        button(
                            t("btn-skip"),
                            ExchangeCb(action="nocomment", exchange_id=callback_data.exchange_id),
                        )
                    ]
                ]
            ),
        )


@router.message(RatingForm.comment)
async def comment(
    message: Message,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """The comment, then the rating is saved."""
    text = (message.text or "").strip()
    try:
        check_text(COMMENT.validate_python(text))
    except (ValidationError, ValueError):
        text = ""
    if not text or len(text) > COMMENT_MAX or text.startswith("/"):
        await message.answer(t("bad-comment"))
        return
    await _save_rating(message, state, db, actor, t, settings, text)


@router.callback_query(RatingForm.comment, ExchangeCb.filter(F.action == "nocomment"))
async def no_comment(
    callback: CallbackQuery,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """No comment: save the stars alone."""
    await callback.answer()
    if isinstance(callback.message, Message):
        await _save_rating(callback.message, state, db, actor, t, settings, None)


async def _save_rating(
    message: Message,
    state: FSMContext,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
    comment_text: str | None,
) -> None:
    data = await state.get_data()
    rating = ratings.create_rating(
        db,
        rater=actor,
        ratee_id=int(data["user_id"]),
        exchange_id=int(data["exchange_id"]),
        score=int(data["score"]),
        comment=comment_text,
        policy=ratings.TrustPolicy.from_settings(settings),
    )
    await state.clear()
    ratee = users.get_user(db, rating.to_user_id)
    await message.answer(t("rate-done", name=name_of(ratee, t)))
