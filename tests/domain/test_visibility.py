"""Which items each viewer sees, through every reader: one rule (domain/visibility.py)."""

from __future__ import annotations

import pytest

from freemarket.db.models import Item, Match
from freemarket.domain import items, visibility
from freemarket.errors import NotFound
from freemarket.matching import queries
from freemarket.matching.store import load_listings
from tests.domain.cast import VIEWERS, Cast

# item state → the viewers who may see the item (a listed item is public)
SEES: dict[str, set[str]] = {
    "listed": set(VIEWERS),
    "withdrawn": {"owner", "admin"},
    "exchanged": {"owner", "partner", "admin"},
    "owner_banned": {"admin"},
}
UNLISTED = ("withdrawn", "exchanged", "owner_banned")


@pytest.mark.parametrize("state", sorted(SEES))
@pytest.mark.parametrize("viewer", VIEWERS)
def test_one_item(cast: Cast, state: str, viewer: str) -> None:
    item_id = cast.items[state]
    if viewer in SEES[state]:
        found = items.get_visible_item(cast.db, item_id=item_id, viewer=cast.viewer(viewer))
        assert found.id == item_id
    else:
        with pytest.raises(NotFound):
            items.get_visible_item(cast.db, item_id=item_id, viewer=cast.viewer(viewer))


@pytest.mark.parametrize("viewer", VIEWERS)
def test_lists_show_listed_items_only(cast: Cast, viewer: str) -> None:
    shown = {i.id for i in items.list_items(cast.db, viewer=cast.viewer(viewer), limit=100).items}
    assert cast.items["listed"] in shown
    assert not shown & {cast.items[state] for state in UNLISTED}


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_persons_list_with_unlisted_items(cast: Cast, viewer: str) -> None:
    """The owner (and an admin) list every item of the owner; others the listed ones only."""
    page = items.list_items(
        cast.db,
        viewer=cast.viewer(viewer),
        user_id=cast.people["owner"].id,
        include_inactive=True,
        limit=100,
    )
    shown = {i.id for i in page.items}
    mine = {cast.items[state] for state in ("listed", "withdrawn", "exchanged")}
    assert shown == (mine if viewer in ("owner", "admin") else {cast.items["listed"]})


def test_search_applies_the_same_rule(cast: Cast) -> None:
    found = {i.id for i in items.list_items(cast.db, query="велосипед", limit=100).items}
    assert found == {cast.items["listed"]}


def test_matching_reads_only_listed_items(cast: Cast) -> None:
    listed = {listing.id for listing in load_listings(cast.db)}
    assert cast.items["listed"] in listed
    assert not listed & {cast.items[state] for state in UNLISTED}
    assert set(visibility.listed_owners(cast.db, set(cast.items.values()))) == {
        cast.items["listed"]
    }
    for state, item_id in cast.items.items():
        item = cast.db.get(Item, item_id)
        assert item is not None
        assert visibility.is_listed(item) is (state == "listed")


def test_matches_with_unlisted_items_are_not_shown(cast: Cast) -> None:
    """A stored match with the banned owner's item is shown to nobody."""
    db = cast.db
    stranger = cast.people["stranger"]
    want = items.create_item(db, owner=stranger, kind="want", category="other", title="велосипед")
    for offer in (cast.items["listed"], cast.items["owner_banned"]):
        db.add(Match(want_item_id=want.id, offer_item_id=offer, score=0.9, computed_by="test"))
    db.commit()
    shown = queries.matches_for_user(db, actor=stranger, user_id=stranger.id)
    assert [m.offer_item_id for m in shown] == [cast.items["listed"]]


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_banned_persons_pages_are_gone_except_for_admins(cast: Cast, viewer: str) -> None:
    banned = cast.people["banned_owner"]
    assert visibility.may_see_user(banned, viewer=cast.viewer(viewer)) is (viewer == "admin")
