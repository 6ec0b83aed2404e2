"""Both dev sets through the whole pipeline: import, worker, matches, notifications, recompute."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, Notification
from freemarket.domain.importer import import_lines
from freemarket.infra.settings import Settings
from freemarket.matching.core.engine import MatchCandidate
from freemarket.matching.core.learn import evaluate
from freemarket.matching.params import thresholds_from
from freemarket.matching.recompute import recompute
from freemarket.matching.worker import MatchWorker
from tests.matching.core.test_quality import DATA, DEV_SETS, FLOORS, dev_set


@pytest.fixture(params=DEV_SETS)
def dev_lines(request: pytest.FixtureRequest) -> tuple[str, list[str]]:
    """A shared development set's name and lines."""
    dev_set(request.param)  # fails clearly when missing
    return request.param, (DATA / request.param).read_text(encoding="utf-8").splitlines()


def test_dev_set_quality_and_idempotent_recompute(
    engine: Engine, db: Session, settings: Settings, dev_lines: tuple[str, list[str]]
) -> None:
    """Import → worker meets the quality bar from the database; a recompute then changes nothing."""
    name, dev_lines_ = dev_lines
    report = import_lines(db, dev_lines_)
    db.commit()
    assert report.rejected == []
    worker_result = MatchWorker(engine, settings).run_until_idle()
    assert worker_result.failed == 0

    # Dev ids are item lines in file order; the database has its own ids.
    external_by_dev = {}
    for line in dev_lines_:
        row = json.loads(line)
        if row["type"] == "item":
            external_by_dev[len(external_by_dev) + 1] = row["external_id"]
    db_by_external = dict(db.execute(select(Item.external_id, Item.id)).all())
    dev_by_db = {db_by_external[ext]: dev for dev, ext in external_by_dev.items()}

    stored = db.scalars(select(Match).where(Match.score >= settings.match_show_threshold)).all()
    announced = set(db.scalars(select(Notification.match_id).where(Notification.kind == "match")))
    candidates = [
        MatchCandidate(
            dev_by_db[m.want_item_id],
            dev_by_db[m.offer_item_id],
            m.score,
            m.computed_by,
            [],
            notify=m.id in announced,
        )
        for m in stored
    ]
    labelled = dev_set(name)
    quality = evaluate(labelled.truth, candidates, labelled.notes)
    print(f"\n[db] {name}: {quality.line()}")
    recall, notified, false_alarms, precision = FLOORS[name]
    assert quality.recall_at_5 >= recall
    assert quality.notified_true >= notified
    assert quality.notified_false <= false_alarms
    assert quality.precision >= precision

    # The batch rebuild agrees with what the worker built one item at a time.
    before = set(db.execute(select(Match.want_item_id, Match.offer_item_id)).all())
    notifications_before = len(db.scalars(select(Notification.id)).all())
    rebuilt = recompute(db, thresholds=thresholds_from(settings))
    db.commit()
    assert (rebuilt.totals.added, rebuilt.totals.removed, rebuilt.totals.notified) == (0, 0, 0)
    assert rebuilt.totals.kept == len(before)
    assert set(db.execute(select(Match.want_item_id, Match.offer_item_id)).all()) == before
    assert len(db.scalars(select(Notification.id)).all()) == notifications_before
