"""Items people offer or want."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Integer, RowMapping, Select, bindparam, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from freemarket.db.models import (
    Exchange,
    ExchangeLeg,
    Item,
    ItemPhoto,
    User,
)
from freemarket.db.session import in_list, is_postgres
from freemarket.domain import categories, jobs, jsonpolicy, search, visibility
from freemarket.domain.fields import ID_TEXT, check_text
from freemarket.domain.item_fields import EDITABLE_COLUMNS, REQUIRED_COLUMNS, public_name
from freemarket.domain.permissions import authorize_owner_or_admin
from freemarket.errors import InvalidInput, NotFound
from freemarket.matching.core import ITEM_KINDS

S = TypeVar("S", bound=Select[Any])


@dataclass(frozen=True, slots=True)
class ItemPage:
    """One page of items and the cursor of the next page (None on the last)."""

    items: list[Item]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ItemRowPage:
    """One page of items as plain dicts (attribute names, `photos` a list of dicts)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


# Every stored column of an item, labelled with its attribute name (`meta`, not `metadata`), so
# a row reads like the ORM object and the response model validates it the same way.
ITEM_COLUMNS = tuple(
    getattr(Item, attr.key).label(attr.key) for attr in Item.__mapper__.column_attrs
)
PHOTO_COLUMNS = (ItemPhoto.id, ItemPhoto.key, ItemPhoto.width, ItemPhoto.height)


def _check_category(session: Session, category: str) -> None:
    if not categories.exists(session, category):
        raise InvalidInput(
            f"unknown category {category!r}; see GET /api/categories",
            code="unknown_category",
            category=category,
        )


def create_item(
    session: Session,
    *,
    owner: User,
    kind: str,
    category: str,
    title: str,
    description: str = "",
    meta: dict[str, Any] | None = None,
    city: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    delivery: bool = False,
    external_id: str | None = None,
) -> Item:
    """Create an item and, in the same transaction, the job that matches it."""
    if kind not in ITEM_KINDS:
        raise InvalidInput(
            "kind must be 'offer' or 'want'", code="invalid_kind", allowed=ITEM_KINDS
        )
    _check_category(session, category)
    item = Item(
        user_id=owner.id,
        kind=kind,
        category=category,
        title=title.strip(),
        description=description.strip(),
        meta=jsonpolicy.check_stored(meta or {}, field=public_name("meta")),
        city=city if city is not None else owner.city,
        latitude=latitude,
        longitude=longitude,
        delivery=delivery,
        external_id=external_id,
        # A new item has no photos; saying so spares the answer a query for them.
        photos=[],
    )
    session.add(item)
    session.flush()
    search.index_item(session, item=item, new=True)
    jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": item.id})
    return item


def get_item(session: Session, item_id: int) -> Item:
    """The item with this id, or NotFound."""
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"item {item_id} not found", code="item_not_found", item_id=item_id)
    return item


def completed_exchange_of(session: Session, *, item_id: int) -> int | None:
    """The completed exchange this item changed hands in (or fulfilled a want of), if any."""
    return session.scalar(
        select(Exchange.id)
        .join(ExchangeLeg, ExchangeLeg.exchange_id == Exchange.id)
        .where(
            or_(ExchangeLeg.item_id == item_id, ExchangeLeg.want_item_id == item_id),
            Exchange.status == "completed",
        )
        .limit(1)
    )


def get_visible_item(session: Session, *, item_id: int, viewer: User | None) -> Item:
    """The item as `viewer` may see it (see `visibility`), or NotFound."""
    # The owner (is_banned) and the photos (the answer shows them) in the same round trip.
    item = session.get(Item, item_id, options=(joinedload(Item.owner), joinedload(Item.photos)))
    if item is None or not visibility.may_see_item(session, item=item, viewer=viewer):
        raise _item_not_found(item_id)
    return item


def _item_not_found(item_id: int) -> NotFound:
    return NotFound(f"item {item_id} not found", code="item_not_found", item_id=item_id)


