"""Fast paths (bulk, parallel vectorising and matching, bulk explanations) equal plain ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from freemarket.matching.core import engine, vectorize
from freemarket.matching.core.engine import (
    VectorizedCorpus,
    explain_pair,
    match_corpus,
    scale_explanation,
)
from freemarket.matching.core.vectorize import FeatureSpace
from tests.matching.core.test_engine import PARAMS, _corpus


def _texts(n: int) -> list[tuple[str, str]]:
    return [(x.title, x.description) for x in _corpus(n, seed=11)]


def test_raw_matrix_equals_stacked_raw_vectors() -> None:
    texts = _texts(200)
    matrix = FeatureSpace().raw_matrix(texts)
    space = FeatureSpace()
    for i, (title, description) in enumerate(texts):
        cols, vals = space.raw_vector(title, description)
        row = matrix[i]
        assert row.indices.tolist() == cols.tolist()
        assert np.allclose(row.data, vals, rtol=0, atol=1e-12)


def test_parallel_vectorising_equals_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = _texts(300)
    serial_space = FeatureSpace()
    serial = serial_space.raw_matrix(texts, workers=1)
    monkeypatch.setattr(vectorize, "_PARALLEL_MIN_FIELDS", 1)
    monkeypatch.setattr(vectorize, "_CHUNK", 37)
    parallel_space = FeatureSpace()
    parallel = parallel_space.raw_matrix(texts, workers=2)
    assert (serial != parallel).nnz == 0
    assert serial_space.labels == parallel_space.labels
    assert serial_space.ngram_columns == parallel_space.ngram_columns


def _key(c: engine.MatchCandidate) -> tuple[int, int]:
    return (c.want_id, c.offer_id)


def test_bulk_explanations_equal_pairwise() -> None:
    listings = _corpus(300, seed=17)
    corpus = VectorizedCorpus.build(listings)
    row = {x.id: i for i, x in enumerate(listings)}
    found = match_corpus(corpus, replace(PARAMS, top_k=5))
    assert found
    for c in found:
        w, o = row[c.want_id], row[c.offer_id]
        ref = explain_pair(corpus.vector(w), corpus.vector(o), corpus.space, listings[o].title)
        assert c.cosine is not None
        assert c.explanation == scale_explanation(ref, c.score, c.cosine)


def test_parallel_partitions_equal_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = VectorizedCorpus.build(_corpus(400, seed=19))
    serial = match_corpus(corpus, replace(PARAMS, top_k=5), workers=1)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_NNZ", 0)
    monkeypatch.setattr(engine, "_AHEAD", 1)  # tasks are submitted as results are taken
    parallel = match_corpus(corpus, replace(PARAMS, top_k=5), workers=2)
    assert serial == parallel


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    "chosen", [["bicycles", "sports", "other"], ["sports"], ["other"], ["other", "books", "sports"]]
)
def test_streamed_categories_equal_all_at_once(
    monkeypatch: pytest.MonkeyPatch, workers: int, chosen: list[str]
) -> None:
    """Each want category's candidates, streamed, are exactly the all-at-once match's."""
    listings = _corpus(500, seed=23)
    corpus = VectorizedCorpus.build(listings)
    params = replace(PARAMS, top_k=5)
    category = {x.id: x.category for x in listings}
    expected: dict[str, list[engine.MatchCandidate]] = {c: [] for c in chosen}
    for c in match_corpus(corpus, params, workers=1):
        if category[c.want_id] in expected:
            expected[category[c.want_id]].append(c)
    monkeypatch.setattr(engine, "_PARALLEL_MIN_NNZ", 0)
    monkeypatch.setattr(engine, "_AHEAD", 1)
    streamed = list(engine.match_by_want_category(corpus, params, chosen, workers=workers))
    # every chosen category once, in the order asked, `other` last; "books" has no listings
    assert [c for c, _ in streamed] == [c for c in chosen if c != "other"] + (
        ["other"] if "other" in chosen else []
    )
    assert dict(streamed) == expected
    assert sum(map(len, expected.values())) > 0
