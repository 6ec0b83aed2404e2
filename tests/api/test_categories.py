"""The category list: the 21 defaults with Russian and English names, in display order."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from freemarket.api.routers import categories as categories_router
from freemarket.db.models import Category
from freemarket.db.seed import DEFAULT_CATEGORIES


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


def test_cached_with_etag_and_revalidated(client: TestClient) -> None:
    """The constant list carries an ETag and Cache-Control; a matching If-None-Match is 304."""
    first = client.get("/api/categories")
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert "max-age=" in first.headers["cache-control"]
    assert first.headers["content-type"] == "application/json"
    second = client.get("/api/categories")
    assert second.headers["etag"] == etag and second.content == first.content
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        unchanged = client.get("/api/categories", headers={"If-None-Match": header})
        assert unchanged.status_code == 304, header
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
    changed = client.get("/api/categories", headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.json() == first.json()


def test_cache_expires_and_picks_up_a_new_category(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A category added by a migration shows once the process's cached copy goes stale."""
    before = client.get("/api/categories")
    db.add(Category(slug="tickets", name_ru="Билеты", name_en="Tickets", position=99))
    db.commit()
    try:
        assert client.get("/api/categories").json() == before.json()  # the cached copy
        now = time.monotonic()
        later = now + categories_router.SERVER_CACHE_SECONDS + 1
        monkeypatch.setattr(time, "monotonic", lambda: later)
        after = client.get("/api/categories")
        tickets = {"slug": "tickets", "name_ru": "Билеты", "name_en": "Tickets"}
        assert after.json()[-1] == tickets
        assert after.headers["etag"] != before.headers["etag"]
        etag = before.headers["etag"]
        assert client.get("/api/categories", headers={"If-None-Match": etag}).status_code == 200
    finally:
        # Categories survive the per-test cleanup (migrations seed them): leave the 21.
        db.execute(delete(Category).where(Category.slug == "tickets"))
        db.commit()
