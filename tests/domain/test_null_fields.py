"""Null in a PATCH clears an optional field and is refused (422, not 500/409) for a required one."""

from __future__ import annotations

from tests.domain.conftest import Person, World


def test_null_for_required_fields_is_422(world: World, anna: Person) -> None:
    client = world.client
    item_id = world.item(anna, "offer", "торшер")
    assert client.post("/api/profiles/", json={}, headers=anna.headers).status_code == 201
    refused = [
        (f"/api/items/{item_id}", field)
        for field in ("metadata", "title", "category", "description", "delivery")
    ]
    refused += [(f"/api/profiles/{anna.id}", f) for f in ("data", "visibility")]
    refused += [(f"/api/users/{anna.id}", "language")]
    wrong = []
    for url, field in refused:
        response = client.patch(url, json={field: None}, headers=anna.headers)
        if response.status_code != 422 or f"{field} cannot be null" not in response.text:
            wrong.append((url, field, response.status_code, response.text[:120]))
    assert not wrong, wrong
    item = client.get(f"/api/items/{item_id}", headers=anna.headers).json()
    assert (item["title"], item["metadata"], item["delivery"]) == ("торшер", {}, False)


def test_null_clears_optional_fields(world: World, anna: Person) -> None:
    client = world.client
    item_id = world.item(anna, "offer", "торшер")
    cleared = client.patch(f"/api/items/{item_id}", json={"city": None}, headers=anna.headers)
    assert cleared.status_code == 200 and cleared.json()["city"] is None
    user = client.patch(f"/api/users/{anna.id}", json={"contact": None}, headers=anna.headers)
    assert user.status_code == 200 and user.json()["contact"] is None
