"""Labelled sets, quality figures, and fitting the notify model (scikit-learn).

A labelled set is the dev-set format (``/work/shared/data/README.md``): user, item and truth
lines. Fitting runs the real matcher on each set, takes every candidate it retrieves (top-k by
cosine above the show threshold) as an example and labels it by the truth; it then learns the
ranking weights (pairwise, within each want) and, on each want's best candidates after
re-ranking, a calibrated logistic regression over ``decide.NOTIFY_FEATURES``. Extra negatives
(pairs people said "not interested" to) join the notify examples. Measuring is always on sets
the model was not fitted on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from freemarket.matching.core.decide import (
    DECIDE_TOP,
    NOTIFY_FEATURES,
    PAIR_FEATURES,
    NotifyModel,
    Side,
    load_attributes,
    notify_features,
    pair_features,
    rerank,
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
    """Candidate pairs with their pair features and labels, grouped by want.

    Rows of one want are contiguous, best cosine first; ``groups`` names each row's want
    (set name, want id). ``candidates`` are the matcher's (cosine scores) when known.
    """

    px: np.ndarray
    y: np.ndarray
    cosines: np.ndarray
    offers: np.ndarray
    groups: list[tuple[str, int]]
    # the matcher's candidates, row for row (a single set's examples only)
    candidates: list[MatchCandidate] = field(default_factory=list)

    @classmethod
    def concat(cls, parts: Iterable[Examples]) -> Examples:
        """All examples of several sets (without their candidates)."""
        parts = list(parts)
        return cls(
            np.vstack([p.px for p in parts]) if parts else np.zeros((0, len(PAIR_FEATURES))),
            np.concatenate([p.y for p in parts]) if parts else np.zeros(0),
            np.concatenate([p.cosines for p in parts]) if parts else np.zeros(0),
            np.concatenate([p.offers for p in parts]) if parts else np.zeros(0, dtype=np.int64),
            [g for p in parts for g in p.groups],
        )

    def take(self, rows: np.ndarray) -> Examples:
        """The examples of some rows (whole wants, in order)."""
        keep = rows.tolist()
        return Examples(
            self.px[rows],
            self.y[rows],
            self.cosines[rows],
            self.offers[rows],
            [self.groups[i] for i in keep],
            [self.candidates[i] for i in keep] if self.candidates else [],
        )

    def blocks(self) -> list[np.ndarray]:
        """Row indices of each want's candidates."""
        out: list[list[int]] = []
        for i, g in enumerate(self.groups):
            if i and g == self.groups[i - 1]:
                out[-1].append(i)
            else:
                out.append([i])
        return [np.array(b) for b in out]


def candidates_and_features(
    labelled: LabelledSet, params: Thresholds
) -> tuple[list[MatchCandidate], np.ndarray]:
    """The matcher's candidates on a set (cosine, best first per want) and their pair features."""
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
        blocks.append(pair_features(want, offers, corpus.space.lexicon, classes))
        ordered.extend(cands)
    x = np.vstack(blocks) if blocks else np.zeros((0, len(PAIR_FEATURES)))
    return ordered, x


def _side(corpus: VectorizedCorpus, row: int) -> Side:
    x = corpus.listings[row]
    return Side(x.id, x.title, corpus.vector(row)[0], x.description)


def examples(labelled: LabelledSet, params: Thresholds) -> Examples:
    """Every candidate of the set as a labelled example."""
    cands, px = candidates_and_features(labelled, params)
    y = np.array([c.offer_id in labelled.truth.get(c.want_id, set()) for c in cands], dtype=float)
    cosines = np.array([c.score for c in cands], dtype=np.float64)
    offers = np.array([c.offer_id for c in cands], dtype=np.int64)
    return Examples(px, y, cosines, offers, [(labelled.name, c.want_id) for c in cands], cands)


# Which way each pair feature may push (+1 towards "this is the thing", -1 away). Two small
# labelled sets cannot tell collinear features apart, and an unconstrained fit gives some of
# them the wrong sign (the object in the offer's title *lowering* the rank) that then fails on
# other listings; the directions are what the features mean, so they are fixed, not learnt.
PAIR_SIGNS = {
    "head_title": 1,
    "head_anywhere": 1,
    "head_as_target": -1,
    "offer_head_in_want": 1,
    "offer_head_is_target": -1,
    "attribute_conflict": -1,
    "target_conflict": -1,
    "number_conflict": -1,
    "want_coverage": 1,
    "want_title_coverage": 1,
    "offer_coverage": 1,
    "head_match": 1,
    "head_modifier": -1,
    "excluded": -1,
}
NOTIFY_SIGNS = {"cosine": 1, **PAIR_SIGNS, "margin": 1, "top": 1}


class SignedLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression whose weights keep given signs (scikit-learn API).

    scikit-learn's ``LogisticRegression`` has no bounds on coefficients; this fits the same
    loss with scipy's L-BFGS-B, which takes them, and plugs into ``CalibratedClassifierCV``.
    """

    def __init__(
        self, signs: Sequence[int] = (), C: float = 1.0, fit_intercept: bool = True
    ) -> None:
        self.signs = signs
        self.C = C
        self.fit_intercept = fit_intercept

    def fit(self, x: np.ndarray, y: np.ndarray) -> SignedLogisticRegression:
        """Minimise the logistic loss plus ||w||^2 / (2C) within the sign bounds."""
        from scipy.optimize import minimize

        x = np.asarray(x, dtype=np.float64)
        t = np.where(np.asarray(y) > 0, 1.0, -1.0)
        n_features = x.shape[1]

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            w, b = theta[:n_features], theta[n_features] if self.fit_intercept else 0.0
            z = t * (x @ w + b)
            value = np.logaddexp(0.0, -z).sum() + w @ w / (2 * self.C)
            g = -t / (1.0 + np.exp(z))
            grad = np.r_[x.T @ g + w / self.C, g.sum() if self.fit_intercept else 0.0]
            return float(value), grad

        bounds = [
            (0.0, None) if sg > 0 else (None, 0.0) if sg < 0 else (None, None)
            for sg in (self.signs or [0] * n_features)
        ] + [(None, None) if self.fit_intercept else (0.0, 0.0)]
        res = minimize(loss, np.zeros(n_features + 1), jac=True, method="L-BFGS-B", bounds=bounds)
        self.coef_ = res.x[:n_features].reshape(1, -1)
        self.intercept_ = np.array([res.x[n_features]])
        self.classes_ = np.array([0.0, 1.0])
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The linear score of each row."""
        return np.asarray(x) @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Probabilities of class 0 and class 1."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(x)))
        return np.column_stack([1.0 - p, p])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The likelier class of each row."""
        return (self.decision_function(x) > 0).astype(float)


def _ranking_weights(train: Examples, show: float) -> tuple[float, ...]:
    """Pairwise logistic regression: of a right and a wrong candidate of one want, which is right.

    The difference of their (log of the cosine above ``show``, pair features) is the input, so
    only what tells candidates of the *same* want apart is learnt; dividing by the log-cosine
    weight turns the result into a factor on the cosine (``NotifyModel.relevance``).
    """
    f = np.column_stack([np.log(np.maximum(train.cosines - show, 1e-6)), train.px])
    diffs = []
    for rows in train.blocks():
        right = rows[train.y[rows] > 0]
        wrong = rows[train.y[rows] == 0]
        for r in right.tolist():
            for w in wrong.tolist():
                diffs.append(f[r] - f[w])
    if not diffs:
        return tuple(0.0 for _ in PAIR_FEATURES)
    d = np.array(diffs)
    # both orders, so the model has two classes and no intercept is needed
    signs = [1, *(PAIR_SIGNS[f] for f in PAIR_FEATURES)]
    lr = SignedLogisticRegression(signs, C=RANK_C, fit_intercept=False)
    lr.fit(np.vstack([d, -d]), np.r_[np.ones(len(d)), np.zeros(len(d))])
    coef = lr.coef_[0]
    scale = coef[0] if coef[0] > 0 else 1.0
    return tuple(float(c / scale) for c in coef[1:])


# Regularisation of the two models: a few hundred examples from two sets, so keep weights modest.
RANK_C = 0.3
NOTIFY_C = 1.0


def reranked(
    train: Examples, rank_coef: tuple[float, ...], show: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of ``NOTIFY_FEATURES`` for each want's best ``DECIDE_TOP`` after re-ranking.

    Returns the feature rows, their labels and the example row each came from.
    """
    model = NotifyModel(rank_coef, tuple(0.0 for _ in NOTIFY_FEATURES), 0.0)
    rel = model.relevance(train.cosines, train.px, show)
    xs, ys, src = [], [], []
    for rows in train.blocks():
        order = rows[rerank(train.offers[rows].tolist(), rel[rows])][:DECIDE_TOP]
        xs.append(notify_features(train.cosines[order], rel[order], train.px[order]))
        ys.append(train.y[order])
        src.append(order)
    if not xs:
        return np.zeros((0, len(NOTIFY_FEATURES))), np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(src)


def fit(train: Examples, show: float, *, names: Sequence[str] = ()) -> NotifyModel:
    """Ranking weights, then a calibrated logistic regression (sigmoid, 5 folds) on top of them."""
    from sklearn.calibration import CalibratedClassifierCV

    rank_coef = _ranking_weights(train, show)
    x, y, _ = reranked(train, rank_coef, show)
    base = SignedLogisticRegression([NOTIFY_SIGNS[f] for f in NOTIFY_FEATURES], C=NOTIFY_C)
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=5, ensemble=False)
    calibrated.fit(x, y)
    # One logistic regression plus a sigmoid on its output is again one logistic function.
    inner = calibrated.calibrated_classifiers_[0]
    lr = inner.estimator
    sig = inner.calibrators[0]
    a, b = float(sig.a_), float(sig.b_)
    coef = tuple(float(-a * c) for c in lr.coef_[0])
    intercept = float(-a * lr.intercept_[0] - b)
    return NotifyModel(rank_coef, coef, intercept, tuple(names))


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


def apply_model(ex: Examples, model: NotifyModel, params: Thresholds) -> list[MatchCandidate]:
    """A set's candidates as the matcher stores them with this model: re-ranked and decided."""
    rel = model.relevance(ex.cosines, ex.px, params.show)
    out = []
    for rows in ex.blocks():
        order = rows[rerank(ex.offers[rows].tolist(), rel[rows])]
        top = order[:DECIDE_TOP]
        p = np.round(model.probability(notify_features(ex.cosines[top], rel[top], ex.px[top])), 6)
        for k, r in enumerate(order.tolist()):
            if rel[r] < params.show:
                continue
            confidence = float(p[k]) if k < DECIDE_TOP else 0.0
            out.append(
                replace(
                    ex.candidates[r],
                    score=float(rel[r]),
                    confidence=confidence,
                    notify=k < DECIDE_TOP and confidence >= params.notify,
                )
            )
    return out
