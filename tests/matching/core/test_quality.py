"""Quality of the matching core on the shared development set (see its README)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from freemarket.matching.core.engine import Listing, MatchCandidate, match_all
from freemarket.matching.params import default_thresholds

DEV_SET = Path(__file__).resolve().parents[3].parent / "shared/data/matching-dev.jsonl"


@dataclass
class DevSet:
    """Listings with ids assigned in file order, and the truth keyed by want id."""

    listings: list[Listing]
    truth: dict[int, set[int]]


def load_dev_set(path: Path = DEV_SET) -> DevSet:
    """Read users, items and truth lines; items get ids 1..n, users 1..m."""
    users: dict[str, int] = {}
    by_external: dict[str, int] = {}
    listings: list[Listing] = []
    truth: dict[int, set[int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["type"] == "user":
            users[row["username"]] = len(users) + 1
        elif row["type"] == "item":
            item_id = len(listings) + 1
            by_external[row["external_id"]] = item_id
            listings.append(
                Listing(
                    id=item_id,
                    user_id=users[row["username"]],
                    kind=row["kind"],
                    category=row["category"],
                    city=row.get("city"),
                    title=row["title"],
                    description=row.get("description", ""),
                    delivery=bool(row.get("delivery", False)),
                )
            )
        elif row["type"] == "truth":
            truth[by_external[row["want"]]] = {by_external[o] for o in row["offers"]}
    return DevSet(listings, truth)


@dataclass
class Quality:
    """The figures the issue asks for."""

    recall_at_5: float
    recall_at_1: float
    mrr: float
    notified_true: float
    notified_false: float
    misses: list[int]


def evaluate(dev: DevSet, candidates: list[MatchCandidate], notify: float) -> Quality:
    """Recall@5/@1 and MRR over wants with a true offer; notification rates at ``notify``."""
    ranked: dict[int, list[MatchCandidate]] = {}
    for c in candidates:
        ranked.setdefault(c.want_id, []).append(c)
    positives = [w for w, offers in dev.truth.items() if offers]
    negatives = [w for w, offers in dev.truth.items() if not offers]
    hits5 = hits1 = 0
    rr = 0.0
    notified = 0
    misses = []
    for want in positives:
        ids = [c.offer_id for c in ranked.get(want, [])]
        ranks = [i for i, oid in enumerate(ids) if oid in dev.truth[want]]
        if ranks and ranks[0] < 5:
            hits5 += 1
        else:
            misses.append(want)
        hits1 += bool(ranks) and ranks[0] == 0
        rr += 1.0 / (ranks[0] + 1) if ranks else 0.0
        notified += any(
            c.score >= notify and c.offer_id in dev.truth[want] for c in ranked.get(want, [])
        )
    false_notified = sum(any(c.score >= notify for c in ranked.get(want, [])) for want in negatives)
    return Quality(
        recall_at_5=hits5 / len(positives),
        recall_at_1=hits1 / len(positives),
        mrr=rr / len(positives),
        notified_true=notified / len(positives),
        notified_false=false_notified / max(1, len(negatives)),
        misses=misses,
    )


@pytest.fixture(scope="module")
def quality() -> Quality:
    if not DEV_SET.exists():
        pytest.skip(f"dev set not found at {DEV_SET}")
    dev = load_dev_set()
    params = default_thresholds()
    candidates = match_all(dev.listings, params)
    q = evaluate(dev, candidates, params.notify)
    print(
        f"\nrecall@5={q.recall_at_5:.3f} recall@1={q.recall_at_1:.3f} MRR={q.mrr:.3f} "
        f"notified(true)={q.notified_true:.3f} notified(no-match)={q.notified_false:.3f}"
    )
    return q


def test_recall_at_5(quality: Quality) -> None:
    assert quality.recall_at_5 >= 0.90, quality.misses


def test_notify_true_offers(quality: Quality) -> None:
    assert quality.notified_true >= 0.60


def test_notify_no_match_wants_rarely(quality: Quality) -> None:
    assert quality.notified_false <= 0.10
