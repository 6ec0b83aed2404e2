"""Labelled sets, quality figures, and fitting the notify model (scikit-learn).

A labelled set is the dev-set format (``/work/shared/data/README.md``): user, item and truth
lines. Fitting runs the real matcher on each set, takes every stored candidate (top-k above the
show threshold) as an example, labels it by the truth, and fits a calibrated logistic
regression over ``decide.FEATURES``. Extra negatives (pairs people said "not interested" to)
join as labelled pairs. Measuring is always on sets the model was not fitted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from freemarket.matching.core.decide import (
    DECIDE_TOP,
    FEATURES,
    NotifyModel,
    Side,
    load_attributes,
    pair_features,
)
from freemarket.matching.core.engine import Listing, MatchCandidate, VectorizedCorpus, match_corpus
from freemarket.matching.core.rules import Thresholds


@dataclass
class LabelledSet:
    """Listings (ids 1..n in file order), the truth per want and its note."""

    name: str
    listings: list[Listing]
    truth: dict[int, set[int]]
    notes: dict[int, str] = field(default_factory=dict)


def load_labelled(path: Path) -> LabelledSet:
    """Read a labelled set in the import format (truth lines name want and offers)."""
    users: dict[str, int] = {}
    by_external: dict[str, int] = {}
    listings: list[Listing] = []
    truth: dict[int, set[int]] = {}
    notes: dict[int, str] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
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
                want = by_external[row["want"]]
                truth[want] = {by_external[o] for o in row["offers"]}
                notes[want] = row.get("note", "")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled-set line ({exc})") from exc
    return LabelledSet(Path(path).name, listings, truth, notes)


@dataclass
class Examples:
    """Feature rows of candidate pairs, their labels, and the want each belongs to."""

    x: np.ndarray
    y: np.ndarray
    wants: list[tuple[str, int]]
    candidates: list[MatchCandidate]
    # rows ``decide`` looks at (a want's best DECIDE_TOP); the others never notify
    decided: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def concat(cls, parts: Iterable[Examples]) -> Examples:
        """All examples of several sets."""
        parts = list(parts)
        return cls(
            np.vstack([p.x for p in parts]) if parts else np.zeros((0, len(FEATURES))),
            np.concatenate([p.y for p in parts]) if parts else np.zeros(0),
            [w for p in parts for w in p.wants],
            [c for p in parts for c in p.candidates],
            np.concatenate([p.decided for p in parts]) if parts else np.zeros(0, dtype=bool),
        )


def candidates_and_features(
    labelled: LabelledSet, params: Thresholds
) -> tuple[list[MatchCandidate], np.ndarray]:
    """The matcher's stored candidates on a set (best first per want) and their features."""
    corpus = VectorizedCorpus.build(labelled.listings)
    found = match_corpus(corpus, params, explain=False, decide_notify=False)
    rows = {x.id: i for i, x in enumerate(corpus.listings)}
    classes = load_attributes()
    by_want: dict[int, list[MatchCandidate]] = {}
    for c in found:
        by_want.setdefault(c.want_id, []).append(c)
    ordered: list[MatchCandidate] = []
    blocks = []
    for want_id, cands in by_want.items():
        want = _side(corpus, rows[want_id])
        offers = [_side(corpus, rows[c.offer_id]) for c in cands]
        blocks.append(
            pair_features(want, offers, [c.score for c in cands], corpus.space.lexicon, classes)
        )
        ordered.extend(cands)
    x = np.vstack(blocks) if blocks else np.zeros((0, len(FEATURES)))
    return ordered, x


def _side(corpus: VectorizedCorpus, row: int) -> Side:
    return Side(corpus.listings[row].title, corpus.vector(row)[0])


def examples(labelled: LabelledSet, params: Thresholds) -> Examples:
    """Every candidate of the set as a labelled example."""
    cands, x = candidates_and_features(labelled, params)
    y = np.array([c.offer_id in labelled.truth.get(c.want_id, set()) for c in cands], dtype=float)
    rank = np.zeros(len(cands), dtype=np.int64)
    for i in range(1, len(cands)):
        rank[i] = rank[i - 1] + 1 if cands[i].want_id == cands[i - 1].want_id else 0
    return Examples(x, y, [(labelled.name, c.want_id) for c in cands], cands, rank < DECIDE_TOP)


