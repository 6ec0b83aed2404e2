"""The fields of an item, defined once.

Everything that lists item fields is derived from `ITEM_FIELDS`: the API bodies
(`api/schemas.py`), the editable and required sets (`domain/items.py`), the import record
(`domain/importer.py`), the engine's listing (`matching/store.py`) and the limits the web UI
checks (`frontend/src/limits.json`, written by `python -m freemarket.api.limits`). Adding a field
is a column in `db/models.py`, its migration, and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from freemarket.domain.fields import (
    CategorySlug,
    City,
    Description,
    Kind,
    Latitude,
    Longitude,
    Title,
)

# Marks a field every new item must be given (no default).
REQUIRED: Any = ...


@dataclass(frozen=True, slots=True)
class ItemField:
    """One item field: its public name, validated type and where it goes."""

    name: str  # in JSON bodies, import lines and error messages
    type: Any  # the validated type (domain/fields.py); `None` is added where nullable
    default: Any = REQUIRED  # when a new item leaves it out
    attr: str | None = None  # the Item attribute, when it differs from `name`
    editable: bool = True  # may change after posting (kind may not: post a new item)
    nullable: bool = False  # null is a value (an edit may clear it)
    shown: bool = True  # in API responses
    listing: str | None = None  # the engine's Listing attribute, when matching reads it

    @property
    def column(self) -> str:
        """The Item attribute that stores the field."""
        return self.attr or self.name

    def annotation(self, *, optional: bool = False) -> Any:
        """The field's type for a body; `optional` (an edit) may leave it out, and send null
        only if the field is nullable (the schema then offers null; else the domain refuses it)."""
        if self.nullable:
            return self.type | None
        return self.type | SkipJsonSchema[None] if optional else self.type

    def pydantic_field(self, *, default: Any) -> Any:
        """A pydantic Field with the public name as alias (the stored name may differ)."""
        if isinstance(default, dict | list):
            return Field(default_factory=type(default), alias=self.name)
        return Field(default=default, alias=self.name)


ITEM_FIELDS: tuple[ItemField, ...] = (
    ItemField("kind", Kind, editable=False, listing="kind"),
    ItemField("category", CategorySlug, listing="category"),
    ItemField("title", Title, listing="title"),
    ItemField("description", Description, default="", listing="description"),
    # "metadata" is reserved on SQLAlchemy's declarative classes, so the attribute is `meta`.
    ItemField("metadata", dict[str, Any], default={}, attr="meta"),
    # No city: the owner's city (domain/items.create_item).
    ItemField("city", City, default=None, nullable=True, listing="city"),
    # Exact coordinates only feed the distance rule; responses keep them private.
    ItemField("latitude", Latitude, default=None, nullable=True, shown=False, listing="lat"),
    ItemField("longitude", Longitude, default=None, nullable=True, shown=False, listing="lon"),
    ItemField("delivery", bool, default=False, listing="delivery"),
)

BY_COLUMN = {f.column: f for f in ITEM_FIELDS}
EDITABLE_COLUMNS = frozenset(f.column for f in ITEM_FIELDS if f.editable)
# Editable fields an item cannot be without: null is not a value for them.
REQUIRED_COLUMNS = frozenset(f.column for f in ITEM_FIELDS if f.editable and not f.nullable)
# The engine's Listing attribute of each column matching reads (id and user_id aside).
LISTING_COLUMNS = {f.column: f.listing for f in ITEM_FIELDS if f.listing}


def public_name(column: str) -> str:
    """The name clients know a stored field by (`meta` is `metadata`)."""
    field = BY_COLUMN.get(column)
    return field.name if field is not None else column


def with_item_fields(base: type[BaseModel], *, editing: bool = False) -> type[BaseModel]:
    """`base` plus every item field, keyed by attribute and aliased by public name.

    A new item (`editing=False`) gets every field with its default; an edit gets the editable
    ones, each optional (unset: unchanged). `model_dump()` then gives the attribute names the
    domain functions take, so no caller renames `metadata` itself.
    """
    fields: dict[str, Any] = {
        f.column: (
            f.annotation(optional=editing),
            f.pydantic_field(default=None if editing else f.default),
        )
        for f in ITEM_FIELDS
        if f.editable or not editing
    }
    return create_model(f"{base.__name__}ItemFields", __base__=base, **fields)
