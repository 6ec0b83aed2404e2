"""Validated field types shared by the API bodies and the importer."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from freemarket.db.models import (
    CITY_MAX,
    CONTACT_MAX,
    DESCRIPTION_MAX,
    DISPLAY_NAME_MAX,
    TITLE_MAX,
    USERNAME_MAX,
)
from freemarket.matching.core import ITEM_KINDS

# Ids are 64-bit in PostgreSQL and SQLite; anything larger cannot name a row (and SQLite's driver
# raises OverflowError on it), so it is rejected as input instead of reaching the database.
MAX_ID = 2**63 - 1
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]

Username = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{2,64}$", max_length=USERNAME_MAX)
]
DisplayName = Annotated[str, StringConstraints(max_length=DISPLAY_NAME_MAX)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CITY_MAX)]
Contact = Annotated[str, StringConstraints(max_length=CONTACT_MAX)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TelegramId = Annotated[int, Field(gt=0, lt=2**63)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Kind = Literal[ITEM_KINDS]
Language = Literal["ru", "en"]
Visibility = Literal["public", "matches", "private"]


def check_text(value: str) -> str:
    """Reject text that no database can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from exc
    return value


def check_json_safe(value: object) -> object:
    """Reject NUL, lone surrogates and non-finite numbers anywhere in a decoded JSON value.

    JSON may carry them all (`"\\u0000"`, `"\\ud800"`, `NaN`, `1e999`), but PostgreSQL cannot
    store NUL in text, no backend can store a lone surrogate, and JSON cannot send NaN back.
    """
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_json_safe(key)
            check_json_safe(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_json_safe(item)
    return value


class JsonSafeModel(BaseModel):
    """A body or record refusing NUL, lone surrogates and NaN/Infinity anywhere in it."""

    @model_validator(mode="before")
    @classmethod
    def _json_safe(cls, data: Any) -> Any:
        """They can be neither stored nor returned, so they are refused on the way in."""
        return check_json_safe(data)
