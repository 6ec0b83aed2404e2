"""`freemarket match train`: a model file from labelled sets and "not interested" answers."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.orm import Session

from freemarket.db.models import Match
from freemarket.domain import dismissals, items, users
from freemarket.matching.core.decide import NOTIFY_FEATURES, PAIR_FEATURES, NotifyModel
from tests.cli.conftest import Run

DATA = Path(__file__).resolve().parents[2].parent / "shared/data"


def test_train_writes_a_model_with_held_out_figures(run: Run, db: Session, tmp_path: Path) -> None:
    anna = users.create_user(db, username="anna", city="Москва")
    boris = users.create_user(db, username="boris", city="Москва")
    want = items.create_item(db, owner=anna, kind="want", category="tools", title="Ищу бензопилу")
    chain = items.create_item(
        db, owner=boris, kind="offer", category="tools", title="Цепь для бензопилы"
    )
    match = Match(want_item_id=want.id, offer_item_id=chain.id, score=0.5, computed_by="t")
    db.add(match)
    db.flush()
    dismissals.dismiss_match(db, actor=anna, match_id=match.id)
    db.commit()
    out = tmp_path / "model.json"
    sets = [DATA / "matching-dev.jsonl", DATA / "matching-dev-2.jsonl"]
    result = run("match", "train", "--data", str(sets[0]), "--data", str(sets[1]),
                 "--out", str(out), "--json")  # fmt: skip
    assert result.code == 0, result.err
    report = result.json()
    assert report["dismissed negatives"] == 1
    assert report["examples"] > 300
    assert set(report) >= {f"held out {p.name}" for p in sets}
    model = NotifyModel.from_json(out.read_text(encoding="utf-8"))
    assert len(model.coef) == len(NOTIFY_FEATURES)
    assert len(model.rank_coef) == len(PAIR_FEATURES)
    assert json.loads(out.read_text())["trained_on"] == [p.name for p in sets]


def test_train_refuses_a_file_that_is_not_a_labelled_set(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "item"}\n', encoding="utf-8")
    result = run("match", "train", "--data", str(bad), "--out", str(tmp_path / "m.json"))
    assert result.code != 0
    assert "bad.jsonl:1" in result.err
    assert "Traceback" not in result.err
    assert not (tmp_path / "m.json").exists()
