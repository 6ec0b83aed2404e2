"""The notify decision: is this offer the thing the person wants? One function, both paths.

A push message costs attention, so it goes out only when a small calibrated classifier (fitted
by ``learn``, shipped as ``freemarket/data/notify-model.json``) is confident enough. Its
features look at the *object* of both titles (``objects``), not only at shared words:

- ``score``: the stored cosine;
- ``head_title`` / ``head_anywhere``: the want's object is among the offer title's own words
  (not a target), or anywhere in the offer (its description too);
- ``head_as_target``: the want's object appears in the offer only as what it is for
  ("цепь для бензопилы" for a want of a chainsaw);
- ``offer_head_in_want``: the offer's object is mentioned by the want;
- ``offer_head_is_target``: the offer's object is what the want is *for* (a phone for a case);
- ``attribute_conflict``: the two name different values of one attribute (men's / women's,
  boy / girl, winter / summer; classes in ``freemarket/data/attributes.txt``);
- ``margin`` and ``top``: how far the pair is ahead of the want's next candidate.

Batch (``engine``) and incremental (``index``) both call ``decide`` on a want's ranked
candidates, with the same inputs, so they take the same decisions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from freemarket.matching.core.objects import TitleFacts, column, title_facts
from freemarket.matching.core.text import Lexicon, _within_one_edit, normalize

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_MODEL_PATH = DATA_DIR / "notify-model.json"
DEFAULT_ATTRIBUTES_PATH = DATA_DIR / "attributes.txt"

FEATURES = (
    "score",
    "head_title",
    "head_anywhere",
    "head_as_target",
    "offer_head_in_want",
    "offer_head_is_target",
    "attribute_conflict",
    "margin",
    "top",
)
# Typos in the object ("бинзопила") still name it: stems this long may differ by one edit.
_FUZZY_HEAD_MIN = 5


@dataclass(frozen=True, slots=True)
class Side:
    """What the decision needs of one listing: its title and its vector's columns."""

    title: str
    columns: np.ndarray


@dataclass(frozen=True)
class NotifyModel:
    """A logistic model over ``FEATURES``: p = sigmoid(coef . x + intercept)."""

    coef: tuple[float, ...]
    intercept: float
    trained_on: tuple[str, ...] = ()

    def probability(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probability that each row's offer is what the want asks for."""
        if x.size == 0:
            return np.zeros(0)
        z = x @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> str:
        """The model file's text."""
        return json.dumps(
            {
                "features": list(FEATURES),
                "coef": [round(c, 6) for c in self.coef],
                "intercept": round(self.intercept, 6),
                "trained_on": list(self.trained_on),
            },
            ensure_ascii=False,
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> NotifyModel:
        """Read a model file; refuse one made for other features."""
        data = json.loads(text)
        if tuple(data.get("features", ())) != FEATURES:
            raise ValueError(f"model features {data.get('features')} are not {list(FEATURES)}")
        return cls(
            tuple(float(c) for c in data["coef"]),
            float(data["intercept"]),
            tuple(data.get("trained_on", ())),
        )


@lru_cache(maxsize=8)
def load_model(path: Path = DEFAULT_MODEL_PATH) -> NotifyModel:
    """Load (and cache) a model file."""
    return NotifyModel.from_json(Path(path).read_text(encoding="utf-8"))


@lru_cache(maxsize=8)
def load_attributes(path: Path = DEFAULT_ATTRIBUTES_PATH) -> tuple[tuple[int, ...], ...]:
    """Attribute classes as tuples of concept columns ("class: concept, concept, ...")."""
    classes = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0]
        if ":" not in line:
            continue
        values = [normalize(v.strip()) for v in line.split(":", 1)[1].split(",") if v.strip()]
        if len(values) > 1:
            classes.append(tuple(column("=" + v) for v in values))
    return tuple(classes)


def _mentions(keys: frozenset[str], others: frozenset[str]) -> bool:
    if keys & others:
        return True
    long = [k for k in keys if len(k) >= _FUZZY_HEAD_MIN and k[0] != "="]
    return any(_within_one_edit(k, o) for k in long for o in others if abs(len(k) - len(o)) <= 1)


def _attribute_conflict(
    want: set[int], offer: set[int], classes: tuple[tuple[int, ...], ...]
) -> bool:
    for values in classes:
        mine = {v for v in values if v in want}
        theirs = {v for v in values if v in offer}
        if mine and theirs and not (mine & theirs):
            return True
    return False


def pair_features(
    want: Side,
    offers: Sequence[Side],
    scores: Sequence[float],
    lexicon: Lexicon,
    classes: tuple[tuple[int, ...], ...],
) -> np.ndarray:
    """Feature rows (``FEATURES``) of a want's candidates, given best first."""
    wf = title_facts(want.title, lexicon)
    want_cols = set(want.columns.tolist())
    want_keys = wf.main | wf.objects
    out = np.zeros((len(offers), len(FEATURES)))
    for i, (offer, score) in enumerate(zip(offers, scores, strict=True)):
        of: TitleFacts = title_facts(offer.title, lexicon)
        offer_cols = set(offer.columns.tolist())
        head_title = _mentions(wf.objects, of.main)
        head_anywhere = head_title or any(column(k) in offer_cols for k in wf.objects)
        head_as_target = not head_title and _mentions(wf.objects, of.targets)
        offer_head_in_want = _mentions(of.objects, want_keys) or any(
            column(k) in want_cols for k in of.objects
        )
        offer_head_is_target = _mentions(of.objects, wf.targets) and not _mentions(
            of.objects, want_keys
        )
        nxt = scores[i + 1] if i + 1 < len(scores) else 0.0
        out[i] = (
            score,
            head_title,
            head_anywhere,
            head_as_target,
            offer_head_in_want,
            offer_head_is_target,
            _attribute_conflict(want_cols, offer_cols, classes),
            score - nxt if i == 0 else score - scores[0],
            i == 0,
        )
    return out


# Only a want's best few candidates can be worth a push; deciding on them alone keeps the bulk
# recompute fast. Both paths decide on exactly these.
DECIDE_TOP = 3


def decide(
    want: Side,
    offers: Sequence[Side],
    scores: Sequence[float],
    *,
    lexicon: Lexicon,
    threshold: float,
    model_path: str | None = None,
) -> list[tuple[float, bool]]:
    """(confidence, notify) for a want's best ``DECIDE_TOP`` candidates, given best first."""
    offers, scores = offers[:DECIDE_TOP], scores[:DECIDE_TOP]
    if not offers:
        return []
    model = load_model(Path(model_path) if model_path else DEFAULT_MODEL_PATH)
    x = pair_features(want, offers, scores, lexicon, load_attributes())
    p = model.probability(x)
    # rounded like scores, so both paths store the same value and decide the same way
    return [(round(float(v), 6), bool(round(float(v), 6) >= threshold)) for v in p]
