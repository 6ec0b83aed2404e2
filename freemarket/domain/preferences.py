"""When and how a person wants to be told: time zone, quiet hours, digest, Telegram on/off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from freemarket.domain.fields import FORM_LIMITS
from freemarket.errors import InvalidInput

# The marketplace starts in Russia: without a city we know, Moscow time is the best guess.
DEFAULT_ZONE = "Europe/Moscow"
# The time_zone column's size; every name and offset fits.
TIME_ZONE_MAX = 64
# A fixed offset from -14:00 to +14:00: "+3", "+03", "+0300" or "+03:00" (ASCII digits only).
OFFSET_TEXT = r"[+-](?:(?:0?[0-9]|1[0-3])(?::?[0-5][0-9])?|14(?::?00)?)"
OFFSET_PATTERN = re.compile(r"([+-])([0-9]{1,2}):?([0-9]{2})?")
# Where people on the marketplace live; a city not listed uses DEFAULT_ZONE unless the person
# picks an offset in /settings. Keys are lower-case, Russian and English spellings.
CITY_ZONES = {
    **dict.fromkeys(
        (
            "москва",
            "moscow",
            "санкт-петербург",
            "saint petersburg",
            "спб",
            "петербург",
            "st petersburg",
            "нижний новгород",
            "nizhny novgorod",
            "казань",
            "kazan",
            "воронеж",
            "voronezh",
            "ростов-на-дону",
            "rostov-on-don",
            "краснодар",
            "krasnodar",
            "ярославль",
            "yaroslavl",
            "тула",
            "tula",
            "минск",
            "minsk",
            "сочи",
            "sochi",
        ),
        "Europe/Moscow",
    ),
    **dict.fromkeys(("калининград", "kaliningrad"), "Europe/Kaliningrad"),
    **dict.fromkeys(("самара", "samara", "ижевск", "izhevsk"), "Europe/Samara"),
    **dict.fromkeys(
        (
            "екатеринбург",
            "yekaterinburg",
            "челябинск",
            "chelyabinsk",
            "пермь",
            "perm",
            "уфа",
            "ufa",
            "тюмень",
            "tyumen",
        ),
        "Asia/Yekaterinburg",
    ),
    **dict.fromkeys(("омск", "omsk"), "Asia/Omsk"),
    **dict.fromkeys(
        ("новосибирск", "novosibirsk", "барнаул", "barnaul", "томск", "tomsk"), "Asia/Novosibirsk"
    ),
    **dict.fromkeys(("красноярск", "krasnoyarsk"), "Asia/Krasnoyarsk"),
    **dict.fromkeys(("иркутск", "irkutsk"), "Asia/Irkutsk"),
    **dict.fromkeys(("владивосток", "vladivostok", "хабаровск", "khabarovsk"), "Asia/Vladivostok"),
    **dict.fromkeys(("алматы", "almaty"), "Asia/Almaty"),
    **dict.fromkeys(("тбилиси", "tbilisi"), "Asia/Tbilisi"),
    **dict.fromkeys(("ереван", "yerevan"), "Asia/Yerevan"),
    **dict.fromkeys(("берлин", "berlin"), "Europe/Berlin"),
    **dict.fromkeys(("london", "лондон"), "Europe/London"),
}


@cache
def zone_names() -> frozenset[str]:
    """The IANA names this server knows (read once: it walks the tz database)."""
    return frozenset(available_timezones())


def parse_zone(value: str) -> tzinfo:
    """A time zone from an IANA name or a fixed offset such as "+03:00"; InvalidInput if neither.

    Exactly as written (no spaces, no case folding): the OpenAPI document lists the same names
    and the offset pattern (`time_zone_schema`), so what it allows is what this accepts.
    """
    if re.fullmatch(OFFSET_TEXT, value):
        match = OFFSET_PATTERN.fullmatch(value)
        assert match is not None
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    if value in zone_names():
        return ZoneInfo(value)
    raise InvalidInput(
        f"unknown time zone {value!r}: use a name like Europe/Moscow or an offset like +03:00 "
        "(from -14:00 to +14:00)",
        code="bad_time_zone",
    )


def zone_names_pattern() -> str:
    """A regex taking exactly the names of zone_names() and "" (no zone chosen).

    A pattern rather than an `enum`: the same set, but schemathesis' coverage phase tries every
    member of an enum (600 names times the other fields), and one alternation once.
    """
    names = sorted(zone_names())
    assert all(re.fullmatch(r"[A-Za-z0-9/_+-]+", name) for name in names)
    return "^(?:" + "|".join(name.replace("+", "\\+") for name in names) + ")?$"


def time_zone_schema(schema: dict[str, object]) -> None:
    """The JSON Schema of a time zone field: empty (none), a known name, an offset, or null."""
    for key in ("type", "anyOf", "maxLength"):
        schema.pop(key, None)
    schema[FORM_LIMITS] = {"maxLength": TIME_ZONE_MAX}
    schema["anyOf"] = [
        {"type": "string", "pattern": zone_names_pattern()},
        {"type": "string", "pattern": f"^{OFFSET_TEXT}$"},
        {"type": "null"},
    ]


def zone_of(*, time_zone: str | None, city: str | None) -> tzinfo:
    """The person's zone: the one they chose, else their city's, else Moscow."""
    if time_zone:
        try:
            return parse_zone(time_zone)
        except InvalidInput:
            pass  # a zone removed from tzdata since it was stored: fall back like no choice
    return ZoneInfo(CITY_ZONES.get((city or "").strip().lower(), DEFAULT_ZONE))


def quiet_hours(start: int | None, end: int | None) -> tuple[int | None, int | None]:
    """The quiet hours to store: both hours 0-23, or neither; from h to h (no hour) is neither."""
    if (start is None) != (end is None):
        raise InvalidInput(
            "quiet hours need a start and an end", code="bad_quiet_hours", start=start, end=end
        )
    if start is None or end is None:
        return None, None
    if not (0 <= start <= 23 and 0 <= end <= 23):
        raise InvalidInput("quiet hours are two whole hours from 0 to 23", code="bad_quiet_hours")
    # From 5:00 to 5:00 holds no hour: no quiet hours, not silence for ever.
    return (None, None) if start == end else (start, end)


def quiet_until(
    *, now: datetime, start: int | None, end: int | None, zone: tzinfo
) -> datetime | None:
    """When the quiet hours around `now` end (UTC), or None when `now` is not in them."""
    if start is None or end is None:
        return None
    local = now.astimezone(zone)
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    ends = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(now.tzinfo or UTC)
