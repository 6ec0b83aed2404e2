"""/matches and /trades, and the buttons on a match: see, propose an exchange, not interested."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import (
    PAGE_SIZE,
    MatchCb,
    TradeCb,
    button,
    markup,
    page_count,
    pager,
)
from freemarket.bot.sending import send_view
from freemarket.bot.views import (
    View,
    exchange_view,
    match_buttons,
    match_line,
    name_of,
    photo_of,
)
from freemarket.db.models import Exchange, Item, User
from freemarket.domain import exchanges, users
from freemarket.infra.settings import Settings
from freemarket.matching import queries

router = Router(name="matches")
MATCHES_LIMIT = 50
TRADES_SHOWN = 5


@router.message(Command("matches"))
async def matches(
    message: Message, db: Session, actor: User, t: Translator, settings: Settings
) -> None:
    """Your best matches with score and shared words, a page at a time."""
    text, keyboard = _matches_page(db, actor, t, settings, 0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(MatchCb.filter(F.action == "page"))
async def matches_page(
    callback: CallbackQuery,
    callback_data: MatchCb,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """Another page of matches (also the digest's "all my matches")."""
    text, keyboard = _matches_page(db, actor, t, settings, callback_data.page)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)


def _my_matches(db: Session, actor: User, settings: Settings) -> list[Any]:
    return queries.matches_for_user(
        db,
        actor=actor,
        user_id=actor.id,
        min_score=settings.match_show_threshold,
        limit=MATCHES_LIMIT,
    )


def _matches_page(
    db: Session, actor: User, t: Translator, settings: Settings, page: int
) -> tuple[str, Any]:
    found = _my_matches(db, actor, settings)
    if not found:
        return t("matches-empty"), None
    pages = page_count(len(found))
    page = min(max(page, 0), pages - 1)
    lines = [t("matches-header", total=len(found), page=page + 1, pages=pages)]
    rows = []
    for n, match in enumerate(
        found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page * PAGE_SIZE + 1
    ):
        lines.append(match_line(match, n, t))
        rows.append(
            [
                button(t("btn-propose-n", n=str(n)), MatchCb(action="propose", match_id=match.id)),
                button(t("btn-not-interested"), MatchCb(action="no", match_id=match.id)),
            ]
        )
    rows.append(pager(t, MatchCb, page, pages))
    return "\n".join(lines), markup(rows)


@router.callback_query(MatchCb.filter(F.action == "see"))
async def see_match(
    callback: CallbackQuery,
    bot: Bot,
    callback_data: MatchCb,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """One match with its buttons (only your own matches are found)."""
    match = next(
        (m for m in _my_matches(db, actor, settings) if m.id == callback_data.match_id), None
    )
    await callback.answer()
    if not isinstance(callback.message, Message):
        return
    if match is None:
        await callback.message.answer(t("error-not-found"))
        return
    # The offer is what the viewer would receive when the match is on their want, and the
    # want is what they are asked for when it is on their offer.
    other = match.offer_item if match.want_item.user_id == actor.id else match.want_item
    view = View(
        match_line(match, 1, t).removeprefix("1. "),
        markup([match_buttons(match.id, t, see=False)]),
        photo=photo_of(other, settings.public_url),
    )
    await send_view(bot, callback.message.chat.id, view)


@router.callback_query(MatchCb.filter(F.action == "propose"))
async def propose_match(
    callback: CallbackQuery,
    callback_data: MatchCb,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """Propose a one-way exchange from a match (the same call as POST /api/exchanges/)."""
    exchange = _propose(db, actor, [callback_data.match_id], settings)
    await _proposed(callback, db, actor, t, exchange)


@router.callback_query(TradeCb.filter())
async def propose_trade(
    callback: CallbackQuery,
    callback_data: TradeCb,
    db: Session,
    actor: User,
    t: Translator,
    settings: Settings,
) -> None:
    """Propose a swap or a 3-way trade from its matches."""
    match_ids = [int(m) for m in callback_data.matches.split("-") if m.isdigit()]
    exchange = _propose(db, actor, match_ids, settings)
    await _proposed(callback, db, actor, t, exchange)


def _propose(db: Session, actor: User, match_ids: list[int], settings: Settings) -> Exchange:
    return exchanges.propose(
        db,
        proposer=actor,
        match_ids=match_ids,
        deadline=timedelta(hours=settings.exchange_deadline_hours),
    )


async def _proposed(
    callback: CallbackQuery, db: Session, actor: User, t: Translator, exchange: Exchange
) -> None:
    await callback.answer(t("exchange-proposed", id=str(exchange.id)))
    if isinstance(callback.message, Message):
        view = exchange_view(db, exchange, actor, t)
        await callback.message.answer(
            t("exchange-proposed", id=str(exchange.id)) + "\n\n" + view.text,
            reply_markup=view.keyboard,
        )


@router.callback_query(MatchCb.filter(F.action == "no"))
async def not_interested(
    callback: CallbackQuery, callback_data: MatchCb, db: Session, actor: User, t: Translator
) -> None:
    """Hide the match for good (the same call as POST /api/matches/{id}/dismiss)."""
    from freemarket.domain import dismissals

    dismissal = dismissals.dismiss_match(db, actor=actor, match_id=callback_data.match_id)
    want = db.get(Item, dismissal.want_item_id)
    offer = db.get(Item, dismissal.offer_item_id)
    await callback.answer()
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("match-hidden", want=want.title if want else "?", offer=offer.title if offer else "?")
        )


@router.message(Command("trades"))
async def trades(
    message: Message, db: Session, actor: User, t: Translator, settings: Settings
) -> None:
    """Swaps and 3-way cycles you take part in, each with a "Propose" button."""
    found = queries.trades_for_user(
        db, actor=actor, user_id=actor.id, min_score=settings.match_show_threshold
    )
    if not found:
        await message.answer(t("trades-empty"))
        return
    people_ids = {uid for trade in found for uid in trade.proposal.users}
    people = {uid: users.get_user(db, uid) for uid in people_ids}
    item_titles = _titles(db, {leg.offer_item for trade in found for leg in trade.proposal.legs})
    lines = [t("trades-header")]
    rows = []
    for n, trade in enumerate(found[:TRADES_SHOWN], start=1):
        others = ", ".join(name_of(people[u], t) for u in trade.proposal.users if u != actor.id)
        lines.append(
            t(
                "trade-line",
                n=str(n),
                kind=trade.proposal.kind,
                people=others,
                score=round(trade.proposal.score * 100),
            )
        )
        for leg in trade.proposal.legs:
            lines.append(
                t(
                    "trade-leg",
                    giver=name_of(people[leg.giver], t),
                    receiver=name_of(people[leg.receiver], t),
                    item=item_titles.get(leg.offer_item, "?"),
                )
            )
        packed = "-".join(str(m) for m in trade.match_ids)
        rows.append([button(t("btn-propose-n", n=str(n)), TradeCb(matches=packed))])
    await message.answer("\n".join(lines), reply_markup=markup(rows))


def _titles(db: Session, item_ids: set[int]) -> dict[int, str]:
    from sqlalchemy import select

    return dict(db.execute(select(Item.id, Item.title).where(Item.id.in_(item_ids))).tuples().all())
