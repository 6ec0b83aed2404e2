"""The bulk decision (``bulk``) gives exactly what ``decide`` gives one want at a time.

Every candidate pair of the batch on both dev sets and a synthetic corpus: the pair features
row for row, then relevance, confidence and push for every pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from benchmarks.corpus import generate
from freemarket.matching.core import bulk
from freemarket.matching.core.bulk import decide_bulk, pair_features_bulk
from freemarket.matching.core.decide import (
    Side,
    decide,
    load_attributes,
    load_model,
    pair_features,
)
from freemarket.matching.core.engine import Listing, VectorizedCorpus, match_corpus
from freemarket.matching.core.rules import pair_scores
from freemarket.matching.params import default_thresholds
from tests.matching.core.test_quality import DEV_SETS, dev_set

PARAMS = default_thresholds()


def _sets() -> list[tuple[str, Sequence[Listing]]]:
    return [(name, dev_set(name).listings) for name in DEV_SETS] + [
        ("synthetic", generate(4000, seed=11))
    ]


@pytest.fixture(scope="module", params=[name for name, _ in _sets()])
def candidates(request: pytest.FixtureRequest) -> tuple[VectorizedCorpus, np.ndarray, np.ndarray]:
    """The corpus and its batch candidate pairs (corpus rows), before any decision."""
    listings = dict(_sets())[request.param]
    corpus = VectorizedCorpus.build(listings)
    found = match_corpus(corpus, PARAMS, explain=False, decide_notify=False)
    row = {x.id: i for i, x in enumerate(corpus.listings)}
    w = np.array([row[c.want_id] for c in found], dtype=np.int64)
    o = np.array([row[c.offer_id] for c in found], dtype=np.int64)
    assert w.size > 100
    return corpus, w, o


def _side(corpus: VectorizedCorpus, r: int, want: bool) -> Side:
    x = corpus.listings[r]
    return Side(x.id, x.title, corpus.vector(r)[0], x.description if want else "")


def _by_want(w: np.ndarray) -> list[np.ndarray]:
    """Positions of the pairs of each want."""
    order = np.argsort(w, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(w[order])) + 1)


def test_pair_features_in_bulk_equal_pair_by_pair(
    candidates: tuple[VectorizedCorpus, np.ndarray, np.ndarray],
) -> None:
    corpus, w, o = candidates
    lexicon, classes = corpus.space.lexicon, load_attributes()
    want_rows, wi = np.unique(w, return_inverse=True)
    offer_rows, oi = np.unique(o, return_inverse=True)
    bulk = pair_features_bulk(
        [_side(corpus, r, True) for r in want_rows.tolist()],
        [_side(corpus, r, False) for r in offer_rows.tolist()],
        wi,
        oi,
        lexicon,
        classes,
    )
    one = np.zeros_like(bulk)
    for rows in _by_want(w):
        one[rows] = pair_features(
            _side(corpus, int(w[rows[0]]), True),
            [_side(corpus, r, False) for r in o[rows].tolist()],
            lexicon,
            classes,
        )
    assert np.array_equal(bulk, one)
    # not trivially equal: most features are set on some pair of every set
    assert (bulk.max(axis=0) > 0).sum() >= 10


def test_decisions_in_bulk_equal_decide_per_want(
    candidates: tuple[VectorizedCorpus, np.ndarray, np.ndarray],
) -> None:
    corpus, w, o = candidates
    cosines = pair_scores(corpus.matrix, w, corpus.matrix, o)
    ids = np.array([x.id for x in corpus.listings], dtype=np.int64)
    want_rows, wi = np.unique(w, return_inverse=True)
    offer_rows, oi = np.unique(o, return_inverse=True)
    px = pair_features_bulk(
        [_side(corpus, r, True) for r in want_rows.tolist()],
        [_side(corpus, r, False) for r in offer_rows.tolist()],
        wi,
        oi,
        corpus.space.lexicon,
        load_attributes(),
    )
    score, confidence, notify = decide_bulk(
        ids[w],
        ids[o],
        cosines,
        px,
        load_model(),
        threshold=PARAMS.notify,
        show=PARAMS.show,
    )
    expected = np.zeros((w.size, 3))
    for rows in _by_want(w):
        found = decide(
            _side(corpus, int(w[rows[0]]), True),
            [_side(corpus, r, False) for r in o[rows].tolist()],
            cosines[rows].tolist(),
            lexicon=corpus.space.lexicon,
            threshold=PARAMS.notify,
            show=PARAMS.show,
        )
        expected[rows] = [(d.score, d.confidence, d.notify) for d in found]
    assert np.array_equal(score, expected[:, 0])
    assert np.array_equal(confidence, expected[:, 1])
    assert np.array_equal(notify, expected[:, 2].astype(bool))
    assert notify.any() and (confidence > 0).sum() > notify.sum()


def test_blocks_of_pairs_give_the_same_rows(
    candidates: tuple[VectorizedCorpus, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Millions of pairs are processed in blocks; the block size changes no row."""
    corpus, w, o = candidates
    want_rows, wi = np.unique(w, return_inverse=True)
    offer_rows, oi = np.unique(o, return_inverse=True)

    def rows() -> np.ndarray:
        return pair_features_bulk(
            [_side(corpus, r, True) for r in want_rows.tolist()],
            [_side(corpus, r, False) for r in offer_rows.tolist()],
            wi,
            oi,
            corpus.space.lexicon,
            load_attributes(),
        )

    whole = rows()
    monkeypatch.setattr(bulk, "_CHUNK", 37)
    assert np.array_equal(rows(), whole)
