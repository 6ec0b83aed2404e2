"""Schemathesis hooks (loaded by /schemathesis.toml): the rules JSON Schema cannot state.

Everything else the API refuses is in the OpenAPI document itself. Each hook here drops one
failure, on one operation, only when the response names the very rule below and the request
breaks exactly that rule; any other 4xx on the same operation still fails the run.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import schemathesis
from PIL import Image

from freemarket.domain import items, jsonpolicy, photos

LIST_CURSOR = re.compile(items.LIST_CURSOR, re.ASCII)
# schemathesis' code for positive_data_acceptance: a request the schema allows was refused.
REJECTED = "ST202"


def _error(response: Any) -> dict[str, Any]:
    """The API's error body, or {} when the response is not one."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _foreign_cursor(case: Any, response: Any) -> bool:
    """A list's cursor sent to a search, or a search's cursor sent to a list.

    Which kind of cursor a listing takes depends on `q` (a search when it is not empty), and an
    OpenAPI parameter's schema cannot depend on another parameter: the document states the rule
    in the cursor's description and its pattern admits both kinds.
    """
    query = case.query or {}
    cursor = query.get("cursor")
    if not isinstance(cursor, str) or not cursor:
        return False
    is_list_cursor = LIST_CURSOR.fullmatch(cursor) is not None
    return is_list_cursor == bool(query.get("q"))


def _integral_float_id(case: Any, response: Any) -> bool:
    """Only a Telegram Login Widget `id` or `auth_date` sent as 5.0 is refused.

    JSON Schema counts 5.0 as an integer, but the widget's signature covers the fields as text,
    so "5.0" is not the "5" Telegram signed: refused on purpose, as aiogram's checker does.
    """
    body = case.body if isinstance(case.body, dict) else {}
    floats = {
        name
        for name in ("id", "auth_date")
        if isinstance(body.get(name), float) and body[name].is_integer()
    }
    detail = _error(response).get("detail")
    if not floats or not isinstance(detail, list):
        return False
    return all(entry.get("loc") in (["body", name] for name in floats) for entry in detail)


def _tiny_image(case: Any, response: Any) -> bool:
    """An image under photos.MIN_SIDE pixels a side: a pixel size has no JSON Schema keyword.

    The request body says so in its description; schemathesis' own image samples are 1 x 1
    (it swaps them in when sending, so the sent body is read from the request).
    """
    sent = response.request.body
    if not isinstance(sent, bytes):
        return False
    try:
        with Image.open(io.BytesIO(sent)) as image:
            return min(image.size) < photos.MIN_SIDE
    except OSError:
        return False


def _stored_json_too_large(case: Any, response: Any) -> bool:
    """Item `metadata` or profile `data` over STORED_MAX_BYTES once written as JSON.

    JSON Schema bounds lengths and counts, never the bytes of a serialised value; the field's
    description states the limit.
    """
    body = case.body if isinstance(case.body, dict) else {}
    field = _error(response).get("params", {}).get("field")
    value = body.get(field) if isinstance(field, str) else None
    if not isinstance(value, dict):
        return False
    size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
    return size > jsonpolicy.STORED_MAX_BYTES


# (method, path template, error code, the request breaks that rule); None: any operation
UNSTATABLE = (
    ("GET", "/api/items", "invalid_cursor", _foreign_cursor),
    ("POST", "/api/auth/telegram", "validation_failed", _integral_float_id),
    ("POST", "/api/items/{item_id}/photos", "photo_too_small", _tiny_image),
    (None, None, "json_too_large", _stored_json_too_large),
)


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except "valid data rejected" (ST202) by a rule in UNSTATABLE that
    this request breaks: any other check on the same response still counts."""
    if failure.code != REJECTED or response is None or response.status_code != 422:
        return True
    code = _error(response).get("code")
    for method, path, rule_code, breaks in UNSTATABLE:
        if method is not None and (case.method.upper(), case.path) != (method, path):
            continue
        if code == rule_code:
            return not breaks(case, response)
    return True
