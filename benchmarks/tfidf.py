"""Our hashed TF-IDF (matching/core/vectorize.py) against scikit-learn's, same analyser, same run.

    flock /work/bench.lock .venv/bin/python -m benchmarks.tfidf --n 100000

scikit-learn's equivalent of `FeatureSpace.raw_matrix` + `weight_matrix` is `FeatureHasher`
(input_type="pair": our analyser already yields weighted keys, which `HashingVectorizer` with a
callable analyser cannot carry, since it counts tokens) followed by `TfidfTransformer` (smooth
idf, L2 norm: the same formula). Both are timed on the same corpus, and their vectors compared
(the hash functions differ, so rows are compared as sorted weight lists).

The incremental index needs two more things per new listing: its vector against the current
idf, and the document frequencies updated. `TfidfTransformer` keeps idf as a fitted array with
no partial fit, so keeping it current means recomputing idf over all 2**22 columns per listing;
both costs are printed next to ours.
"""

from __future__ import annotations

import argparse
import time
import zlib
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import TfidfTransformer

from benchmarks.corpus import generate
from freemarket.matching.core.text import analyze_field, load_lexicon
from freemarket.matching.core.vectorize import (
    N_FEATURES,
    CorpusStats,
    FeatureSpace,
    weight_matrix,
    weight_vector,
)


def _pairs(title: str, description: str) -> Iterator[tuple[str, float]]:
    lexicon = load_lexicon()
    for text, in_title in ((title, True), (description, False)):
        for key, weight, _label in analyze_field(text, lexicon, in_title):
            yield key, weight


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def batch(texts: list[tuple[str, str]]) -> tuple[sp.csr_matrix, FeatureHasher, TfidfTransformer]:
    """Vectorise a corpus both ways; print times and how far the vectors agree."""

    def ours() -> tuple[sp.csr_matrix, CorpusStats]:
        raw = FeatureSpace().raw_matrix(texts, workers=1)
        stats = CorpusStats.from_matrix(raw)
        return weight_matrix(raw, stats), stats

    hasher = FeatureHasher(n_features=N_FEATURES, input_type="pair", alternate_sign=False)
    tfidf = TfidfTransformer(norm="l2", smooth_idf=True, sublinear_tf=False)

    def theirs() -> sp.csr_matrix:
        raw = hasher.transform(_pairs(t, d) for t, d in texts)
        return tfidf.fit_transform(raw).astype(np.float32)

    (mine, _stats), t_ours = _timed(ours)
    sk, t_sk = _timed(theirs)
    print(f"vectorise {len(texts)} listings (one process, analysis included):")
    print(f"  ours (crc32 + CorpusStats + weight_matrix) {t_ours:7.2f} s")
    print(
        f"  scikit-learn (FeatureHasher + TfidfTransformer) {t_sk:7.2f} s  "
        f"ratio {t_sk / t_ours:.2f}"
    )
    # Hashing only, on pre-analysed keys: the part scikit-learn would really replace.
    analysed = [list(_pairs(t, d)) for t, d in texts]

    def ours_hash() -> sp.csr_matrix:
        ptr, cols, vals = [0], [], []
        ids: dict[str, int] = {}
        for pairs in analysed:
            for key, w in pairs:
                col = ids.get(key)
                if col is None:
                    col = ids[key] = zlib.crc32(key.encode("utf-8")) & (N_FEATURES - 1)
                cols.append(col)
                vals.append(w)
            ptr.append(len(cols))
        raw = sp.csr_matrix((vals, cols, ptr), shape=(len(analysed), N_FEATURES))
        raw.sum_duplicates()
        return weight_matrix(raw, CorpusStats.from_matrix(raw))

    def sk_hash() -> sp.csr_matrix:
        return tfidf.fit_transform(hasher.transform(analysed)).astype(np.float32)

    _, t_oh = _timed(ours_hash)
    _, t_sh = _timed(sk_hash)
    print(
        f"  hashing + weighting only: ours {t_oh:.2f} s, scikit-learn {t_sh:.2f} s, "
        f"ratio {t_sh / t_oh:.2f}"
    )
    same = sum(
        np.allclose(
            np.sort(mine.data[mine.indptr[i] : mine.indptr[i + 1]]),
            np.sort(sk.data[sk.indptr[i] : sk.indptr[i + 1]]),
            atol=1e-6,
        )
        for i in range(mine.shape[0])
    )
    print(f"  rows with the same weights: {same} of {mine.shape[0]}")
    return sk, hasher, tfidf


def single(texts: list[tuple[str, str]], fresh: list[tuple[str, str]]) -> None:
    """One new listing against the statistics of the corpus: vector, then df update."""
    space = FeatureSpace()
    raw = space.raw_matrix(texts, workers=1)
    stats = CorpusStats.from_matrix(raw)
    hasher = FeatureHasher(n_features=N_FEATURES, input_type="pair", alternate_sign=False)
    tfidf = TfidfTransformer().fit(hasher.transform(_pairs(t, d) for t, d in texts))
    ours_vec, ours_add, sk_vec, sk_add = [], [], [], []
    df = np.bincount(raw.indices, minlength=N_FEATURES).astype(np.float64)
    n_docs = raw.shape[0]
    for title, description in fresh:
        started = time.perf_counter()
        cols, vals = space.raw_vector(title, description)
        weight_vector(cols, vals, stats)
        ours_vec.append(time.perf_counter() - started)
        started = time.perf_counter()
        stats.add(cols)
        ours_add.append(time.perf_counter() - started)

        started = time.perf_counter()
        row = hasher.transform([_pairs(title, description)])
        tfidf.transform(row)
        sk_vec.append(time.perf_counter() - started)
        started = time.perf_counter()
        # no partial_fit: the new document's columns change df, idf is recomputed whole
        df[row.indices] += 1
        n_docs += 1
        tfidf.idf_ = np.log((1 + n_docs) / (1 + df)) + 1
        sk_add.append(time.perf_counter() - started)

    def p(values: list[float], q: float) -> float:
        return float(np.percentile(np.array(values) * 1000, q))

    print(f"one new listing against {len(texts)} (ms, p50 / p99):")
    print(f"  vector: ours {p(ours_vec, 50):.3f} / {p(ours_vec, 99):.3f}, ", end="")
    print(f"scikit-learn {p(sk_vec, 50):.3f} / {p(sk_vec, 99):.3f}")
    print(f"  df update: ours {p(ours_add, 50):.3f} / {p(ours_add, 99):.3f}, ", end="")
    print(f"scikit-learn (idf refit) {p(sk_add, 50):.3f} / {p(sk_add, 99):.3f}")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    texts = [(x.title, x.description) for x in generate(args.n)]
    fresh = [(x.title, x.description) for x in generate(args.queries, seed=7)]
    batch(texts)
    single(texts, fresh)


if __name__ == "__main__":
    main()
