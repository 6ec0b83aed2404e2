"""Cross-validated quality of the notify decision on labelled sets (never measured on training).

.venv/bin/python -m benchmarks.quality [FILE ...]   (default: both shared dev sets)

Prints, per fold: leave-one-set-out (fit on the other sets, measure on this one) and grouped
5-fold by want (a want's candidates are never split between fitting and measuring), plus the
per-note table of the shipped model on each set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from freemarket.matching.core.engine import match_all
from freemarket.matching.core.learn import (
    Examples,
    apply_model,
    evaluate,
    examples,
    fit,
    load_labelled,
)
from freemarket.matching.params import default_thresholds

DATA = Path(__file__).resolve().parents[1].parent / "shared/data"


def main() -> None:
    """Print the per-fold figures."""
    paths = [Path(p) for p in sys.argv[1:]] or [
        DATA / "matching-dev.jsonl",
        DATA / "matching-dev-2.jsonl",
    ]
    params = default_thresholds()
    sets = [load_labelled(p) for p in paths]
    per_set = [examples(s, params) for s in sets]
    print(f"notify threshold {params.notify}")
    for i, held in enumerate(sets):
        rest = Examples.concat(p for j, p in enumerate(per_set) if j != i)
        if not len(rest.y):
            continue
        decided = apply_model(per_set[i], fit(rest, params.show), params)
        print(f"leave-one-set-out {held.name}: {evaluate(held.truth, decided, held.notes).line()}")
    for i, labelled in enumerate(sets):
        ex = per_set[i]
        groups = np.array([w for _, w in ex.groups])
        for fold, (train, test) in enumerate(GroupKFold(n_splits=5).split(ex.px, ex.y, groups)):
            model = fit(ex.take(train), params.show)
            decided = apply_model(ex.take(test), model, params)
            wants = {w for _, w in (ex.groups[k] for k in test)}
            truth = {w: o for w, o in labelled.truth.items() if w in wants}
            print(f"grouped fold {fold} {labelled.name}: {evaluate(truth, decided).line()}")
    for labelled in sets:
        q = evaluate(labelled.truth, match_all(labelled.listings, params), labelled.notes)
        print(f"\nshipped model on {labelled.name}: {q.line()}")
        print("| note | wants | shown (top 5) | notified |")
        print("|---|---|---|---|")
        for note, row in q.per_note.items():
            print(f"| {note} | {row['wants']} | {row['shown']:.2f} | {row['notified']:.2f} |")


if __name__ == "__main__":
    main()
