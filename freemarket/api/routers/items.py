"""Items."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import WithJsonSchema
from sqlalchemy.orm import Session

from freemarket.api.deps import (
    READ_AUTH,
    CurrentUser,
    DbSession,
    SessionCredentials,
    limit_search,
    read_in_one_hop,
    write_in_one_hop,
)
from freemarket.api.render import json_response
from freemarket.api.schemas import (
    ItemCreate,
    ItemDetailOut,
    ItemOut,
    ItemPageOut,
    ItemUpdate,
    PathId,
    QueryId,
)
from freemarket.db.models import CITY_MAX, User
from freemarket.domain import items
from freemarket.domain.fields import CategorySlug, Kind

router = APIRouter(prefix="/api/items", tags=["items"])


@router.post("/", status_code=status.HTTP_201_CREATED, response_model=ItemOut)
async def create_item(
    request: Request, body: ItemCreate, credentials: SessionCredentials
) -> Response:
    """Post an item you offer or want; matching starts at once."""
    return await write_in_one_hop(request, credentials, _create_item, body)


def _create_item(db: Session, owner: User, body: ItemCreate) -> Response:
    item = items.create_item(db, owner=owner, **body.model_dump())
    return json_response(ItemOut.model_validate(item), status.HTTP_201_CREATED)


@router.get("", response_model=ItemPageOut)
async def list_items(
    request: Request,
    kind: Kind | None = None,
    category: CategorySlug | None = None,
    city: Annotated[str | None, Query(max_length=CITY_MAX)] = None,
    user_id: QueryId = None,
    q: Annotated[str | None, Query(max_length=200, description="text to look for")] = None,
    cursor: Annotated[
        Annotated[str, WithJsonSchema({"type": "string", "pattern": items.CURSOR_PATTERN})] | None,
        Query(max_length=200, description=items.CURSOR_DESCRIPTION),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    """Active items, newest first, filtered; with `q`, most relevant first. Follow `next_cursor`."""
    await limit_search(request, request.app.state.settings)
    return await read_in_one_hop(
        request,
        "none",
        _list_items,
        kind=kind,
        category=category,
        city=city,
        user_id=user_id,
        query=q,
        cursor=cursor,
        limit=limit,
    )


def _list_items(db: Session, _viewer: None, **filters: Any) -> Response:
    page = items.list_item_rows(db, **filters)
    return json_response(
        ItemPageOut(
            items=[ItemOut.model_validate(row) for row in page.items], next_cursor=page.next_cursor
        )
    )


@router.get("/{item_id}", response_model=ItemDetailOut, openapi_extra=READ_AUTH["optional"])
async def get_item(request: Request, item_id: PathId) -> Response:
    """One item; after an exchange, still shown to its parties, marked with the exchange."""
    return await read_in_one_hop(request, "optional", _get_item, item_id)


def _get_item(db: Session, viewer: User | None, item_id: int) -> Response:
    item = items.get_visible_item_row(db, item_id=item_id, viewer=viewer)
    exchange_id = None if item["active"] else items.completed_exchange_of(db, item_id=item_id)
    return json_response(ItemDetailOut.model_validate({**item, "exchange_id": exchange_id}))


@router.patch("/{item_id}", response_model=ItemOut)
def update_item(item_id: PathId, body: ItemUpdate, db: DbSession, actor: CurrentUser) -> ItemOut:
    """Change your item; it is matched again."""
    changes = body.model_dump(exclude_unset=True)
    return ItemOut.model_validate(
        items.edit_item(db, actor=actor, item_id=item_id, changes=changes)
    )


@router.delete("/{item_id}", response_model=ItemOut)
def delete_item(item_id: PathId, db: DbSession, actor: CurrentUser) -> ItemOut:
    """Take your item off the market (it is kept, inactive)."""
    return ItemOut.model_validate(
        items.set_item_active(db, actor=actor, item_id=item_id, active=False)
    )


@router.post("/{item_id}/reactivate", response_model=ItemOut)
def reactivate_item(item_id: PathId, db: DbSession, actor: CurrentUser) -> ItemOut:
    """Put your hidden item back on the market; it is matched again."""
    return ItemOut.model_validate(
        items.set_item_active(db, actor=actor, item_id=item_id, active=True)
    )
