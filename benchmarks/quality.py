"""Cross-validated quality of the notify decision on labelled sets (never measured on training).

.venv/bin/python -m benchmarks.quality [FILE ...]   (default: both shared dev sets)

Prints, per fold: leave-one-set-out (fit on the other sets, measure on this one) and grouped
5-fold by want (a want's candidates are never split between fitting and measuring), plus the
per-note tables of each leave-one-set-out fold and of the shipped model on each set.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from freemarket.matching.core.engine import match_all
from freemarket.matching.core.learn import (
    Examples,
    Quality,
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
    held_out = []
    for i, held in enumerate(sets):
        rest = Examples.concat(p for j, p in enumerate(per_set) if j != i)
        if not len(rest.y):
            continue
        model = fit(rest, params.show)
        q = evaluate(held.truth, apply_model(per_set[i], model, params), held.notes)
        held_out.append((held.name, q))
        print(f"leave-one-set-out {held.name}: {q.line()}")
        # how far the targets are from the threshold's edge (the same fitted model)
        for t in (params.notify - 0.1, params.notify - 0.05, params.notify + 0.05):
            at = replace(params, notify=round(t, 2))
            near = evaluate(held.truth, apply_model(per_set[i], model, at), held.notes)
            print(f"    at notify threshold {at.notify}: {near.line()}")
    for i, labelled in enumerate(sets):
        ex = per_set[i]
        groups = np.array([w for _, w in ex.groups])
        for fold, (train, test) in enumerate(GroupKFold(n_splits=5).split(ex.px, ex.y, groups)):
            model = fit(ex.take(train), params.show)
            decided = apply_model(ex.take(test), model, params)
            wants = {w for _, w in (ex.groups[k] for k in test)}
            truth = {w: o for w, o in labelled.truth.items() if w in wants}
            print(f"grouped fold {fold} {labelled.name}: {evaluate(truth, decided).line()}")
    for name, q in held_out:
        print(f"\nheld out {name} (leave-one-set-out): {q.line()}")
        _per_note(q)
    for labelled in sets:
        q = evaluate(labelled.truth, match_all(labelled.listings, params), labelled.notes)
        print(f"\nshipped model on {labelled.name}: {q.line()}")
        _per_note(q)


def _per_note(q: Quality) -> None:
    print("| note | wants | shown (top 5) | notified |")
    print("|---|---|---|---|")
    for note, row in q.per_note.items():
        print(f"| {note} | {row['wants']} | {row['shown']:.2f} | {row['notified']:.2f} |")


if __name__ == "__main__":
    main()
