"""Items: validation, job enqueued with the item, ownership, deactivation, filters, pagination."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, Item, Job, User
from freemarket.domain import users
from freemarket.domain.actors import OPERATOR
from tests.api.conftest import Headers, MakeItem, item_body, post_item


def test_create_item_and_job_in_one_transaction(
    client: TestClient, anna: User, anna_h: Headers, db: Session
) -> None:
    body = item_body(metadata={"size": "M"}, delivery=True)
    response = client.post("/api/items/", json=body, headers=anna_h)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["user_id"] == anna.id
    assert created["title"] == "Горный велосипед"
    assert created["metadata"] == {"size": "M"}
    assert created["city"] == "Москва"  # defaults to the owner's city
    assert created["active"] is True and created["delivery"] is True
    stored = db.get(Item, created["id"])
    assert stored is not None and stored.meta == {"size": "M"}
    jobs = list(db.scalars(select(Job)))
    assert [(j.kind, j.payload, j.status) for j in jobs] == [
        ("match_item", {"item_id": created["id"]}, "pending")
    ]


def test_create_strips_title(client: TestClient, anna_h: Headers) -> None:
    created = post_item(client, anna_h, title="   Книга   ")
    assert created["title"] == "Книга"


def test_create_requires_sign_in(client: TestClient, db: Session) -> None:
    response = client.post("/api/items/", json=item_body())
    assert response.status_code == 401
    assert db.scalar(select(func.count(Item.id))) == 0


def test_unknown_category_is_422_with_message(
    client: TestClient, anna_h: Headers, db: Session
) -> None:
    response = client.post("/api/items/", json=item_body(category="spaceships"), headers=anna_h)
    assert response.status_code == 422
    assert "unknown category 'spaceships'" in response.json()["detail"]
    assert db.scalar(select(func.count(Item.id))) == 0
    assert db.scalar(select(func.count(Job.id))) == 0


def test_invalid_bodies_are_422(client: TestClient, anna_h: Headers, db: Session) -> None:
    cases = {
        "title too long": item_body(title="т" * 201),
        "title too short": item_body(title="x"),
        "title blank": item_body(title="     "),
        "description too long": item_body(description="d" * 5001),
        "metadata too big": item_body(metadata={"blob": "я" * 2100}),
        "unknown field": item_body(price=100),
        "bad kind": item_body(kind="gift"),
        "missing title": {"kind": "offer", "category": "books"},
        "latitude out of range": item_body(latitude=100),
        "metadata not an object": item_body(metadata=[1, 2]),
    }
    for name, body in cases.items():
        response = client.post("/api/items/", json=body, headers=anna_h)
        assert response.status_code == 422, f"{name}: {response.status_code} {response.text}"
    assert db.scalar(select(func.count(Item.id))) == 0


def test_metadata_limit_message(client: TestClient, anna_h: Headers) -> None:
    response = client.post(
        "/api/items/", json=item_body(metadata={"blob": "я" * 2100}), headers=anna_h
    )
    assert response.status_code == 422
    assert "4096 bytes" in response.text
    ok = client.post("/api/items/", json=item_body(metadata={"blob": "a" * 4000}), headers=anna_h)
    assert ok.status_code == 201


def test_title_at_limits_is_accepted(client: TestClient, anna_h: Headers) -> None:
    assert post_item(client, anna_h, title="т" * 200)["title"] == "т" * 200
    assert post_item(client, anna_h, title="ок")["title"] == "ок"


def test_body_over_size_limit_is_413(client: TestClient, anna_h: Headers, db: Session) -> None:
    # The test settings allow 64 000 bytes of body.
    body = item_body(description="x" * 70_000)
    response = client.post("/api/items/", json=body, headers=anna_h)
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert db.scalar(select(func.count(Item.id))) == 0


def test_get_one(client: TestClient, anna_h: Headers) -> None:
    created = post_item(client, anna_h)
    response = client.get(f"/api/items/{created['id']}")
    assert response.status_code == 200
    # The item as created, plus the exchange it completed (only GET one says; none yet).
    assert response.json() == {**created, "exchange_id": None}
    assert "exchange_id" not in created
    assert client.get("/api/items/999999").status_code == 404


def test_patch_own_item(client: TestClient, anna_h: Headers, db: Session) -> None:
    created = post_item(client, anna_h)
    body = {"title": "Шоссейный велосипед", "metadata": {"wheels": 28}, "category": "sports"}
    response = client.patch(f"/api/items/{created['id']}", json=body, headers=anna_h)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Шоссейный велосипед"
    assert response.json()["metadata"] == {"wheels": 28}
    db.expire_all()
    stored = db.get(Item, created["id"])
    assert stored is not None
    assert (stored.title, stored.category, stored.meta) == (
        "Шоссейный велосипед",
        "sports",
        {"wheels": 28},
    )
    # A re-match is queued alongside the change.
    assert db.scalar(select(func.count(Job.id))) == 2
    assert db.scalar(select(func.count(AuditLog.id))) == 0


def test_patch_validation(client: TestClient, anna_h: Headers) -> None:
    created = post_item(client, anna_h)
    url = f"/api/items/{created['id']}"
    for body in (
        {"kind": "want"},
        {"title": "x"},
        {"category": "nope"},
        {"metadata": {"b": "я" * 2100}},
        {"active": True},
    ):
        assert client.patch(url, json=body, headers=anna_h).status_code == 422, body


def test_patch_other_users_item_is_403_and_unchanged(
    client: TestClient, anna_h: Headers, boris_h: Headers, db: Session
) -> None:
    created = post_item(client, anna_h)
    response = client.patch(
        f"/api/items/{created['id']}", json={"title": "Украдено"}, headers=boris_h
    )
    assert response.status_code == 403
    deleted = client.delete(f"/api/items/{created['id']}", headers=boris_h)
    assert deleted.status_code == 403
    db.expire_all()
    stored = db.get(Item, created["id"])
    assert stored is not None
    assert stored.title == "Горный велосипед" and stored.active is True
    assert db.scalar(select(func.count(Job.id))) == 1


def test_admin_patch_is_audited(
    client: TestClient, anna_h: Headers, admin: User, admin_h: Headers, db: Session
) -> None:
    created = post_item(client, anna_h)
    response = client.patch(
        f"/api/items/{created['id']}", json={"title": "Исправлено"}, headers=admin_h
    )
    assert response.status_code == 200
    db.expire_all()
    stored = db.get(Item, created["id"])
    assert stored is not None and stored.title == "Исправлено"
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "update_item"))
    assert entry is not None
    assert entry.actor_id == admin.id and entry.target_id == str(created["id"])
    assert entry.details == {"fields": ["title"]}


def test_delete_deactivates_and_hides(
    client: TestClient, anna_h: Headers, boris_h: Headers, admin_h: Headers, db: Session
) -> None:
    created = post_item(client, anna_h)
    kept = post_item(client, anna_h, title="Самокат")
    response = client.delete(f"/api/items/{created['id']}", headers=anna_h)
    assert response.status_code == 200
    assert response.json()["active"] is False
    db.expire_all()
    stored = db.get(Item, created["id"])
    assert stored is not None and stored.active is False
    listed = client.get("/api/items").json()["items"]
    assert [i["id"] for i in listed] == [kept["id"]]
    # Hidden from others, still visible to the owner and admins.
    assert client.get(f"/api/items/{created['id']}").status_code == 404
    assert client.get(f"/api/items/{created['id']}", headers=boris_h).status_code == 404
    assert client.get(f"/api/items/{created['id']}", headers=anna_h).status_code == 200
    assert client.get(f"/api/items/{created['id']}", headers=admin_h).status_code == 200
    # Deleting again is harmless.
    assert client.delete(f"/api/items/{created['id']}", headers=anna_h).status_code == 200


def test_admin_delete_is_audited(
    client: TestClient, anna_h: Headers, admin_h: Headers, db: Session
) -> None:
    created = post_item(client, anna_h)
    assert client.delete(f"/api/items/{created['id']}", headers=admin_h).status_code == 200
    entry = db.scalar(select(AuditLog).where(AuditLog.action == "deactivate_item"))
    assert entry is not None and entry.target_id == str(created["id"])


def _ids(client: TestClient, **params: object) -> list[int]:
    response = client.get("/api/items", params=params)
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


def test_list_filters(client: TestClient, anna: User, boris: User, make_item: MakeItem) -> None:
    bike = make_item(anna, "Детский велосипед", kind="offer", category="bicycles")
    want = make_item(anna, "Ищу книги Толстого", kind="want", category="books")
    sofa = make_item(boris, "Диван угловой", kind="offer", category="furniture")
    desc = make_item(boris, "Рама", category="bicycles", description="от велосипеда Stels")
    assert _ids(client) == [desc.id, sofa.id, want.id, bike.id]
    assert _ids(client, kind="want") == [want.id]
    assert _ids(client, kind="offer", category="bicycles") == [desc.id, bike.id]
    assert _ids(client, city="москва") == [want.id, bike.id]
    assert _ids(client, city="Казань") == [desc.id, sofa.id]
    assert _ids(client, user_id=boris.id) == [desc.id, sofa.id]
    assert _ids(client, q="диван") == [sofa.id]
    assert _ids(client, q="stels") == [desc.id]
    assert _ids(client, user_id=999999) == []
    for bad in ({"kind": "gift"}, {"category": "NOT A SLUG"}, {"limit": 0}, {"limit": 101}):
        assert client.get("/api/items", params=bad).status_code == 422, bad


def test_query_is_case_insensitive_for_cyrillic(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    bike = make_item(anna, "велосипед горный", category="bicycles")
    make_item(anna, "Ёлочные игрушки", category="home")
    assert _ids(client, q="ВЕЛОСИПЕД") == [bike.id]
    assert _ids(client, q="Велосипед") == [bike.id]
    upper = make_item(anna, "ВЕЛОСИПЕД BMX", category="bicycles")
    assert _ids(client, q="велосипед") == [upper.id, bike.id]


def test_query_treats_like_wildcards_literally(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    make_item(anna, "Книга")
    discount = make_item(anna, "Скидка 50% на всё")
    # The query is analysed into words, never spliced into a pattern: punctuation alone
    # looks for nothing, and "50%" looks for the number.
    assert _ids(client, q="%") == []
    assert _ids(client, q="50%") == [discount.id]
    assert _ids(client, q="_") == []
    assert _ids(client, q="\\") == []
    assert _ids(client, city="%") == []
    assert _ids(client, city="Моск_а") == []


def test_cursor_pagination_walks_everything_once(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    created = {make_item(anna, f"Вещь номер {n}").id for n in range(23)}
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/items", params=params).json()
        seen.extend(i["id"] for i in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    assert set(seen) == created
    assert seen == sorted(seen, reverse=True)


def test_exact_page_has_no_next_cursor(client: TestClient, anna: User, make_item: MakeItem) -> None:
    for n in range(4):
        make_item(anna, f"Вещь {n}")
    body = client.get("/api/items", params={"limit": 4}).json()
    assert len(body["items"]) == 4 and body["next_cursor"] is None


def test_bad_cursor_is_422(client: TestClient) -> None:
    for cursor in ("garbage!!", "aTpub3Rhbg", "eDox", "€€€", "===="):
        response = client.get("/api/items", params={"cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
        assert "cursor" in response.json()["detail"]


def test_banned_users_items_hidden(
    client: TestClient, anna: User, boris: User, make_item: MakeItem, db: Session
) -> None:
    mine = make_item(anna, "Лампа")
    theirs = make_item(boris, "Стул")
    users.set_banned(db, actor=OPERATOR, user=boris, banned=True)
    db.commit()
    assert _ids(client) == [mine.id]
    assert _ids(client, user_id=boris.id) == []
    assert client.get(f"/api/items/{theirs.id}").status_code == 404
