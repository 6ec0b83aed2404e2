"""Validated field types shared by the API bodies and the importer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from freemarket.models import CITY_MAX, CONTACT_MAX, DESCRIPTION_MAX, TITLE_MAX, USERNAME_MAX

Username = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{2,64}$", max_length=USERNAME_MAX)
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
City = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CITY_MAX)]
Contact = Annotated[str, StringConstraints(max_length=CONTACT_MAX)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z_]{2,32}$")]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
TelegramId = Annotated[int, Field(gt=0, lt=2**63)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Kind = Literal["offer", "want"]
Language = Literal["ru", "en"]
Visibility = Literal["public", "matches", "private"]
