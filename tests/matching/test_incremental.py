"""Incremental matching: items posted, edited and withdrawn via the API, matched by the worker."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Job, Match, Notification, User
from freemarket.domain import jobs, users
from freemarket.domain.actors import OPERATOR
from freemarket.infra.settings import Settings
from freemarket.matching.worker import BatchResult, MatchWorker
from tests.conftest import MakeUser
from tests.matching.conftest import Neighbours, PostItem

Headers = Callable[[User], dict[str, str]]


def test_new_offer_shows_in_the_wants_matches(
    client: TestClient,
    make_user: MakeUser,
    auth_headers: Headers,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
    db: Session,
) -> None:
    """A want, then a fitting offer: the want's owner sees the match, explained, and is notified."""
    anna = make_user("anna", city="Москва", telegram_id=1001)
    boris = make_user("boris", city="Москва")
    want = post_item(anna, kind="want", title="Ищу велосипед для подростка")
    run_worker()
    offer = post_item(
        boris,
        kind="offer",
        title="Велосипед подростковый Stels",
        description="Подростковый велосипед, 24 дюйма",
    )
    result = run_worker()
    assert result.processed == 1 and result.added == 1
    response = client.get(f"/api/matches/{anna.id}", headers=auth_headers(anna))
    assert response.status_code == 200
    [match] = response.json()
    assert match["want_item"]["id"] == want["id"]
    assert match["offer_item"]["id"] == offer["id"]
    terms = [t["term"] for t in match["explanation"]["shared_terms"]]
    assert "велосипед" in terms
    assert match["computed_by"] == "tfidf-v1"
    # Notified on every channel Anna can be reached on, each row pointing at the match.
    rows = db.scalars(select(Notification).where(Notification.user_id == anna.id)).all()
    assert sorted(n.channel for n in rows) == ["telegram", "web"]
    assert {n.match_id for n in rows} == {match["id"]}
    # The offer's owner sees the same match from the other side.
    theirs = client.get(f"/api/matches/{boris.id}", headers=auth_headers(boris)).json()
    assert [m["id"] for m in theirs] == [match["id"]]


def test_a_word_never_seen_before_still_matches(
    client: TestClient,
    make_user: MakeUser,
    auth_headers: Headers,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
) -> None:
    """No frozen vocabulary: an invented word in both items makes a match."""
    anna = make_user("anna", city="Казань")
    boris = make_user("boris", city="Казань")
    run_worker()  # the worker's index starts before the new word exists
    post_item(anna, kind="want", category="hobby", title="Квакозябра фиолетовая")
    post_item(boris, kind="offer", category="hobby", title="Отдам квакозябру")
    run_worker()
    found = client.get(f"/api/matches/{anna.id}", headers=auth_headers(anna)).json()
    assert len(found) == 1


def test_edit_and_withdraw_update_matches(
    client: TestClient,
    neighbours: Neighbours,
    auth_headers: Headers,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
    db: Session,
) -> None:
    """Editing an offer away drops its match, editing it back restores it, DELETE drops it."""
    anna, boris = neighbours
    post_item(anna, kind="want", category="books", title="Книги Гарри Поттер")
    offer = post_item(boris, kind="offer", category="books", title="Гарри Поттер, все книги")
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 1
    headers = auth_headers(boris)
    edited = client.patch(
        f"/api/items/{offer['id']}", json={"title": "Глобус школьный"}, headers=headers
    )
    assert edited.status_code == 200
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 0
    client.patch(
        f"/api/items/{offer['id']}", json={"title": "Гарри Поттер, 7 книг"}, headers=headers
    )
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 1
    assert client.delete(f"/api/items/{offer['id']}", headers=headers).status_code == 200
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 0
    # Announced once only, although the pair matched twice.
    assert (
        db.scalar(
            select(func.count()).select_from(Notification).where(Notification.user_id == anna.id)
        )
        == 1
    )


def test_constraints_city_delivery_and_own_items(
    client: TestClient,
    make_user: MakeUser,
    auth_headers: Headers,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
) -> None:
    """Another city only with delivery; never one's own offer; `other` wants meet any category."""
    anna = make_user("anna", city="Москва")
    boris = make_user("boris", city="Казань")
    vera = make_user("vera", city="Казань")
    post_item(anna, kind="want", category="music", title="Гитара акустическая")
    post_item(anna, kind="offer", category="music", title="Гитара акустическая Yamaha")
    post_item(boris, kind="offer", category="music", title="Акустическая гитара Fender")
    post_item(vera, kind="offer", category="music", title="Гитара акустическая Cort", delivery=True)
    post_item(anna, kind="want", category="other", title="Гитара электро")
    run_worker()
    found = client.get(f"/api/matches/{anna.id}", headers=auth_headers(anna)).json()
    offers = {(m["want_item"]["category"], m["offer_item"]["user_id"]) for m in found}
    assert ("music", vera.id) in offers  # delivery crosses cities
    assert ("music", boris.id) not in offers  # Kazan without delivery does not
    assert all(user != anna.id for _, user in offers)  # never her own offer
    assert ("other", vera.id) in offers  # `other` wants see offers of any category


