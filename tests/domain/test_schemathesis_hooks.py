"""The schemathesis hooks drop a rejection only when the request breaks the rule it names."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("schemathesis")

from freemarket.domain import jsonpolicy
from tests.schemathesis_hooks import REJECTED, filter_failure


@dataclass
class Failure:
    code: str = REJECTED


@dataclass
class Sent:
    body: bytes | None = None


@dataclass
class Response:
    error: dict[str, Any]
    status_code: int = 422
    request: Sent = field(default_factory=Sent)

    @property
    def content(self) -> bytes:
        return json.dumps(self.error).encode()


@dataclass
class Case:
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None


def _kept(case: Case, response: Response, failure: Failure | None = None) -> bool:
    return bool(filter_failure(None, failure or Failure(), case, response))


def _png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side)).save(out, format="PNG")
    return out.getvalue()


def test_only_a_cursor_of_the_other_kind_of_listing_is_forgiven() -> None:
    refused = Response({"code": "invalid_cursor"})
    assert not _kept(Case("GET", "/api/items", {"q": "bike", "cursor": "12"}), refused)
    assert not _kept(Case("GET", "/api/items", {"cursor": "3.12"}), refused)
    # A cursor of the right kind refused would be a lie in the document: it still fails.
    assert _kept(Case("GET", "/api/items", {"q": "bike", "cursor": "3.12"}), refused)
    assert _kept(Case("GET", "/api/items", {"cursor": "12"}), refused)
    # Any other check failing on that response still counts.
    case = Case("GET", "/api/items", {"q": "bike", "cursor": "12"})
    assert _kept(case, refused, Failure(code="ST201"))


def test_only_a_telegram_id_sent_as_an_integral_float_is_forgiven() -> None:
    def refused(*names: str) -> Response:
        detail = [{"loc": ["body", name], "msg": "must be a whole number"} for name in names]
        return Response({"code": "validation_failed", "detail": detail})

    case = Case("POST", "/api/auth/telegram", body={"id": 5.0, "hash": "0" * 64})
    assert not _kept(case, refused("id"))
    assert _kept(case, refused("id", "hash"))  # something else refused too
    assert _kept(Case("POST", "/api/auth/telegram", body={"id": 5}), refused("id"))
    assert _kept(Case("POST", "/api/users/", body={"id": 5.0}), refused("id"))


def test_only_an_image_under_the_minimum_side_is_forgiven() -> None:
    refused = Response({"code": "photo_too_small"}, request=Sent(_png(1)))
    case = Case("POST", "/api/items/{item_id}/photos")
    assert not _kept(case, refused)
    assert _kept(case, Response({"code": "photo_too_small"}, request=Sent(_png(32))))
    assert _kept(case, Response({"code": "photo_too_small"}, request=Sent(b"not an image")))


def test_only_a_stored_field_over_its_byte_limit_is_forgiven() -> None:
    refused = Response({"code": "json_too_large", "params": {"field": "metadata"}})
    big = {"k": "я" * jsonpolicy.STORED_MAX_BYTES}
    assert not _kept(Case("POST", "/api/items/", body={"metadata": big}), refused)
    assert _kept(Case("POST", "/api/items/", body={"metadata": {"k": "v"}}), refused)


def test_other_rejections_are_kept() -> None:
    assert _kept(Case("PATCH", "/api/users/{user_id}"), Response({"code": "bad_time_zone"}))
    assert _kept(Case("GET", "/api/items"), Response({"code": "invalid_cursor"}, status_code=400))
