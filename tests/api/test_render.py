"""Hot read routes render their JSON themselves: same schema, same bytes as FastAPI's."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from freemarket.api.render import json_list_response, json_response
from freemarket.api.schemas import NotificationOut, UserContact, UserPrivate, UserPublic

RENDERED_ROUTES = {
    ("/api/items", "get"): "#/components/schemas/ItemPageOut",
    ("/api/items/{item_id}", "get"): "#/components/schemas/ItemDetailOut",
    ("/api/matches/{user_id}", "get"): "#/components/schemas/MatchOut",
    ("/api/matches/{user_id}/trades", "get"): "#/components/schemas/TradeOut",
    ("/api/notifications", "get"): "#/components/schemas/NotificationOut",
    ("/api/users/{user_id}", "get"): "#/components/schemas/UserContact",
}


def test_the_schema_still_declares_each_rendered_answer(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for (path, method), ref in RENDERED_ROUTES.items():
        answer = paths[path][method]["responses"]["200"]["content"]["application/json"]
        assert ref in str(answer["schema"]), (path, answer)


def test_the_bytes_are_those_of_the_declared_type() -> None:
    now = datetime(2026, 12, 3, tzinfo=UTC)
    contact = UserContact(
        id=1,
        username="ann",
        display_name=None,
        city="Kazan",
        trust_score=None,
        rating_count=0,
        created_at=now,
        contact="@ann",
        message_url="https://t.me/ann",
    )
    declared = TypeAdapter(UserPrivate | UserContact | UserPublic)
    # A subclass keeps its own fields (the contact), as FastAPI's union serialiser does.
    assert json_response(contact).body == declared.dump_json(contact, by_alias=True)
    assert b'"contact":"@ann"' in json_response(contact).body
    inbox = [
        NotificationOut(
            id=i, kind="match", payload={"n": i}, status="sent", created_at=now, read_at=None
        )
        for i in range(3)
    ]
    answer = json_list_response(NotificationOut, inbox)
    assert answer.body == TypeAdapter(list[NotificationOut]).dump_json(inbox, by_alias=True)
    assert answer.media_type == "application/json"
    assert json_list_response(NotificationOut, []).body == b"[]"
