"""Everything that lists item fields follows ITEM_FIELDS (domain/item_fields.py)."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from freemarket.api.schemas import ItemCreate, ItemOut, ItemUpdate
from freemarket.db.models import Item
from freemarket.domain.importer import ItemRecord
from freemarket.domain.item_fields import (
    EDITABLE_COLUMNS,
    ITEM_FIELDS,
    LISTING_COLUMNS,
    REQUIRED_COLUMNS,
    public_name,
)
from freemarket.matching.core.engine import Listing

NAMES = [f.name for f in ITEM_FIELDS]


def _inputs(model: type) -> list[str]:
    """The names a body accepts (its aliases), in order."""
    return [info.alias or name for name, info in model.model_fields.items()]


def test_every_field_is_a_column_of_item() -> None:
    columns = set(Item.__mapper__.attrs.keys())
    assert {f.column for f in ITEM_FIELDS} <= columns


def test_the_api_bodies_take_the_fields_by_their_public_names() -> None:
    assert _inputs(ItemCreate) == NAMES
    assert _inputs(ItemUpdate) == [f.name for f in ITEM_FIELDS if f.editable]
    assert "kind" not in _inputs(ItemUpdate)
    shown = [name for name in ItemOut.model_fields if name in NAMES]
    assert shown == [f.name for f in ITEM_FIELDS if f.shown]


def test_a_body_dumps_the_attribute_names_the_domain_takes() -> None:
    body = ItemCreate.model_validate(
        {"kind": "offer", "category": "books", "title": "Книга", "metadata": {"isbn": "1"}}
    )
    assert body.model_dump()["meta"] == {"isbn": "1"}
    with pytest.raises(ValidationError):
        ItemCreate.model_validate({"kind": "offer", "category": "books", "title": "x", "meta": {}})


def test_the_import_record_takes_every_field_and_its_own() -> None:
    assert _inputs(ItemRecord)[: len(NAMES)] == NAMES
    assert set(_inputs(ItemRecord)) - set(NAMES) == {"type", "external_id", "username", "active"}


def test_the_listing_gets_what_matching_reads() -> None:
    listing_fields = {f.name for f in dataclasses.fields(Listing)}
    assert set(LISTING_COLUMNS.values()) | {"id", "user_id"} == listing_fields


def test_editable_required_and_public_names() -> None:
    assert "kind" not in EDITABLE_COLUMNS
    assert {"category", "title", "description", "meta", "delivery"} == REQUIRED_COLUMNS
    assert public_name("meta") == "metadata"
    assert public_name("title") == "title"