def get_visible_item_row(session: Session, *, item_id: int, viewer: User | None) -> dict[str, Any]:
    """`get_visible_item` as a plain row (`list_item_rows`' shape), in one statement.

    The API's hot read: the item, its owner's ban and its photos joined, no ORM objects.
    """
    rows = session.execute(_ROW_WITH_OWNER, {"id": item_id}).mappings().all()
    if not rows:
        raise _item_not_found(item_id)
    item = _grouped_rows(rows)[item_id]
    reason = visibility.unlisted_reason(active=item["active"], owner_banned=rows[0]["owner_banned"])
    listed = reason is None
    if not visibility.may_see(
        session, item_id=item_id, owner_id=item["user_id"], listed=listed, viewer=viewer
    ):
        raise _item_not_found(item_id)
    return item


def edit_item(session: Session, *, actor: User, item_id: int, changes: dict[str, Any]) -> Item:
    """The owner (or an admin, audited) changes an item; it is matched again."""
    item = get_item(session, item_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=item.user_id,
        action="update_item",
        target_type="item",
        target_id=item.id,
        details={"fields": sorted(changes)},
    )
    return update_item(session, item=item, changes=changes)


def set_item_active(session: Session, *, actor: User, item_id: int, active: bool) -> Item:
    """The owner (or an admin, audited) takes an item off the market or puts it back."""
    item = get_item(session, item_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=item.user_id,
        action="deactivate_item" if not active else "reactivate_item",
        target_type="item",
        target_id=item.id,
    )
    if not active:
        return deactivate_item(session, item=item)
    if not item.active:
        item.active = True
        session.flush()
        jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": item.id})
    return item


def update_item(session: Session, *, item: Item, changes: dict[str, Any]) -> Item:
    """Apply editable fields and queue a re-match of the item."""
    unknown = set(changes) - EDITABLE_COLUMNS
    if unknown:
        raise InvalidInput(
            f"cannot change {', '.join(sorted(unknown))}",
            code="field_not_editable",
            fields=sorted(unknown),
        )
    cleared = sorted(
        public_name(k) for k in REQUIRED_COLUMNS if k in changes and changes[k] is None
    )
    if cleared:
        raise InvalidInput(
            f"{', '.join(cleared)} cannot be null", code="field_required", fields=cleared
        )
    if "category" in changes:
        _check_category(session, changes["category"])
    if "meta" in changes:
        jsonpolicy.check_stored(changes["meta"] or {}, field=public_name("meta"))
    for key, value in changes.items():
        setattr(item, key, value.strip() if isinstance(value, str) else value)
    session.flush()
    if "title" in changes or "description" in changes:
        search.index_item(session, item=item)
    jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": item.id})
    return item


def deactivate_item(session: Session, *, item: Item) -> Item:
    """Take an item off the market; its matches are withdrawn by the matching job."""
    if item.active:
        item.active = False
        session.flush()
        jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": item.id})
    return item


# A cursor names the last item of the previous page: "<id>" in a list (newest first), and
# "<score>.<id>" in a search (most relevant first). Readable, so that the OpenAPI document can
# state exactly which strings are cursors (CURSOR_PATTERN): any string it allows is decoded, and
# the one refusal it cannot state, a list's cursor in a search or the other way round, depends on
# `q` (JSON Schema has no rule across query parameters), so it is in the parameter's description.
LIST_CURSOR = ID_TEXT
SEARCH_CURSOR = rf"(?:0|{ID_TEXT})\.{ID_TEXT}"
# Empty: the first page (a form may send `cursor=` with nothing in it).
CURSOR_PATTERN = rf"^(?:{LIST_CURSOR}|{SEARCH_CURSOR})?$"
CURSOR_DESCRIPTION = (
    "`next_cursor` of the previous page; empty or absent: the first page. A list's cursor "
    "(`<id>`) is refused (422 invalid_cursor) in a search (`q` not empty), and a search's "
    "(`<score>.<id>`) in a list."
)


def encode_cursor(last_id: int, *, score: int | None = None) -> str:
    """A cursor pointing after item `last_id` (and, in a search, after its score)."""
    return str(last_id) if score is None else f"{score}.{last_id}"


def decode_cursor(cursor: str, *, ranked: bool = False) -> tuple[int | None, int]:
    """(score, item id) a cursor points after; InvalidInput if encode_cursor did not make it.

    A search's cursor carries the score too (`ranked`); a plain list's has none.
    """
    if not re.fullmatch(SEARCH_CURSOR if ranked else LIST_CURSOR, cursor, flags=re.ASCII):
        raise InvalidInput(
            "cursor is not valid; use next_cursor from a previous page", code="invalid_cursor"
        )
    score_text, _, id_text = cursor.rpartition(".")
    return (int(score_text) if ranked else None), int(id_text)


