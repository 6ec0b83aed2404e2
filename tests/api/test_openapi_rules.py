"""Rules the OpenAPI document states as patterns and keywords take exactly what the code takes.

The last lies schemathesis found with every check (issue 11, finding 14): a cursor, quiet hours,
stripped text and time zones were refused although the document allowed them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from freemarket.db.models import TITLE_MAX, User
from freemarket.domain import items, preferences
from freemarket.domain.fields import MAX_ID, Stripped, stripped_pattern
from freemarket.errors import InvalidInput
from tests.api.conftest import Headers, item_body

EXAMPLES = settings(max_examples=300, deadline=None, derandomize=True, database=None)
# Spaces pydantic strips, Python-only spaces it keeps (\x1c-\x1f), BOM, NUL, text.
TEXTISH = st.text(
    alphabet=st.sampled_from(["\t", "\n", " ", "\u00a0", "\u3000", "\x1d", "\ufeff", "\x00", "a"])
    | st.characters(codec="utf-8"),
    max_size=8,
)


def _parameter(doc: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    return next(p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name)


def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in schema["anyOf"] if s.get("type") == "string")


def test_the_document_states_the_cursor_pattern(client: TestClient) -> None:
    cursor = _parameter(client.get("/openapi.json").json(), "/api/items", "cursor")
    assert _string_schema(cursor["schema"])["pattern"] == items.CURSOR_PATTERN
    assert "invalid_cursor" in cursor["description"]


@EXAMPLES
@given(cursor=st.from_regex(items.CURSOR_PATTERN, fullmatch=True))
def test_every_cursor_the_pattern_allows_is_decoded(cursor: str) -> None:
    if not cursor:
        return  # the first page: never decoded
    ranked = "." in cursor
    score, last_id = items.decode_cursor(cursor, ranked=ranked)
    assert 1 <= last_id <= MAX_ID
    assert (score is not None) == ranked and 0 <= (score or 0) <= MAX_ID
    assert items.encode_cursor(last_id, score=score) == cursor


@EXAMPLES
@given(text=st.text(alphabet="0123456789.-+ a", max_size=20))
def test_strings_outside_the_cursor_pattern_are_refused(text: str) -> None:
    if re.fullmatch(items.CURSOR_PATTERN, text):
        return
    for ranked in (False, True):
        try:
            items.decode_cursor(text, ranked=ranked)
        except InvalidInput:
            continue
        raise AssertionError(f"{text!r} decoded although the pattern refuses it")


def test_cursor_bounds(client: TestClient) -> None:
    for good in (str(MAX_ID), f"0.{MAX_ID}", f"{MAX_ID}.1", "1"):
        assert re.fullmatch(items.CURSOR_PATTERN, good), good
    for bad in (str(MAX_ID + 1), "0", "01", f"1.{MAX_ID + 1}", "1.0", "-1", "1.", ".1", " 1"):
        assert not re.fullmatch(items.CURSOR_PATTERN, bad), bad
        response = client.get("/api/items", params={"cursor": bad})
        assert response.status_code == 422 and response.json()["code"] == "invalid_cursor", bad
    assert client.get("/api/items", params={"cursor": str(MAX_ID)}).status_code == 200
    assert client.get("/api/items", params={"cursor": ""}).status_code == 200


def test_quiet_hours_change_together_and_the_schema_says_so(
    client: TestClient, anna: User, anna_h: Headers
) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["UserUpdate"]
    assert schema["dependentRequired"] == {
        "quiet_start": ["quiet_end"],
        "quiet_end": ["quiet_start"],
    }
    url = f"/api/users/{anna.id}"
    response = client.patch(url, json={"quiet_start": 22, "quiet_end": 7}, headers=anna_h)
    assert (response.json()["quiet_start"], response.json()["quiet_end"]) == (22, 7)
    # One hour alone, or an hour with a null, is refused even when the other is stored.
    for body in ({"quiet_start": 5}, {"quiet_end": 5}, {"quiet_start": 5, "quiet_end": None}):
        response = client.patch(url, json=body, headers=anna_h)
        assert response.status_code == 422 and response.json()["code"] == "bad_quiet_hours"
    # From 5 to 5 holds no hour: no quiet hours (it was silence for ever, so it was refused).
    response = client.patch(url, json={"quiet_start": 5, "quiet_end": 5}, headers=anna_h)
    assert response.status_code == 200
    assert (response.json()["quiet_start"], response.json()["quiet_end"]) == (None, None)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(text=TEXTISH, bounds=st.sampled_from([(0, 3), (1, 3), (2, 4), (3, 5)]))
def test_stripped_text_patterns_match_what_pydantic_takes(
    text: str, bounds: tuple[int, int]
) -> None:
    adapter = TypeAdapter(Stripped(*bounds))
    try:
        adapter.validate_python(text)
        accepted = "\x00" not in text  # NUL is refused later, by the JSON policy
    except ValidationError:
        accepted = False
    assert bool(re.fullmatch(stripped_pattern(*bounds), text)) == accepted, (text, bounds)


def test_titles_are_bounded_after_stripping(client: TestClient, anna_h: Headers) -> None:
    padded = "  " + "д" * TITLE_MAX + "\n"
    response = client.post("/api/items/", json=item_body(title=padded), headers=anna_h)
    assert response.status_code == 201 and response.json()["title"] == "д" * TITLE_MAX
    response = client.post("/api/items/", json=item_body(title=" я\u3000"), headers=anna_h)
    assert response.status_code == 422


def test_time_zones_the_schema_lists_are_taken(
    client: TestClient, anna: User, anna_h: Headers
) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["UserUpdate"]
    names, offsets, null = schema["properties"]["time_zone"]["anyOf"]
    assert null == {"type": "null"}
    for name in ("", *preferences.zone_names()):
        assert re.fullmatch(names["pattern"], name), name
    url = f"/api/users/{anna.id}"
    for zone in ("", "Europe/Moscow", "UTC", "+3", "-0330", "+14:00", "-09:30"):
        assert re.fullmatch(offsets["pattern"], zone) or re.fullmatch(names["pattern"], zone)
        response = client.patch(url, json={"time_zone": zone}, headers=anna_h)
        assert response.status_code == 200, (zone, response.text)
    for zone in (" UTC", "europe/moscow", "+14:30", "+15", "+03:", "+3:60", "+٣", "posix/UTC"):
        assert not re.fullmatch(offsets["pattern"], zone), zone
        assert not re.fullmatch(names["pattern"], zone), zone
        response = client.patch(url, json={"time_zone": zone}, headers=anna_h)
        assert response.status_code == 422 and response.json()["code"] == "bad_time_zone", zone


@EXAMPLES
@given(text=st.from_regex(f"^{preferences.OFFSET_TEXT}$", fullmatch=True))
def test_every_offset_the_pattern_allows_is_parsed(text: str) -> None:
    offset = preferences.parse_zone(text).utcoffset(None)
    assert offset is not None and abs(offset.total_seconds()) <= 14 * 3600


def test_creations_link_to_what_takes_their_id(client: TestClient) -> None:
    """Explicit links where an id comes from; none from a nullable field (no /exchanges/None)."""
    paths = client.get("/openapi.json").json()["paths"]
    links = paths["/api/exchanges/"]["post"]["responses"]["201"]["links"]
    target = paths["/api/exchanges/{exchange_id}"]["get"]["operationId"]
    assert links["GetExchange"] == {
        "operationId": target,
        "parameters": {"exchange_id": "$response.body#/id"},
    }
    assert "UploadPhoto" in paths["/api/items/"]["post"]["responses"]["201"]["links"]
    listed = paths["/api/items"]["get"]["responses"]["200"]["content"]["application/json"]
    assert "ItemPageOut" in str(listed) and "exchange_id" not in str(
        client.get("/openapi.json").json()["components"]["schemas"]["ItemOut"]
    )
