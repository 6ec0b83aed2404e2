"""The dev set through the whole pipeline: import, worker, matches, notifications, recompute."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, Notification
from freemarket.domain.importer import import_lines
from freemarket.infra.settings import Settings
from freemarket.matching.core.engine import MatchCandidate
from freemarket.matching.params import thresholds_from
from freemarket.matching.recompute import recompute
from freemarket.matching.worker import MatchWorker
from tests.matching.core.test_quality import DEV_SET, evaluate, load_dev_set


@pytest.fixture
def dev_lines() -> list[str]:
    """The shared development set's lines."""
    if not DEV_SET.exists():
        pytest.fail(f"the shared dev set is missing: {DEV_SET}")
    return DEV_SET.read_text(encoding="utf-8").splitlines()


def test_dev_set_quality_and_idempotent_recompute(
    engine: Engine, db: Session, settings: Settings, dev_lines: list[str]
) -> None:
    """Import → worker meets the quality bar from the database; a recompute then changes nothing."""
    report = import_lines(db, dev_lines)
    db.commit()
    assert report.rejected == []
    worker_result = MatchWorker(engine, settings).run_until_idle()
    assert worker_result.failed == 0

    # Dev ids are item lines in file order; the database has its own ids.
    external_by_dev = {}
    for line in dev_lines:
        row = json.loads(line)
        if row["type"] == "item":
            external_by_dev[len(external_by_dev) + 1] = row["external_id"]
    db_by_external = dict(db.execute(select(Item.external_id, Item.id)).all())
    dev_by_db = {db_by_external[ext]: dev for dev, ext in external_by_dev.items()}

    stored = db.scalars(select(Match).where(Match.score >= settings.match_show_threshold)).all()
    candidates = sorted(
        (
            MatchCandidate(
                dev_by_db[m.want_item_id], dev_by_db[m.offer_item_id], m.score, m.computed_by, []
            )
            for m in stored
        ),
        key=lambda c: (c.want_id, -c.score, c.offer_id),
    )
    quality = evaluate(load_dev_set(), candidates, settings.match_notify_threshold)
    print(
        f"\n[db] recall@5={quality.recall_at_5:.3f} recall@1={quality.recall_at_1:.3f} "
        f"MRR={quality.mrr:.3f} notified(true)={quality.notified_true:.3f} "
        f"notified(no-match)={quality.notified_false:.3f}"
    )
    assert quality.recall_at_5 >= 0.90, quality.misses
    assert quality.notified_true >= 0.60
    assert quality.notified_false <= 0.10

    # A notification row exists exactly for every stored match at or above the notify threshold.
    loud = {m.id for m in stored if m.score >= settings.match_notify_threshold}
    announced = set(db.scalars(select(Notification.match_id).where(Notification.kind == "match")))
    assert announced == loud

    # The batch rebuild agrees with what the worker built one item at a time.
    before = set(db.execute(select(Match.want_item_id, Match.offer_item_id)).all())
    notifications_before = len(db.scalars(select(Notification.id)).all())
    rebuilt = recompute(db, thresholds=thresholds_from(settings))
    db.commit()
    assert (rebuilt.totals.added, rebuilt.totals.removed, rebuilt.totals.notified) == (0, 0, 0)
    assert rebuilt.totals.kept == len(before)
    assert set(db.execute(select(Match.want_item_id, Match.offer_item_id)).all()) == before
    assert len(db.scalars(select(Notification.id)).all()) == notifications_before
