"""The OpenAPI document says what the code does (issue 11, finding 14), case by case.

tests/domain/test_schemathesis.py finds such lies by generating requests; these pin the ones
found, each with the behaviour and the schema side by side.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from freemarket.api.openapi import NO_NUL
from freemarket.db.seed import DEFAULT_CATEGORIES
from freemarket.domain.jsonpolicy import STORED_MAX_DEPTH
from tests.api.conftest import Headers, item_body, post_item


def _schema(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def _body_schema(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return doc["components"]["schemas"][name]


def test_categories_are_listed_and_others_refused(client: TestClient, anna_h: Headers) -> None:
    doc = _schema(client)
    slugs = [c.slug for c in DEFAULT_CATEGORIES]
    assert _body_schema(doc, "ItemCreate")["properties"]["category"]["enum"] == slugs
    listed = next(
        p for p in doc["paths"]["/api/items"]["get"]["parameters"] if p["name"] == "category"
    )
    assert slugs[0] in str(listed["schema"])
    # A slug that fits the old pattern but names no category is refused everywhere, with why.
    for response in (
        client.post("/api/items/", json=item_body(category="spaceships"), headers=anna_h),
        client.get("/api/items", params={"category": "spaceships"}),
    ):
        assert response.status_code == 422
        assert "unknown category 'spaceships'" in response.json()["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("longitude", False), ("latitude", True), ("delivery", 1), ("latitude", "55.7")],
)
def test_json_types_are_not_converted(
    client: TestClient, anna_h: Headers, field: str, value: object
) -> None:
    response = client.post("/api/items/", json=item_body(**{field: value}), headers=anna_h)
    assert response.status_code == 422, response.text


def test_integral_numbers_are_integers(client: TestClient, anna_h: Headers) -> None:
    """JSON Schema counts 3.0 as an integer, so the API does too (but never true or "3")."""
    item = post_item(client, anna_h)
    body = {"item_id": float(item["id"]), "reason": "подделка"}
    assert client.post("/api/reports/", json=body, headers=anna_h).status_code in (201, 403)
    for bad in (True, str(item["id"]), 1.5):
        body = {"item_id": bad, "reason": "подделка"}
        assert client.post("/api/reports/", json=body, headers=anna_h).status_code == 422


def test_fields_that_cannot_be_cleared_do_not_offer_null(client: TestClient) -> None:
    doc = _schema(client)
    for model, fields in {
        "ItemUpdate": ["category", "title", "description", "metadata", "delivery"],
        "UserUpdate": ["language", "notify_telegram", "digest_enabled"],
        "ProfileUpdate": ["data", "visibility"],
    }.items():
        properties = _body_schema(doc, model)["properties"]
        for field in fields:
            assert "null" not in str(properties[field]), (model, field, properties[field])
    # Those that can be cleared still do.
    assert "null" in str(_body_schema(doc, "ItemUpdate")["properties"]["city"])


def test_public_reads_declare_the_token_optional(client: TestClient, anna_h: Headers) -> None:
    paths = _schema(client)["paths"]
    item = post_item(client, anna_h)
    public = {
        "/api/items/{item_id}": f"/api/items/{item['id']}",
        "/api/users/{user_id}": f"/api/users/{item['user_id']}",
        "/api/users/{user_id}/profile": f"/api/users/{item['user_id']}/profile",
    }
    for template, url in public.items():
        security = paths[template]["get"]["security"]
        assert sorted(map(str, security)) == ["{'HTTPBearer': []}", "{}"], template
        assert client.get(url).status_code == 200, url
    assert paths["/api/users/me"]["get"]["security"] == [{"HTTPBearer": []}]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/items/1", "DELETE, GET, PATCH"),
        ("GET", "/api/auth/code", "POST"),
        ("GET", "/api/items/", "POST"),
        ("PATCH", "/api/users/me", "GET"),
        ("PUT", "/api/matches/1/dismiss", "DELETE, POST"),
    ],
)
def test_undeclared_methods_are_405_with_every_allowed_method(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["code"] == "method_not_allowed"


def test_unknown_api_paths_stay_404(client: TestClient) -> None:
    for method, path in [("GET", "/api/nothing"), ("PATCH", "/api/users/null,null")]:
        response = client.request(method, path)
        assert response.status_code == 404
        assert "allow" not in response.headers


def test_exactly_one_report_target_is_in_the_schema(client: TestClient) -> None:
    assert len(_body_schema(_schema(client), "ReportCreate")["oneOf"]) == 2


def test_ids_fit_a_double_exactly(client: TestClient, anna_h: Headers) -> None:
    """Bounds past 2**53 round in JSON Schema tools, so the largest id is 2**53 - 1."""
    doc = _schema(client)
    ids = _body_schema(doc, "ExchangeCreate")["properties"]["match_ids"]
    assert ids["items"]["maximum"] == 2**53 - 1 and ids["uniqueItems"] is True
    response = client.post("/api/exchanges/", json={"match_ids": [2**53]}, headers=anna_h)
    assert response.status_code == 422


def test_strings_declare_and_refuse_nul(client: TestClient, anna_h: Headers) -> None:
    doc = _schema(client)
    # A stripped field's pattern also states its bounds after stripping (test_openapi_rules).
    reason = _body_schema(doc, "ReportCreate")["properties"]["reason"]["pattern"]
    assert re.fullmatch(reason, "подделка") and not re.fullmatch(reason, "под\x00делка")
    query = next(p for p in doc["paths"]["/api/items"]["get"]["parameters"] if p["name"] == "q")
    assert query["schema"]["anyOf"][0]["pattern"] == NO_NUL
    response = client.post("/api/items/", json=item_body(title="Вело\x00сипед"), headers=anna_h)
    assert response.status_code == 422
    assert client.get("/api/items", params={"q": "a\x00b"}).status_code == 422


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"k": value}
    return value


def test_stored_json_depth_is_in_the_schema(client: TestClient, anna_h: Headers) -> None:
    doc = _schema(client)
    metadata = _body_schema(doc, "ItemCreate")["properties"]["metadata"]
    ref = metadata["additionalProperties"]["$ref"]
    # The field is level 1; its values may nest STORED_MAX_DEPTH - 1 more levels, no further.
    assert ref.endswith(f"StoredJsonValue{STORED_MAX_DEPTH - 1}")
    assert "array" not in str(doc["components"]["schemas"]["StoredJsonValue0"])
    ok = client.post(
        "/api/items/", json=item_body(metadata=_nested(STORED_MAX_DEPTH)), headers=anna_h
    )
    assert ok.status_code == 201, ok.text
    deep = _nested(STORED_MAX_DEPTH + 1)
    too_deep = client.post("/api/items/", json=item_body(metadata=deep), headers=anna_h)
    assert too_deep.status_code == 422


def test_telegram_id_strings_in_the_schema_are_ids(client: TestClient) -> None:
    schema = _body_schema(_schema(client), "TelegramWidgetLogin")["properties"]["id"]
    pattern = next(s["pattern"] for s in schema["anyOf"] if s["type"] == "string")
    assert re.fullmatch(pattern, "0") is None and re.fullmatch(pattern, "1") is not None
    assert re.fullmatch(pattern, "9" * 16) and not re.fullmatch(pattern, "1" + "0" * 16)