def fit(train: Examples, *, names: Sequence[str] = ()) -> NotifyModel:
    """A calibrated logistic regression over the examples (sigmoid calibration, 5 folds)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression

    base = LogisticRegression(C=1.0, max_iter=1000)
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=5, ensemble=False)
    calibrated.fit(train.x[train.decided], train.y[train.decided])
    # One logistic regression plus a sigmoid on its output is again one logistic function.
    inner = calibrated.calibrated_classifiers_[0]
    lr = inner.estimator
    sig = inner.calibrators[0]
    a, b = float(sig.a_), float(sig.b_)
    coef = tuple(float(-a * c) for c in lr.coef_[0])
    intercept = float(-a * lr.intercept_[0] - b)
    return NotifyModel(coef, intercept, tuple(names))


@dataclass
class Quality:
    """The issue's figures on one labelled set."""

    recall_at_5: float
    recall_at_1: float
    notified_true: float
    notified_false: float
    precision: float
    notifications: int
    positives: int
    negatives: int
    per_note: dict[str, dict[str, float]] = field(default_factory=dict)

    def line(self) -> str:
        """One printable line."""
        return (
            f"recall@5={self.recall_at_5:.3f} recall@1={self.recall_at_1:.3f} "
            f"notified(true)={self.notified_true:.3f} notified(no-match)={self.notified_false:.3f} "
            f"precision={self.precision:.3f} ({self.notifications} notifications)"
        )


def evaluate(
    truth: dict[int, set[int]],
    candidates: Sequence[MatchCandidate],
    notes: dict[int, str] | None = None,
) -> Quality:
    """Figures of stored candidates (ranked by score) and their notify decisions."""
    ranked: dict[int, list[MatchCandidate]] = {}
    for c in sorted(candidates, key=lambda c: (c.want_id, -c.score, c.offer_id)):
        ranked.setdefault(c.want_id, []).append(c)
    positives = [w for w, offers in truth.items() if offers]
    negatives = [w for w, offers in truth.items() if not offers]
    per_note: dict[str, list[tuple[bool, bool]]] = {}
    hits5 = hits1 = notified = false_alarm = right = sent = 0
    for want in truth:
        mine = ranked.get(want, [])
        good = truth[want]
        ids = [c.offer_id for c in mine]
        loud = [c for c in mine if c.notify]
        sent += len(loud)
        right += sum(c.offer_id in good for c in loud)
        if good:
            hit5 = any(i in good for i in ids[:5])
            hits5 += hit5
            hits1 += bool(ids) and ids[0] in good
            told = any(c.offer_id in good for c in loud)
            notified += told
        else:
            hit5 = True
            told = bool(loud)
            false_alarm += told
        note = (notes or {}).get(want, "")
        per_note.setdefault(note, []).append((hit5, told))
    table = {
        note: {
            "wants": len(rows),
            "shown": sum(h for h, _ in rows) / len(rows),
            "notified": sum(t for _, t in rows) / len(rows),
        }
        for note, rows in sorted(per_note.items())
    }
    return Quality(
        recall_at_5=hits5 / max(1, len(positives)),
        recall_at_1=hits1 / max(1, len(positives)),
        notified_true=notified / max(1, len(positives)),
        notified_false=false_alarm / max(1, len(negatives)),
        precision=right / sent if sent else 1.0,
        notifications=sent,
        positives=len(positives),
        negatives=len(negatives),
        per_note=table,
    )


def apply_model(
    labelled: LabelledSet,
    cands: Sequence[MatchCandidate],
    x: np.ndarray,
    model: NotifyModel,
    threshold: float,
) -> list[MatchCandidate]:
    """Candidates with the model's decisions (features already computed)."""
    p = np.round(model.probability(x), 6)
    rank = 0
    out = []
    for i, (c, v) in enumerate(zip(cands, p.tolist(), strict=True)):
        rank = rank + 1 if i and cands[i - 1].want_id == c.want_id else 0
        decided = rank < DECIDE_TOP
        out.append(
            replace(c, confidence=float(v) if decided else 0.0, notify=decided and v >= threshold)
        )
    return out
