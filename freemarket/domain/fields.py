"""Validated field types shared by the API bodies and the importer."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from freemarket.db.models import (
    CITY_MAX,
    CONTACT_MAX,
    DESCRIPTION_MAX,
    DISPLAY_NAME_MAX,
    TITLE_MAX,
    USERNAME_MAX,
)
from freemarket.db.seed import DEFAULT_CATEGORIES
from freemarket.matching.core import ITEM_KINDS

# Ids are 64-bit in the databases, but the largest one we accept is the largest integer a double
# holds exactly: JavaScript (our web UI) cannot tell larger ids apart, and JSON Schema tools
# compare bounds as doubles (2**63 - 1 rounds up to 2**63, so they took 2**63 for a valid id).
# Anything larger is refused as input instead of reaching the database.
MAX_ID = 2**53 - 1


def _integral(value: object) -> object:
    """JSON Schema counts 5.0 as an integer: take it as 5 (strict models refuse True and "5")."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integral = BeforeValidator(_integral)


def decimal_pattern(highest: int) -> str:
    """A regex (ECMA-262 and Python alike) for the decimal numbers 1..`highest`, no leading zero.

    JSON Schema cannot bound a number written inside a string, so a string that carries an id
    (a cursor) states its range as digits: shorter numbers, then each digit of `highest` in turn.
    """
    digits = str(highest)
    width = len(digits)
    branches = [f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []
    for at, digit in enumerate(digits):
        low, top = (1 if at == 0 else 0), int(digit) - 1
        if top >= low:
            rest = width - at - 1
            below = f"[{low}-{top}]" if top > low else str(low)
            branches.append(digits[:at] + below + (f"[0-9]{{{rest}}}" if rest else ""))
    branches.append(digits)
    return "(?:" + "|".join(branches) + ")"


# An id written as text (in a cursor): exactly the numbers DbId takes.
ID_TEXT = decimal_pattern(MAX_ID)
DbId = Annotated[int, Field(ge=1, le=MAX_ID), Integral]

Username = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{2,64}$", max_length=USERNAME_MAX)
]
DisplayName = Annotated[str, StringConstraints(max_length=DISPLAY_NAME_MAX)]
# A schema's limits as a form checks them while a person types (api/limits.py), where the
# schema's own keywords state them another way (a pattern): an OpenAPI extension, which JSON
# Schema validators and generators ignore.
FORM_LIMITS = "x-form-limits"
# What pydantic's strip_whitespace removes (Unicode White_Space; not Python's \x1c-\x1f), as a
# regex class body; NUL is refused in every string (see api/openapi.py).
_SPACE = "\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def stripped_pattern(min_length: int, max_length: int) -> str:
    """A regex for strings whose stripped text is `min_length`..`max_length` long, without NUL.

    minLength/maxLength would count the spaces around the text that the API strips first, so a
    stripped field states its bounds as: spaces, a first and a last non-space, spaces.
    """
    space, text, anything = f"[{_SPACE}]", f"[^\\u0000{_SPACE}]", "[^\\u0000]"
    if min_length <= 1:
        inner = f"{text}(?:{anything}{{0,{max_length - 2}}}{text})?"
        inner = f"(?:{inner})?" if min_length == 0 else inner
    else:
        inner = f"{text}{anything}{{{min_length - 2},{max_length - 2}}}{text}"
    return f"^{space}*{inner}{space}*$"


def Stripped(min_length: int, max_length: int) -> Any:
    """A str the API strips of surrounding spaces, then bounds; its schema says exactly that."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length),
        WithJsonSchema(
            {
                "type": "string",
                "pattern": stripped_pattern(min_length, max_length),
                FORM_LIMITS: {"minLength": min_length, "maxLength": max_length},
            }
        ),
    ]


Title = Stripped(2, TITLE_MAX)
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
City = Stripped(1, CITY_MAX)
Contact = Annotated[str, StringConstraints(max_length=CONTACT_MAX)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}$")]
# A listing's category as the API takes it: the schema lists every slug, the domain refuses any
# other with a message naming GET /api/categories (categories change only with a migration).
CategorySlug = Annotated[
    Slug, WithJsonSchema({"type": "string", "enum": [c.slug for c in DEFAULT_CATEGORIES]})
]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TelegramId = Annotated[int, Field(ge=1, le=MAX_ID), Integral]
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
