"""Which items are on the market ("listed") and which items a given viewer may see.

The one place for the rule: an item is *listed* when it is active and its owner is not banned.
Listed items are public; an unlisted one (withdrawn, exchanged, or its owner banned) is seen
only by its owner, admins, and the parties of an accepted or completed exchange it was part of.
The API, the bot, matching, search and profile pages all read items through these functions.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from freemarket.db.models import Exchange, ExchangeLeg, ExchangeParty, Item, User
from freemarket.domain.actors import is_admin, is_self_or_admin

S = TypeVar("S", bound=Select[Any])
# Exchange states after which the parties keep seeing the items they exchanged.
SHARED_STATES = ("accepted", "completed")
# Why an item is not listed (the first that applies).
INACTIVE = "inactive"
OWNER_BANNED = "owner_banned"


# One alias for every statement: a fresh alias per call made SQLAlchemy adapt the columns and
# rebuild the statement's cache key on every request (8 % of an item list's CPU, issue 14).
_OWNER = aliased(User, name="listed_owner")


def listed_where(item: Any, owner: Any) -> ColumnElement[bool]:
    """SQL: `item` (Item or an alias) is listed, `owner` being its owner's row joined."""
    return and_(item.active.is_(True), owner.is_banned.is_(False))


def listed(stmt: S) -> S:
    """Restrict a statement over `Item` to listed items (joins the owner under an alias)."""
    return stmt.join(_OWNER, _OWNER.id == Item.user_id).where(listed_where(Item, _OWNER))


def unlisted_reason(*, active: bool, owner_banned: bool) -> str | None:
    """Why an item is off the market (INACTIVE, OWNER_BANNED), or None when it is listed."""
    if not active:
        return INACTIVE
    if owner_banned:
        return OWNER_BANNED
    return None


def is_listed(item: Item) -> bool:
    """True when the item is on the market: active, and its owner is not banned."""
    return unlisted_reason(active=item.active, owner_banned=item.owner.is_banned) is None


def unlisted_reasons(session: Session, item_ids: Collection[int]) -> dict[int, str]:
    """Item id to why it is not listed, for those of these items that are not listed.

    Read from the database, not from loaded objects: after locking the rows, this is what
    other transactions committed meanwhile.
    """
    rows = session.execute(
        select(Item.id, Item.active, User.is_banned)
        .join(User, User.id == Item.user_id)
        .where(Item.id.in_(item_ids))
    )
    reasons = {
        item: unlisted_reason(active=active, owner_banned=banned) for item, active, banned in rows
    }
    return {item: why for item, why in reasons.items() if why is not None}


def listed_owners(session: Session, item_ids: Collection[int]) -> dict[int, int]:
    """Item id to owner id, for those of these items that are listed."""
    rows = session.execute(
        select(Item.id, Item.user_id).where(Item.id.in_(item_ids), Item.active.is_(True))
    )
    owners = {item: owner for item, owner in rows}
    # Asked separately: joined, PostgreSQL hashes the whole users table for a few owners.
    banned = set(
        session.scalars(
            select(User.id).where(User.id.in_(set(owners.values())), User.is_banned.is_(True))
        )
    )
    return {item: owner for item, owner in owners.items() if owner not in banned}


def sees_unlisted_of(viewer: User | None, *, owner_id: int) -> bool:
    """True when `viewer` sees every item of this owner, listed or not (the owner, admins)."""
    return is_self_or_admin(viewer, owner_id)


def shared_an_exchange(session: Session, *, item_id: int, viewer_id: int) -> bool:
    """True when the viewer is a party of an accepted or completed exchange of this item."""
    found = session.scalar(
        select(ExchangeParty.id)
        .join(Exchange, Exchange.id == ExchangeParty.exchange_id)
        .join(ExchangeLeg, ExchangeLeg.exchange_id == Exchange.id)
        .where(
            ExchangeParty.user_id == viewer_id,
            Exchange.status.in_(SHARED_STATES),
            or_(ExchangeLeg.item_id == item_id, ExchangeLeg.want_item_id == item_id),
        )
        .limit(1)
    )
    return found is not None


def may_see_item(session: Session, *, item: Item, viewer: User | None) -> bool:
    """True when `viewer` (None: anonymous) may see this item."""
    return may_see(
        session, item_id=item.id, owner_id=item.user_id, listed=is_listed(item), viewer=viewer
    )


def may_see(
    session: Session, *, item_id: int, owner_id: int, listed: bool, viewer: User | None
) -> bool:
    """`may_see_item` on plain values (`listed` from `unlisted_reason`), for rows, not objects."""
    if listed or sees_unlisted_of(viewer, owner_id=owner_id):
        return True
    return viewer is not None and shared_an_exchange(session, item_id=item_id, viewer_id=viewer.id)


def visible_items(
    stmt: S, *, viewer: User | None, owner_id: int | None = None, include_unlisted: bool = False
) -> S:
    """Restrict a statement over `Item` to the items `viewer` may see in a list.

    Lists show listed items; `include_unlisted` adds the unlisted items of `owner_id` when the
    viewer may see them (their own list, or an admin's look at it), and is ignored otherwise.
    """
    if owner_id is not None:
        stmt = stmt.where(Item.user_id == owner_id)
        if include_unlisted and sees_unlisted_of(viewer, owner_id=owner_id):
            return stmt
    return listed(stmt)


def may_see_user(user: User, *, viewer: User | None) -> bool:
    """A banned person's pages are gone for everyone but admins."""
    return not user.is_banned or is_admin(viewer)