def test_ban_withdraws_matches_and_unban_restores(
    client: TestClient,
    neighbours: Neighbours,
    auth_headers: Headers,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
    db: Session,
) -> None:
    """A banned user's offers leave everyone's matches; unbanning brings them back."""
    anna, boris = neighbours
    post_item(anna, kind="want", category="tools", title="Перфоратор Bosch")
    post_item(boris, kind="offer", category="tools", title="Перфоратор Bosch GBH")
    run_worker()
    assert len(client.get(f"/api/matches/{anna.id}", headers=auth_headers(anna)).json()) == 1
    users.set_banned(db, actor=OPERATOR, user=db.get(User, boris.id), banned=True)  # type: ignore[arg-type]
    db.commit()
    assert db.scalar(select(func.count()).select_from(Match)) == 0
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 0
    users.set_banned(db, actor=OPERATOR, user=db.get(User, boris.id), banned=False)  # type: ignore[arg-type]
    db.commit()
    run_worker()
    assert db.scalar(select(func.count()).select_from(Match)) == 1


def test_a_job_interrupted_midway_runs_again_without_duplicates(
    engine: Engine,
    settings: Settings,
    neighbours: Neighbours,
    post_item: PostItem,
    db: Session,
    monkeypatch: object,
) -> None:
    """A worker that dies mid-batch commits nothing; the next one does the job exactly once."""
    import pytest

    anna, boris = neighbours
    post_item(anna, kind="want", category="garden", title="Газонокосилка электрическая")
    post_item(boris, kind="offer", category="garden", title="Газонокосилка Makita электрическая")

    def die(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt  # what a killed process looks like from inside

    patch = pytest.MonkeyPatch()
    patch.setattr(jobs, "finish", die)
    with pytest.raises(KeyboardInterrupt):
        MatchWorker(engine, settings).run_once()
    patch.undo()
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Match)) == 0
    assert db.scalar(select(func.count()).select_from(Job)) == 2
    assert MatchWorker(engine, settings).run_until_idle().processed == 2
    assert db.scalar(select(func.count()).select_from(Match)) == 1
    assert db.scalar(select(func.count()).select_from(Job)) == 0
    assert db.scalar(select(func.count()).select_from(Notification)) == 1


def test_a_failing_job_is_retried_later_and_others_proceed(
    engine: Engine,
    settings: Settings,
    db: Session,
) -> None:
    """An unknown job kind fails with backoff recorded; the rest of the batch still runs."""
    jobs.enqueue(db, kind="no_such_job", payload={})
    db.commit()
    result = MatchWorker(engine, settings).run_once()
    assert result.failed == 1
    job = db.scalar(select(Job))
    assert job is not None and job.attempts == 1 and job.status == "pending"
    assert "unknown job kind" in (job.last_error or "")


def test_idle_passes_do_not_reindex_unchanged_items(
    engine: Engine,
    settings: Settings,
    make_user: MakeUser,
    post_item: PostItem,
    run_worker: Callable[[], BatchResult],
) -> None:
    """Looking back over the overlap window skips versions already folded into the index."""
    anna = make_user("anna", city="Москва")
    post_item(anna, kind="want", category="books", title="Учебник физики")
    worker = MatchWorker(engine, settings)
    worker.run_once()  # builds the index
    assert worker.index is not None
    added: list[int] = []
    original = worker.index.add
    worker.index.add = lambda listing: (added.append(listing.id), original(listing))  # type: ignore[method-assign]
    worker.run_once()
    worker.run_once()
    assert added == []  # nothing changed: nothing re-indexed
    post_item(anna, kind="want", category="books", title="Учебник химии")
    worker.run_once()
    assert len(added) == 1  # exactly the new item, once
    worker.run_once()
    assert len(added) == 1


def test_a_worker_started_on_an_empty_database_picks_up_new_items(
    engine: Engine, settings: Settings, neighbours: Neighbours, post_item: PostItem, db: Session
) -> None:
    """The usual first boot: the worker starts before anything is posted."""
    worker = MatchWorker(engine, settings)
    assert worker.run_once().processed == 0
    anna, boris = neighbours
    post_item(anna, kind="want", category="pets", title="Переноска для кошки")
    post_item(boris, kind="offer", category="pets", title="Переноска для кошки пластиковая")
    assert worker.run_until_idle().processed == 2
    assert db.scalar(select(func.count()).select_from(Match)) == 1
