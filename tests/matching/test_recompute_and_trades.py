"""Batch recompute rules, swaps and 3-way cycles, and several workers sharing one queue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Job, Match, Notification, User
from freemarket.db.session import make_engine, session_factory
from freemarket.domain import jobs
from freemarket.infra.settings import Settings
from freemarket.matching.core.engine import match_all
from freemarket.matching.params import thresholds_from
from freemarket.matching.recompute import recompute
from freemarket.matching.store import load_listings
from freemarket.matching.worker import BatchResult
from tests.conftest import MakeUser
from tests.matching.conftest import PostItem

Headers = Callable[[User], dict[str, str]]
FREEMARKET = str(Path(sys.executable).with_name("freemarket"))


@pytest.fixture
def market(
    make_user: MakeUser, post_item: PostItem, run_worker: Callable[[], BatchResult]
) -> dict[str, User]:
    """Anna, Boris and Vera in one city: a swap between Anna and Boris, a cycle of all three."""
    anna = make_user("anna", city="Москва")
    boris = make_user("boris", city="Москва")
    vera = make_user("vera", city="Москва")
    post_item(anna, kind="offer", category="music", title="Гитара акустическая Yamaha")
    post_item(anna, kind="want", category="tools", title="Шуруповерт Makita")
    post_item(boris, kind="offer", category="tools", title="Шуруповерт Makita аккумуляторный")
    post_item(boris, kind="want", category="music", title="Акустическая гитара")
    post_item(boris, kind="want", category="books", title="Детективы Агаты Кристи")
    post_item(vera, kind="offer", category="books", title="Агата Кристи, детективы, 10 книг")
    post_item(vera, kind="want", category="kids", title="Детский самокат")
    post_item(anna, kind="offer", category="kids", title="Самокат детский трёхколёсный")
    run_worker()
    return {"anna": anna, "boris": boris, "vera": vera}


def test_swaps_and_cycles_are_found_and_can_be_proposed(
    client: TestClient, market: dict[str, User], auth_headers: Headers
) -> None:
    """Anna sees her swap with Boris and the cycle Anna → Boris → Vera → Anna; both propose."""
    anna = market["anna"]
    headers = auth_headers(anna)
    response = client.get(f"/api/matches/{anna.id}/trades", headers=headers)
    assert response.status_code == 200
    trades = response.json()
    kinds = sorted(t["kind"] for t in trades)
    assert kinds == ["cycle3", "swap"]
    cycle = next(t for t in trades if t["kind"] == "cycle3")
    swap = next(t for t in trades if t["kind"] == "swap")
    assert set(cycle["users"]) == {u.id for u in market.values()}
    assert set(swap["users"]) == {anna.id, market["boris"].id}
    # The swap moves Anna's guitar, the cycle her scooter; Boris's screwdriver goes to Anna in
    # both, so each is flagged as overlapping the other.
    assert swap["overlaps_with_other_trades"] and cycle["overlaps_with_other_trades"]
    assert all(0 < leg["score"] <= 1 for leg in cycle["legs"])
    assert cycle["score"] <= min(leg["score"] for leg in cycle["legs"])
    proposed = client.post(
        "/api/exchanges/", json={"match_ids": cycle["match_ids"]}, headers=headers
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["kind"] == "cycle"
    assert len(proposed.json()["legs"]) == 3
    # Vera may not read Anna's trades.
    other = client.get(f"/api/matches/{anna.id}/trades", headers=auth_headers(market["vera"]))
    assert other.status_code == 403


def test_recompute_dry_run_category_and_only_new_notified(
    db: Session, settings: Settings, market: dict[str, User]
) -> None:
    """--dry-run writes nothing; --category touches one partition; only new pairs are announced."""
    thresholds = thresholds_from(settings)
    total = db.scalar(select(func.count()).select_from(Match))
    assert total == 4
    lost = db.scalar(
        select(Match).join(Match.want_item).where(Match.want_item.has(category="books"))
    )
    assert lost is not None
    lost_pair = (lost.want_item_id, lost.offer_item_id)
    db.execute(delete(Notification).where(Notification.match_id == lost.id))
    db.execute(delete(Match).where(Match.id == lost.id))
    db.commit()

    dry = recompute(db, thresholds=thresholds, dry_run=True)
    db.commit()
    assert dry.totals.added == 1
    assert db.scalar(select(func.count()).select_from(Match)) == total - 1

    only_music = recompute(db, thresholds=thresholds, categories=["music"])
    db.commit()
    assert [p.category for p in only_music.partitions] == ["music"]
    assert only_music.totals.added == 0
    assert db.scalar(select(func.count()).select_from(Match)) == total - 1

    full = recompute(db, thresholds=thresholds)
    db.commit()
    assert full.totals.added == 1 and full.totals.removed == 0
    assert db.scalar(select(func.count()).select_from(Match)) == total
    restored = db.scalar(
        select(Match).where(Match.want_item_id == lost_pair[0], Match.offer_item_id == lost_pair[1])
    )
    assert restored is not None
    # Its announcement was deleted above, so it is new to its owner and announced again, once,
    # if the notify decision of the core pushes it.
    decided = {(c.want_id, c.offer_id): c.notify for c in match_all(load_listings(db), thresholds)}
    expected = 1 if decided[lost_pair] else 0
    assert full.totals.notified == expected
    again = recompute(db, thresholds=thresholds)
    db.commit()
    assert (again.totals.added, again.totals.removed, again.totals.notified) == (0, 0, 0)


def test_cli_match_commands(db_url: str, market: dict[str, User], tmp_path: Path) -> None:
    """`freemarket match --recompute --dry-run --json` and `match --user --json` through the CLI."""
    env = {**os.environ, "DATABASE_URL": db_url, "DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [FREEMARKET, "match", "--recompute", "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)["summary"]
    assert summary["dry_run"] is True and summary["added"] == 0 and summary["kept"] == 4
    shown = subprocess.run(
        [FREEMARKET, "match", "--user", "anna", "--json", "--explain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert len(data["matches"]) == 3  # her screwdriver want, her guitar and scooter offers
    assert {t["kind"] for t in data["trades"]} == {"swap", "cycle3"}
    both = subprocess.run(
        [FREEMARKET, "match"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert both.returncode != 0
    assert "--recompute" in both.stderr


def test_workers_share_the_queue_without_taking_the_same_job(pg_database: str) -> None:
    """PostgreSQL: a job locked by one worker's transaction is skipped by another's claim."""
    engine = make_engine(pg_database)
    factory = session_factory(engine)
    first, second = factory(), factory()
    try:
        with factory() as setup:
            for item_id in (1, 2, 3):
                jobs.enqueue(setup, kind=jobs.MATCH_ITEM, payload={"item_id": item_id})
            setup.commit()
        mine = jobs.claim(first, limit=2)
        theirs = jobs.claim(second, limit=2)
        assert len(mine) == 2 and len(theirs) == 1
        assert {j.id for j in mine}.isdisjoint({j.id for j in theirs})
        first.rollback()  # the first worker "dies": its jobs are free again
        assert len(jobs.claim(second, limit=5)) == 3
        second.rollback()
    finally:
        first.close()
        second.close()
        with factory() as cleanup:
            cleanup.execute(delete(Job))
            cleanup.commit()
        engine.dispose()
