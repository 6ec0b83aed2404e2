"""What the bot shows: texts and keyboards of items, matches and exchanges, for one viewer.

Handlers and notifications share these, so an exchange looks the same (and offers the same
buttons for its state) whether it arrives as a notification or is opened with /exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.bot.i18n import Translator
from freemarket.bot.keyboards import ExchangeCb, MatchCb, button, markup
from freemarket.db.models import Category, Exchange, Item, Match, User
from freemarket.domain import exchanges, photos, public_profile, ratings, visibility


@dataclass(frozen=True, slots=True)
class View:
    """A message: its text, its buttons, and the address of the picture it shows, if any."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None
    photo: str | None = None


def photo_of(item: Item | None, public_url: str) -> str | None:
    """The address of an item's first photo in its display size (what Telegram fetches)."""
    # Telegram fetches it without anyone's session: only a listed item's photo is served so.
    if item is None or not item.photos or not visibility.is_listed(item):
        return None
    return photos.photo_url(item.photos[0], "display", public_url=public_url)


def name_of(user: User | None, t: Translator) -> str:
    """How a person is called in messages: display name, else username."""
    if user is None:
        return t("someone")
    return user.display_name or user.username


def category_name(session: Session, slug: str, language: str) -> str:
    """A category's name in the language."""
    category = session.get(Category, slug)
    if category is None:
        return slug
    return category.name_en if language == "en" else category.name_ru


def web_link(public_url: str, path: str) -> str:
    """An address on the web UI."""
    return f"{public_url.rstrip('/')}/{path.lstrip('/')}"


def item_view(session: Session, item: Item, t: Translator, public_url: str) -> View:
    """An item's card, with its first photo."""
    return View(
        t(
            "item-card",
            kind=item.kind,
            id=str(item.id),
            title=item.title,
            description=item.description or t("no-description"),
            city=item.city or "—",
            category=category_name(session, item.category, t.language),
            link=web_link(public_url, f"items/{item.id}"),
        ),
        photo=photo_of(item, public_url),
    )


def match_line(match: Match, n: int, t: Translator) -> str:
    """One line of a match list: both titles, the score and the words they share."""
    shared = match.explanation.get("shared_terms", [])[:5]
    # Entries are {"term", "weight"}; rows written by older versions hold plain strings.
    terms = ", ".join(e["term"] if isinstance(e, dict) else str(e) for e in shared) or "none"
    return t(
        "match-line",
        n=str(n),
        want=match.want_item.title,
        offer=match.offer_item.title,
        score=round(match.score * 100),
        terms=terms,
    )


def match_buttons(match_id: int, t: Translator, *, see: bool = True) -> list:
    """The buttons under a match: see it, propose an exchange, not interested."""
    row = [
        button(t("btn-propose"), MatchCb(action="propose", match_id=match_id)),
        button(t("btn-not-interested"), MatchCb(action="no", match_id=match_id)),
    ]
    if see:
        row.insert(0, button(t("btn-see-match"), MatchCb(action="see", match_id=match_id)))
    return row


def _people(session: Session, exchange: Exchange) -> dict[int, User]:
    ids = exchanges.party_ids(exchange)
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def exchange_legs(session: Session, exchange: Exchange, viewer: User, t: Translator) -> str:
    """Who gives what to whom, from the viewer's side."""
    people = _people(session, exchange)
    lines = []
    for leg in exchange.legs:
        giver, receiver = people.get(leg.from_user_id), people.get(leg.to_user_id)
        if leg.from_user_id == viewer.id:
            lines.append(t("exchange-leg-give", item=leg.item_title, name=name_of(receiver, t)))
        elif leg.to_user_id == viewer.id:
            lines.append(t("exchange-leg-get", item=leg.item_title, name=name_of(giver, t)))
        else:
            lines.append(
                t(
                    "exchange-leg-other",
                    item=leg.item_title,
                    giver=name_of(giver, t),
                    receiver=name_of(receiver, t),
                )
            )
    return "\n".join(lines)


def exchange_contacts(session: Session, exchange: Exchange, viewer: User, t: Translator) -> str:
    """The other parties' contacts, shown by the same rule as the API: once agreed by all."""
    people = _people(session, exchange)
    lines = []
    for uid in sorted(exchanges.party_ids(exchange) - {viewer.id}):
        other = people[uid]
        if not public_profile.may_see_contact(session, user=other, viewer=viewer):
            continue
        if other.contact:
            lines.append(t("exchange-contact", name=name_of(other, t), contact=other.contact))
        else:
            lines.append(t("exchange-no-contact", name=name_of(other, t)))
    return "\n".join(lines)


def exchange_view(session: Session, exchange: Exchange, viewer: User, t: Translator) -> View:
    """An exchange card for one of its parties, with the buttons that fit its state."""
    people = _people(session, exchange)
    parties = []
    for party in exchange.parties:
        key = (
            "exchange-party-done"
            if party.completed_at
            else "exchange-party-accepted"
            if party.accepted_at
            else "exchange-party-waiting"
        )
        parties.append(t(key, name=name_of(people.get(party.user_id), t)))
    contacts = exchange_contacts(session, exchange, viewer, t)
    text = t(
        "exchange-card",
        id=str(exchange.id),
        kind=t(f"kind-{exchange.kind}"),
        status=t(f"status-{exchanges.status_of(exchange)}"),
        legs=exchange_legs(session, exchange, viewer, t),
        parties="\n".join(parties),
    )
    if contacts:
        text += "\n" + contacts
    return View(text, exchange_keyboard(session, exchange, viewer, t))


def exchange_keyboard(
    session: Session, exchange: Exchange, viewer: User, t: Translator
) -> InlineKeyboardMarkup | None:
    """Accept/decline while proposed, complete/cancel once agreed, rate once completed."""
    if viewer.id not in exchanges.party_ids(exchange):
        return None
    eid = exchange.id
    rows = []
    # Which buttons is the domain's rule (the web UI shows the same); the bot only lays them out.
    allowed = exchanges.actions_for(exchange, viewer=viewer)
    answers = [a for a in ("accept", "decline") if a in allowed]
    if answers:
        rows.append([button(t(ACTION_LABELS[a]), _act(a, eid)) for a in answers])
    rest = [a for a in ("complete", "cancel") if a in allowed]
    if rest:
        rows.append([button(t(ACTION_LABELS[a]), _act(a, eid)) for a in rest])
    if exchanges.status_of(exchange) == "completed":
        people = _people(session, exchange)
        rated = ratings.rated_by(session, rater_id=viewer.id, exchange_ids=[eid])[eid]
        for uid in sorted(exchanges.party_ids(exchange) - {viewer.id} - rated):
            label = t("btn-rate", name=name_of(people.get(uid), t))
            rows.append([button(label, ExchangeCb(action="rate", exchange_id=eid, user_id=uid))])
    return markup(rows)


ACTION_LABELS = {
    "accept": "btn-accept",
    "decline": "btn-decline",
    "complete": "btn-complete",
    "cancel": "btn-cancel-exchange",
}


def _act(action: str, exchange_id: int) -> ExchangeCb:
    return ExchangeCb(action=action, exchange_id=exchange_id)
