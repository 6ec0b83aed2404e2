"""`freemarket match train`: fit the notify model on labelled sets and "not interested" answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from freemarket.domain.dismissals import negative_pairs
from freemarket.errors import InvalidInput
from freemarket.matching.core.decide import Side, load_attributes, pair_features
from freemarket.matching.core.engine import VectorizedCorpus
from freemarket.matching.core.learn import (
    Examples,
    apply_model,
    evaluate,
    examples,
    fit,
    load_labelled,
)
from freemarket.matching.core.rules import Thresholds, pair_scores
from freemarket.matching.store import load_listings, to_listing


def _dismissal_examples(session: Session) -> Examples:
    """Pairs want owners said "not interested" to, as negatives (each as its want's best)."""
    pairs = negative_pairs(session)
    if not pairs:
        return Examples.concat([])
    listings = load_listings(session)
    known = {x.id for x in listings}
    extra = {i.id: to_listing(i) for pair in pairs for i in pair if i.id not in known}
    corpus = VectorizedCorpus.build([*listings, *extra.values()])
    row = {x.id: i for i, x in enumerate(corpus.listings)}
    classes = load_attributes()
    blocks, cosines = [], []
    for want, offer in pairs:
        w, o = row[want.id], row[offer.id]
        cosines.append(
            float(pair_scores(corpus.matrix, np.array([w]), corpus.matrix, np.array([o]))[0])
        )
        blocks.append(
            pair_features(
                Side(want.id, want.title, corpus.vector(w)[0], want.description or ""),
                [Side(offer.id, offer.title, corpus.vector(o)[0])],
                corpus.space.lexicon,
                classes,
            )
        )
    n = len(blocks)
    return Examples(
        np.vstack(blocks),
        np.zeros(n),
        np.array(cosines),
        np.array([offer.id for _, offer in pairs], dtype=np.int64),
        [("dismissed", w.id) for w, _ in pairs],
    )


def train_model(
    session: Session | None, paths: list[Path], out: Path, *, thresholds: Thresholds
) -> dict[str, Any]:
    """Fit on every set (plus dismissals), write the model, report held-out figures per set."""
    try:
        sets = [load_labelled(p) for p in paths]
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read a labelled set: {exc}") from exc
    if not any(s.truth for s in sets):
        raise InvalidInput("the labelled sets have no truth lines to learn from")
    per_set = [examples(s, thresholds) for s in sets]
    negatives = _dismissal_examples(session) if session is not None else Examples.concat([])
    everything = Examples.concat([*per_set, negatives])
    if len(set(everything.y.tolist())) < 2:
        raise InvalidInput("need both right and wrong candidate pairs to learn from")
    model = fit(everything, thresholds.show, names=[s.name for s in sets])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(model.to_json() + "\n", encoding="utf-8")
    report: dict[str, Any] = {
        "model": str(out),
        "examples": len(everything.y),
        "dismissed negatives": len(negatives.y),
    }
    # Held-out figures: each set measured by a model fitted on the others (never on itself).
    if len(sets) > 1:
        for i, held in enumerate(sets):
            rest = Examples.concat([p for j, p in enumerate(per_set) if j != i] + [negatives])
            if len(set(rest.y.tolist())) < 2:
                continue
            other = fit(rest, thresholds.show)
            decided = apply_model(per_set[i], other, thresholds)
            report[f"held out {held.name}"] = evaluate(held.truth, decided, held.notes).line()
    return report
