"""Photos in the chat: match and item messages show the item's photo (sendPhoto, captioned)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.bot.sending import CAPTION_MAX
from freemarket.db.models import Item, ItemPhoto, User
from freemarket.domain import items, photos
from freemarket.errors import NotFound
from freemarket.infra.storage import DiskStorage
from freemarket.matching.worker import MatchWorker
from tests.bot.conftest import ANNA, BORIS, PUBLIC_URL, RunningBot
from tests.fakes.telegram import error


def _person(db: Session, telegram_id: int) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


def _post(db: Session, owner: User, kind: str, title: str, **fields: object) -> Item:
    item = items.create_item(
        db, owner=owner, kind=kind, category="bicycles", title=title, city="Москва", **fields
    )
    db.commit()
    return item


def _add_photo(bot: RunningBot, db: Session, owner: User, item: Item) -> str:
    """Attach a picture to the item; the address Telegram is given for it."""
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(picture, "PNG")
    photo = photos.add_photo(
        db,
        actor=owner,
        item_id=item.id,
        data=picture.getvalue(),
        storage=DiskStorage(bot.settings.data_dir / "photos"),
        max_bytes=bot.settings.photo_max_bytes,
    )
    db.commit()
    return f"{PUBLIC_URL}/api/photos/{photo.key}-display.jpg"


def test_match_and_item_messages_carry_the_photo(running_bot: RunningBot, db: Session) -> None:
    bot = running_bot
    bot.say(ANNA, "/start")
    bot.say(BORIS, "/start")
    anna, boris = _person(db, ANNA.id), _person(db, BORIS.id)
    offer = _post(db, anna, "offer", "Велосипед Stels горный")
    url = _add_photo(bot, db, anna, offer)
    want = _post(db, boris, "want", "Горный велосипед Stels")

    # The match notification is the offer's photo, captioned with the message and its buttons.
    mark = bot.telegram.mark()
    MatchWorker(bot.engine, bot.settings).run_until_idle()
    told = bot.telegram.wait_for(lambda c: "A match for" in c.text, after=mark)
    assert told.method == "sendPhoto" and told.chat_id == BORIS.id
    assert told.photo == url
    assert told.text.startswith("A match for your want “Горный велосипед Stels”")
    assert told.button("See the match") and told.button("Propose exchange")

    # "See the match" under the photo: the match again, with the same photo.
    seen = bot.press(BORIS, told, "See the match")
    assert seen.method == "sendPhoto" and seen.photo == url
    assert seen.text.startswith("“Горный велосипед Stels” ↔ “Велосипед Stels горный”")
    assert seen.button("Propose exchange")
    # Its buttons still work on a photo message.
    mark = bot.telegram.mark()
    bot.press(BORIS, seen, "Propose exchange")
    bot.telegram.wait_for(lambda c: "предлагает обмен" in c.text, after=mark)

    # An item opened by deep link shows its photo; an item without one is a text message.
    card = bot.say(BORIS, f"/start item_{offer.id}")
    assert card.method == "sendPhoto" and card.photo == url
    assert f"Offer #{offer.id}: Велосипед Stels горный" in card.text
    plain = bot.say(BORIS, f"/start item_{want.id}")
    assert plain.method == "sendMessage" and "Горный велосипед Stels" in plain.text
    assert plain.link_preview == {}


def test_a_photo_telegram_cannot_fetch_becomes_a_link_preview(
    running_bot: RunningBot, db: Session
) -> None:
    bot = running_bot
    bot.say(ANNA, "/start")
    anna = _person(db, ANNA.id)
    offer = _post(db, anna, "offer", "Палатка трёхместная")
    url = _add_photo(bot, db, anna, offer)
    # As Telegram answers for an address it cannot download (a server on a private network).
    bot.telegram.behaviours["sendPhoto"] = lambda *_: error(
        400, "Bad Request: failed to get HTTP URL content"
    )
    mark = bot.telegram.mark()
    card = bot.say(ANNA, f"/start item_{offer.id}")
    assert card.method == "sendPhoto"  # tried first
    text = bot.telegram.wait_for(
        lambda c: c.method == "sendMessage" and c.chat_id == ANNA.id, after=mark
    )
    assert "Палатка трёхместная" in text.text
    assert text.link_preview == {"url": url, "prefer_large_media": True, "show_above_text": True}


def test_a_text_too_long_for_a_caption_keeps_the_photo_as_a_preview(
    running_bot: RunningBot, db: Session
) -> None:
    bot = running_bot
    bot.say(ANNA, "/start")
    anna = _person(db, ANNA.id)
    offer = _post(db, anna, "offer", "Книги", description="Собрание сочинений. " * 80)
    url = _add_photo(bot, db, anna, offer)
    card = bot.say(ANNA, f"/start item_{offer.id}")
    assert card.method == "sendMessage" and len(card.text) > CAPTION_MAX
    assert card.link_preview["url"] == url
    assert not [c for c in bot.telegram.calls if c.method == "sendPhoto"]
    assert db.scalar(select(ItemPhoto.key)) in url


def test_an_unlisted_items_card_sends_no_photo_address(
    running_bot: RunningBot, db: Session
) -> None:
    """Telegram fetches photos with nobody's session: a withdrawn item's photo is not offered."""
    bot = running_bot
    bot.say(ANNA, "/start")
    anna = _person(db, ANNA.id)
    offer = _post(db, anna, "offer", "Палатка двухместная")
    url = _add_photo(bot, db, anna, offer)
    items.set_item_active(db, actor=anna, item_id=offer.id, active=False)
    db.commit()
    # Fetched as Telegram does, without a session, the photo is not there.
    with pytest.raises(NotFound):
        photos.read_photo(
            db,
            storage=DiskStorage(bot.settings.data_dir / "photos"),
            name=url.rsplit("/", 1)[1],
            viewer=None,
        )
    mark = bot.telegram.mark()
    card = bot.say(ANNA, f"/start item_{offer.id}")
    assert card.method == "sendMessage" and "Палатка двухместная" in card.text
    assert card.link_preview == {}
    assert not [c for c in bot.telegram.calls[mark:] if c.method == "sendPhoto"]