def _escape_like(text: str) -> str:
    """Make LIKE's wildcards (and the escape character) match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_items(
    session: Session,
    *,
    kind: str | None = None,
    category: str | None = None,
    city: str | None = None,
    user_id: int | None = None,
    query: str | None = None,
    viewer: User | None = None,
    include_inactive: bool = False,
    cursor: str | None = None,
    limit: int = 20,
) -> ItemPage:
    """The items `viewer` may see in a list (listed ones), filtered, one page at a time.

    `include_inactive` with `user_id` adds that person's unlisted items when the viewer may see
    them (their own, or an admin).

    Newest first; with a text `query`, the items it finds through the matching text pipeline
    (synonyms, slang, translation), most relevant first.
    """
    _check_filters(session, query=query, city=city, category=category)
    stmt = _filtered(
        select(Item),
        kind=kind or None,
        category=category or None,
        city=_city_pattern(city) if city else None,
        user_id=user_id,
        viewer=viewer,
        include_inactive=include_inactive,
    ).options(selectinload(Item.photos))
    if query:
        return _search_page(session, stmt, query=query, cursor=cursor, limit=limit)
    if cursor:
        stmt = stmt.where(Item.id < decode_cursor(cursor)[1])
    rows = list(session.scalars(stmt.order_by(Item.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return ItemPage(items=rows, next_cursor=encode_cursor(rows[-1].id) if has_more else None)


def _check_filters(
    session: Session, *, query: str | None, city: str | None, category: str | None
) -> None:
    """Refuse filters that cannot be asked: bad text, a category that does not exist."""
    for text in (query, city):
        if text is not None:
            try:
                check_text(text)
            except ValueError as exc:
                raise InvalidInput(str(exc), code="invalid_text") from exc
    if category:
        # A filter naming no category is a mistake to report, not a search that finds nothing.
        _check_category(session, category)


def _city_pattern(city: str) -> str:
    """The ILIKE pattern that finds exactly this city (any case)."""
    return _escape_like(city.strip())


def _filtered(
    stmt: S,
    *,
    kind: Any,
    category: Any,
    city: Any,
    user_id: Any,
    viewer: User | None,
    include_inactive: bool,
) -> S:
    """`stmt` over items restricted to what `viewer` may see in a list and to the filters.

    Each filter is a value, a bound parameter, or None (no filter); `city` is an ILIKE pattern.
    """
    stmt = visibility.visible_items(
        stmt, viewer=viewer, owner_id=user_id, include_unlisted=include_inactive
    )
    if kind is not None:
        stmt = stmt.where(Item.kind == kind)
    if category is not None:
        stmt = stmt.where(Item.category == category)
    if city is not None:
        stmt = stmt.where(Item.city.ilike(city, escape="\\"))
    return stmt


def item_row(item: Item) -> dict[str, Any]:
    """An ORM item as the dict `list_item_rows` gives."""
    row = {attr.key: getattr(item, attr.key) for attr in Item.__mapper__.column_attrs}
    row["photos"] = [
        {"id": p.id, "key": p.key, "width": p.width, "height": p.height} for p in item.photos
    ]
    return row


def list_item_rows(
    session: Session,
    *,
    kind: str | None = None,
    category: str | None = None,
    city: str | None = None,
    user_id: int | None = None,
    query: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
) -> ItemRowPage:
    """`list_items` for an anonymous reader as plain rows: the page and its photos in one query.

    The API's hot list: no ORM objects are built (their loading was most of a request's CPU,
    issue 14), and the photos come joined to the page instead of in a second statement.
    """
    if query:
        page = list_items(
            session,
            kind=kind,
            category=category,
            city=city,
            user_id=user_id,
            query=query,
            cursor=cursor,
            limit=limit,
        )
        return ItemRowPage([item_row(i) for i in page.items], page.next_cursor)
    _check_filters(session, query=None, city=city, category=category)
    params: dict[str, Any] = {
        "kind": kind or None,
        "category": category or None,
        "city": _city_pattern(city) if city else None,
        "user_id": user_id,
        "before": decode_cursor(cursor)[1] if cursor else None,
    }
    params = {name: value for name, value in params.items() if value is not None}
    joined = _row_page_statement(frozenset(params))
    params["limit"] = limit + 1
    rows = list(_grouped_rows(session.execute(joined, params).mappings()).values())
    has_more = len(rows) > limit
    rows = rows[:limit]
    return ItemRowPage(rows, encode_cursor(rows[-1]["id"]) if has_more else None)


def _grouped_rows(rows: Iterable[RowMapping]) -> dict[int, dict[str, Any]]:
    """Item rows with their photos joined (one row per photo, `photo_*`) as one dict per item."""
    found: dict[int, dict[str, Any]] = {}
    for row in rows:
        item = found.get(row["id"])
        if item is None:
            item = found[row["id"]] = {c.key: row[c.key] for c in ITEM_COLUMNS}
            item["photos"] = []
        if row["photo_id"] is not None:
            item["photos"].append({c.key: row[f"photo_{c.key}"] for c in PHOTO_COLUMNS})
    return found


_PHOTO_LABELS = tuple(c.label(f"photo_{c.key}") for c in PHOTO_COLUMNS)


@cache
def _rows_by_id(postgres: bool) -> Select[Any]:
    """Items by id with their photos, one statement with the ids as one bound list."""
    return (
        select(*ITEM_COLUMNS, *_PHOTO_LABELS)
        .outerjoin(ItemPhoto, ItemPhoto.item_id == Item.id)
        .where(in_list(Item.id, "ids", postgres=postgres))
        .order_by(Item.id, ItemPhoto.position)
    )


_ROW_WITH_OWNER = (
    select(*ITEM_COLUMNS, User.is_banned.label("owner_banned"), *_PHOTO_LABELS)
    .join(User, User.id == Item.user_id)
    .outerjoin(ItemPhoto, ItemPhoto.item_id == Item.id)
    .where(Item.id == bindparam("id"))
    .order_by(ItemPhoto.position)
)


def item_rows_by_id(session: Session, ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """These items as `list_item_rows` gives them (no visibility check: the caller's job)."""
    if not ids:
        return {}
    stmt = _rows_by_id(is_postgres(session))
    return _grouped_rows(session.execute(stmt, {"ids": list(ids)}).mappings())


@cache
def _row_page_statement(filters: frozenset[str]) -> Select[Any]:
    """The statement of `list_item_rows` for this set of filters, built once.

    Only the filters' presence shapes it (their values are bound parameters): building it and
    its cache key anew cost a third of a list request's CPU (issue 14).
    """
    page = (
        _filtered(
            select(*ITEM_COLUMNS),
            **{
                name: bindparam(name) if name in filters else None
                for name in ("kind", "category", "city", "user_id")
            },
            viewer=None,
            include_inactive=False,
        )
        .where(Item.id < bindparam("before") if "before" in filters else true())
        .order_by(Item.id.desc())
        .limit(bindparam("limit", type_=Integer))
        .subquery()
    )
    return (
        select(page, *_PHOTO_LABELS)
        .outerjoin(ItemPhoto, ItemPhoto.item_id == page.c.id)
        .order_by(page.c.id.desc(), ItemPhoto.position)
    )


def _search_page(
    session: Session, stmt: Select[tuple[Item]], *, query: str, cursor: str | None, limit: int
) -> ItemPage:
    """One page of the filtered items that match a text query, most relevant first."""
    position = decode_cursor(cursor, ranked=True) if cursor else None
    ranked = search.rank(stmt, session, query=query)
    if ranked is None:
        return ItemPage(items=[], next_cursor=None)
    ranked_stmt = ranked.statement
    if position is not None:
        last_score, last_id = position
        assert last_score is not None
        ranked_stmt = ranked_stmt.where(
            search.after(ranked.score, last_score=last_score, last_id=last_id)
        )
    rows = session.execute(ranked_stmt.order_by(*ranked.order).limit(limit + 1))
    page = list(rows.tuples())
    has_more = len(page) > limit
    page = page[:limit]
    next_cursor = encode_cursor(page[-1][0].id, score=page[-1][1]) if has_more else None
    return ItemPage(items=[item for item, _ in page], next_cursor=next_cursor)
