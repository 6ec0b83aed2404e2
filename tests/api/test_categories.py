"""The category list: the 21 defaults with Russian and English names, in display order."""

from __future__ import annotations

from fastapi.testclient import TestClient

from freemarket.domain.categories import DEFAULT_CATEGORIES


def test_lists_default_categories(client: TestClient) -> None:
    response = client.get("/api/categories")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 21
    assert [c["slug"] for c in body] == [c.slug for c in DEFAULT_CATEGORIES]
    by_slug = {c["slug"]: c for c in body}
    assert by_slug["bicycles"] == {
        "slug": "bicycles",
        "name_ru": "Велосипеды",
        "name_en": "Bicycles",
    }
    for category in body:
        assert category["name_ru"] and category["name_en"]
        assert set(category) == {"slug", "name_ru", "name_en"}
