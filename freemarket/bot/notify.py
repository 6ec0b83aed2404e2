"""Notification messages: outbox rows rendered in the person's language, with buttons to act.

An exchange notification shows the exchange as it is when the message goes out (a proposal
accepted meanwhile offers "complete", not "accept"), so a button never offers a step that is
no longer possible.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import MatchCb, button, markup
from freemarket.bot.views import (
    View,
    exchange_contacts,
    exchange_keyboard,
    exchange_legs,
    match_buttons,
    name_of,
    photo_of,
    web_link,
)
from freemarket.db.models import Exchange, Item, Notification, User, utcnow

DIGEST_LINES = 10
EXCHANGE_EVENTS = {
    "proposed": "notify-exchange-proposed",
    "accept:proposed": "notify-exchange-accepted-one",
    "accept:accepted": "notify-exchange-accepted",
    "decline:declined": "notify-exchange-declined",
    "cancel:cancelled": "notify-exchange-cancelled",
    "cancelled:item_reserved": "notify-exchange-cancelled-reserved",
    "cancelled:party_banned": "notify-exchange-cancelled-banned",
    "complete:accepted": "notify-exchange-completed-one",
    "complete:completed": "notify-exchange-completed",
    "expired": "notify-exchange-expired",
}


def render_notification(
    session: Session, notification: Notification, user: User, *, public_url: str
) -> View:
    """The message for one outbox row, in the user's language."""
    t = Translator(user.language)
    payload = notification.payload or {}
    try:
        if notification.kind == "match":
            return _match(session, notification, t, public_url)
        if notification.kind == "exchange":
            return _exchange(session, payload, user, t, public_url)
    except (KeyError, ValueError, TypeError):
        pass  # a payload from an older version lacks a field: say something rather than nothing
    return View(t("notify-fallback", link=web_link(public_url, "inbox")))


def render_digest(notifications: list[Notification], user: User, *, public_url: str) -> View:
    """One message for a burst of match notifications."""
    t = Translator(user.language)
    lines = [
        t(
            "digest-line",
            want=n.payload.get("want_title", "?"),
            offer=n.payload.get("offer_title", "?"),
            score=round(float(n.payload.get("score", 0)) * 100),
        )
        for n in notifications[:DIGEST_LINES]
    ]
    parts = [t("notify-digest", count=len(notifications)), *lines]
    more = len(notifications) - len(lines)
    if more > 0:
        parts.append(t("digest-more", more=more))
    parts.append(web_link(public_url, "matches"))
    keyboard = markup([[button(t("btn-my-matches"), MatchCb(action="page", page=0))]])
    return View("\n".join(parts), keyboard)


def _match(session: Session, notification: Notification, t: Translator, public_url: str) -> View:
    payload: dict[str, Any] = notification.payload
    offer = session.get(Item, int(payload["offer_item_id"]))
    owner = offer.owner if offer is not None else None
    text = t(
        "notify-match",
        want=payload["want_title"],
        offer=payload["offer_title"],
        owner=name_of(owner, t),
        score=round(float(payload["score"]) * 100),
        ratings=owner.rating_count if owner is not None else 0,
        link=web_link(public_url, f"items/{payload['offer_item_id']}"),
    )
    photo = photo_of(offer, public_url)
    # The match row goes when a recompute or an edit drops it: then there is nothing to act on.
    if notification.match_id is None:
        return View(text, photo=photo)
    return View(text, markup([match_buttons(notification.match_id, t)]), photo=photo)


def _exchange(
    session: Session, payload: dict[str, Any], user: User, t: Translator, public_url: str
) -> View:
    exchange = session.scalar(
        select(Exchange)
        .where(Exchange.id == int(payload["exchange_id"]))
        .options(selectinload(Exchange.legs), selectinload(Exchange.parties))
    )
    if exchange is None:
        raise ValueError("exchange is gone")
    by = payload.get("by")
    actor = session.scalar(select(User).where(User.username == by)) if by else None
    key = EXCHANGE_EVENTS.get(str(payload.get("event")), "notify-exchange-status")
    hours = 0
    if exchange.expires_at is not None:
        hours = max(1, math.ceil((exchange.expires_at - utcnow()).total_seconds() / 3600))
    text = t(
        key,
        id=str(exchange.id),
        by=name_of(actor, t),
        kind=t(f"kind-{exchange.kind}"),
        status=t(f"status-{payload.get('status', exchange.status)}"),
        legs=exchange_legs(session, exchange, user, t),
        hours=hours,
        waiting=sum(1 for p in exchange.parties if p.accepted_at is None),
        contacts=exchange_contacts(session, exchange, user, t),
        link=web_link(public_url, "exchanges"),
    )
    return View(text, exchange_keyboard(session, exchange, user, t))
