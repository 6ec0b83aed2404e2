"""A partitioned index (each holding a share of the listings) answers exactly as one index."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from freemarket.matching.core.engine import Listing, MatchCandidate
from freemarket.matching.core.index import MatchIndex, merge_hits
from freemarket.matching.params import default_thresholds
from tests.matching.core.test_engine import _corpus

PARAMS = dataclasses.replace(default_thresholds(), top_k=5)
SHARES = ({"bicycles"}, {"sports", "other"})


def _owner(categories: set[str]) -> Callable[[Listing], bool]:
    # `other` wants may meet every category: every partition holds them
    return lambda x: x.category in categories or (x.kind == "want" and x.category == "other")


def _answers(index: MatchIndex, parts: list[MatchIndex], x: Listing) -> tuple[list, list]:
    """What the single index says of a listing, and what the partitions say (merged)."""
    single = index.match(x, PARAMS)
    if x.kind == "want" and x.category == "other":
        merged: list[MatchCandidate] = merge_hits(
            x.id, [h for p in parts for h in p.hits(x, PARAMS)], PARAMS
        )
    else:
        [owner] = [p for p, share in zip(parts, SHARES, strict=True) if x.category in share]
        merged = owner.match(x, PARAMS)
    return single, merged


def _check(index: MatchIndex, parts: list[MatchIndex], listings: list[Listing]) -> int:
    compared = 0
    for x in listings:
        single, merged = _answers(index, parts, x)
        # the whole candidate: score, explanation, confidence, notify, cosine
        assert merged == single, x
        compared += len(single)
    return compared


def test_partitions_answer_exactly_as_one_index_through_changes() -> None:
    """Built, then listings added, edited, moved to another category and withdrawn."""
    listings = _corpus(400, seed=11)
    index = MatchIndex.build(listings)
    parts = [MatchIndex.build(iter(listings), owns=_owner(share)) for share in SHARES]
    # each partition holds its share only, while its statistics count everything
    other_wants = sum(1 for x in listings if x.kind == "want" and x.category == "other")
    assert sum(len(p) for p in parts) == len(index) + other_wants * (len(parts) - 1)
    assert all(p.stats.n_docs == index.stats.n_docs for p in parts)
    assert _check(index, parts, listings) > 100
    extra = [dataclasses.replace(x, id=x.id + 1000) for x in _corpus(60, seed=12)]
    changes: list[Listing] = [
        *extra,
        *(dataclasses.replace(x, title=x.title + " складной шлем") for x in listings[:30]),
        *(
            dataclasses.replace(x, category="sports" if x.category != "sports" else "bicycles")
            for x in listings[30:60]
        ),
    ]
    for x in changes:
        for i in (index, *parts):
            i.add(x)
    for gone in [x.id for x in listings[60:90]]:
        for i in (index, *parts):
            i.remove(gone)
    assert all(p.stats.n_docs == index.stats.n_docs for p in parts)
    assert all((p.stats.df == index.stats.df).all() for p in parts)
    current = {x.id: x for x in [*listings[90:], *changes]}
    assert _check(index, parts, list(current.values())) > 100
    for i in (index, *parts):
        i.refresh()
    assert _check(index, parts, list(current.values())) > 100
