"""When and how a person wants to be told: time zone, quiet hours, digest, Telegram on/off."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from freemarket.errors import InvalidInput

# The marketplace starts in Russia: without a city we know, Moscow time is the best guess.
DEFAULT_ZONE = "Europe/Moscow"
OFFSET_PATTERN = re.compile(r"^([+-])(\d{1,2}):?(\d{2})?$")
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


def parse_zone(value: str) -> tzinfo:
    """A time zone from an IANA name or a fixed offset such as "+03:00"; InvalidInput if neither."""
    text = value.strip()
    offset = OFFSET_PATTERN.match(text)
    if offset:
        sign, hours, minutes = offset.group(1), int(offset.group(2)), int(offset.group(3) or 0)
        if hours > 14 or minutes >= 60:
            raise InvalidInput("a UTC offset is between -14:00 and +14:00", code="bad_time_zone")
        delta = timedelta(hours=hours, minutes=minutes)
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"unknown time zone {value!r}: use a name like Europe/Moscow or an offset like +03:00",
            code="bad_time_zone",
        ) from exc


def zone_of(*, time_zone: str | None, city: str | None) -> tzinfo:
    """The person's zone: the one they chose, else their city's, else Moscow."""
    if time_zone:
        try:
            return parse_zone(time_zone)
        except InvalidInput:
            pass  # a zone removed from tzdata since it was stored: fall back like no choice
    return ZoneInfo(CITY_ZONES.get((city or "").strip().lower(), DEFAULT_ZONE))


def check_quiet_hours(start: int | None, end: int | None) -> None:
    """Both hours or neither, each 0-23, and not the same hour (that would be silence forever)."""
    if (start is None) != (end is None):
        raise InvalidInput(
            "quiet hours need a start and an end", code="bad_quiet_hours", start=start, end=end
        )
    if start is None or end is None:
        return
    if not (0 <= start <= 23 and 0 <= end <= 23) or start == end:
        raise InvalidInput(
            "quiet hours are two different whole hours from 0 to 23", code="bad_quiet_hours"
        )


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
