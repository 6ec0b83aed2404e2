"""Item search through the matching text pipeline: slang, translation, relevance, pagination."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import ItemSearchTerm, SearchIndexState, User
from freemarket.domain import items, search, users
from freemarket.domain.actors import OPERATOR
from freemarket.infra.settings import Settings
from freemarket.matching.worker import MatchWorker
from tests.api.conftest import Headers, MakeItem


def _search(client: TestClient, q: str, **params: object) -> list[int]:
    response = client.get("/api/items", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [i["id"] for i in response.json()["items"]]


def test_slang_finds_the_listing_word(client: TestClient, anna: User, make_item: MakeItem) -> None:
    bike = make_item(anna, "Детский велосипед Stels", category="bicycles")
    make_item(anna, "Самокат трёхколёсный", category="kids")
    assert _search(client, "велик") == [bike.id]
    assert _search(client, "велосипеды") == [bike.id]
    assert _search(client, "Велосипед") == [bike.id]


def test_english_query_finds_russian_listings_and_back(
    client: TestClient, anna: User, boris: User, make_item: MakeItem
) -> None:
    russian = make_item(anna, "Горный велосипед", category="bicycles")
    english = make_item(boris, "Kids bike, 16 inch", category="bicycles")
    make_item(boris, "Диван угловой", category="furniture")
    assert set(_search(client, "bike")) == {russian.id, english.id}
    assert set(_search(client, "велосипед")) == {russian.id, english.id}
    assert set(_search(client, "bicycle")) == {russian.id, english.id}


def test_the_title_outranks_a_mention_in_the_description(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    mention = make_item(
        anna,
        "Шлем защитный",
        category="other",
        description="Катался на велосипеде пару раз, шлем как новый, размер M",
    )
    bike = make_item(anna, "Велосипед", category="bicycles")
    older_bike = make_item(anna, "Велосипед городской", category="bicycles")
    # Newer items come first in a plain list; in a search, what the item *is* comes first.
    assert _search(client, "велик")[-1] == mention.id
    assert set(_search(client, "велик")[:2]) == {bike.id, older_bike.id}


def test_every_word_narrows_and_the_best_match_leads(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    kids_bike = make_item(anna, "Детский велосипед", category="bicycles")
    bike = make_item(anna, "Велосипед взрослый", category="bicycles")
    pram = make_item(anna, "Детская коляска", category="kids")
    found = _search(client, "детский велик")
    assert found == [kids_bike.id]
    assert bike.id not in found and pram.id not in found
    # Of three words, two are enough: one unknown or misspelt word does not empty the list.
    assert _search(client, "детский велик zzzqqq") == [kids_bike.id]


def test_filters_and_visibility_apply_to_search(
    client: TestClient, anna: User, boris: User, make_item: MakeItem, db: Session
) -> None:
    offer = make_item(anna, "Велосипед", kind="offer", category="bicycles")
    want = make_item(anna, "Ищу велосипед", kind="want", category="bicycles")
    banned_bike = make_item(boris, "Велосипед BMX", category="bicycles")
    hidden = make_item(anna, "Велосипед складной", category="bicycles")
    items.deactivate_item(db, item=hidden)
    users.set_banned(db, actor=OPERATOR, user=boris, banned=True)
    db.commit()
    assert _search(client, "bike", kind="offer") == [offer.id]
    assert _search(client, "bike", kind="want") == [want.id]
    assert banned_bike.id not in _search(client, "bike")
    assert hidden.id not in _search(client, "bike")


def test_edited_text_is_searched_as_edited(
    client: TestClient, anna: User, anna_h: Headers, make_item: MakeItem
) -> None:
    item = make_item(anna, "Диван угловой", category="furniture")
    assert _search(client, "диван") == [item.id]
    response = client.patch(
        f"/api/items/{item.id}", json={"title": "Велосипед", "category": "bicycles"}, headers=anna_h
    )
    assert response.status_code == 200, response.text
    assert _search(client, "диван") == []
    assert _search(client, "bike") == [item.id]


def test_relevance_pages_walk_every_match_once(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    # Different lengths give different scores, equal ones tie and are ordered by id.
    made = set()
    for n in range(13):
        extra = " ".join(["горный", "синий", "алюминиевый", "складной"][: n % 4])
        made.add(make_item(anna, f"Велосипед {extra}".strip(), category="bicycles").id)
    make_item(anna, "Диван", category="furniture")
    seen: list[int] = []
    scores: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, object] = {"q": "велик", "limit": 4}
        if cursor:
            params["cursor"] = cursor
        body = client.get("/api/items", params=params).json()
        seen.extend(i["id"] for i in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        scores.append(items.decode_cursor(cursor, ranked=True)[0] or 0)
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert scores == sorted(scores, reverse=True)
    assert _search(client, "велик", limit=13) == seen


def test_cursors_of_lists_and_searches_do_not_mix(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    for n in range(3):
        make_item(anna, f"Велосипед {n + 10}", category="bicycles")
    plain = client.get("/api/items", params={"limit": 1}).json()["next_cursor"]
    ranked = client.get("/api/items", params={"q": "bike", "limit": 1}).json()["next_cursor"]
    assert plain and ranked
    response = client.get("/api/items", params={"q": "bike", "cursor": plain})
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"
    response = client.get("/api/items", params={"cursor": ranked})
    assert response.status_code == 422 and response.json()["code"] == "invalid_cursor"


def test_sync_rewrites_terms_of_another_analyser(
    client: TestClient, anna: User, make_item: MakeItem, db: Session
) -> None:
    bike = make_item(anna, "Велосипед", category="bicycles")
    sofa = make_item(anna, "Диван", category="furniture")
    # As after a bulk load or a lexicon change: terms missing, written by something else.
    db.execute(delete(ItemSearchTerm).where(ItemSearchTerm.item_id == bike.id))
    db.execute(update(ItemSearchTerm).values(term="stale"))
    db.merge(SearchIndexState(id=search.STATE_ROW, fingerprint="older analyser"))
    db.commit()
    assert _search(client, "bike") == []
    progress: list[tuple[int, int]] = []
    assert search.sync_index(db, progress=lambda done, total: progress.append((done, total))) == 2
    db.commit()
    assert progress[-1] == (2, 2)
    assert _search(client, "bike") == [bike.id]
    assert _search(client, "диван") == [sofa.id]
    assert db.scalar(select(func.count()).where(ItemSearchTerm.term == "stale")) == 0
    # Current: nothing to do.
    assert search.sync_index(db) == 0


def test_a_starting_worker_writes_the_terms_of_a_bulk_load(
    client: TestClient,
    anna: User,
    make_item: MakeItem,
    db: Session,
    engine: Engine,
    settings: Settings,
) -> None:
    bike = make_item(anna, "Велосипед", category="bicycles")
    # As right after the migration on a database that already had items.
    db.execute(delete(ItemSearchTerm))
    db.merge(SearchIndexState(id=search.STATE_ROW, fingerprint=None))
    db.commit()
    assert _search(client, "bike") == []
    MatchWorker(engine, settings).run_once()
    assert _search(client, "bike") == [bike.id]
    state = db.scalar(select(SearchIndexState.fingerprint))
    assert state == search.fingerprint()


def test_a_new_word_is_found_as_soon_as_a_listing_has_it(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    assert _search(client, "гироскутер") == []
    board = make_item(anna, "Гироскутер", category="sports")
    assert _search(client, "гироскутер") == [board.id]


def test_a_model_is_found_written_either_way_and_others_are_not(
    client: TestClient, anna: User, make_item: MakeItem
) -> None:
    spaced = make_item(anna, "iPhone 13 Pro, 128 ГБ", category="phones")
    joined = make_item(anna, "Айфон iphone13", category="phones")
    make_item(anna, "iPhone 12", category="phones")
    make_item(anna, "Чехол-книжка 13 дюймов", category="phones")
    assert set(_search(client, "iphone 13")) == {spaced.id, joined.id}
    assert set(_search(client, "айфон 13")) == {spaced.id, joined.id}
    assert set(_search(client, "iphone13")) == {spaced.id, joined.id}
