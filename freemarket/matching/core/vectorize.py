"""Hashed TF-IDF vectors whose document frequencies grow with the corpus (no frozen vocabulary).

Why not scikit-learn's FeatureHasher (the pair-input form of HashingVectorizer; our analyser
yields weighted keys, which a HashingVectorizer analyser cannot carry) and TfidfTransformer: the
formula is the same (smooth idf, L2 norm; `benchmarks/tfidf.py` finds equal rows up to the two
hash functions' different collisions), but the incremental index must add and remove listings
one at a time. TfidfTransformer has no partial fit, so keeping its idf current means recomputing
it over all 2**22 columns per listing: 130 ms a listing against 0.013 ms for CorpusStats.add,
and its per-call overhead makes one listing's vector 1.3 ms against 0.5 ms (p50, 100k corpus).
In bulk, FeatureHasher + TfidfTransformer alone are 0.79x our time, but our path analyses each
distinct field text once and is 1.85x faster end to end (16.3 s against 30.1 s for 100k
listings). Batch and index must give identical vectors, so one implementation serves both.
Figures and commands: docs/benchmarks.md, "TF-IDF: ours or scikit-learn's".
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from freemarket.matching.core.text import Lexicon, analyze_field, load_lexicon

# 2**22 buckets: a few million distinct terms hash with few collisions, and one int32 document
# frequency array is 16 MB.
N_FEATURES = 1 << 22
_MASK = N_FEATURES - 1


@dataclass
class FeatureSpace:
    """Maps analyser keys to hashed columns and remembers a readable label per column."""

    lexicon: Lexicon = field(default_factory=load_lexicon)
    _ids: dict[str, int] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    ngram_columns: set[int] = field(default_factory=set)

    def column(self, key: str, label: str) -> int:
        """Hashed column of a key (stable across processes: crc32, not hash())."""
        col = self._ids.get(key)
        if col is None:
            col = zlib.crc32(key.encode("utf-8")) & _MASK
            self._ids[key] = col
            if key.startswith("#"):
                self.ngram_columns.add(col)
            else:
                self.labels.setdefault(col, label)
        return col

    def field_entries(self, text: str, in_title: bool) -> tuple[list[int], list[float]]:
        """Hashed columns and weights of one field (columns may repeat on a hash collision)."""
        column = self.column
        cols: list[int] = []
        vals: list[float] = []
        for key, w, label in analyze_field(text, self.lexicon, in_title):
            cols.append(column(key, label))
            vals.append(w)
        return cols, vals

    def raw_vector(self, title: str, description: str) -> tuple[np.ndarray, np.ndarray]:
        """Sorted column indices and field-weighted sublinear tf of one listing (no idf yet)."""
        tc, tv = self.field_entries(title, True)
        dc, dv = self.field_entries(description, False)
        cols = np.array(tc + dc, dtype=np.int32)
        vals = np.array(tv + dv, dtype=np.float64)
        uniq, inverse = np.unique(cols, return_inverse=True)
        return uniq, np.bincount(inverse, weights=vals, minlength=uniq.size)

    def raw_matrix(
        self,
        texts: Sequence[tuple[str, str]],
        progress: Callable[[int, int], None] | None = None,
        *,
        workers: int | None = None,
    ) -> sp.csr_matrix:
        """Stack raw vectors of many (title, description) pairs into a CSR matrix.

        Each distinct field text is analysed once (titles and boiler-plate descriptions repeat
        a lot), in ``workers`` processes when there are many (default: one per core); rows are
        then assembled from the per-field pool without Python work per entry.
        """
        seen: tuple[dict[str, int], dict[str, int]] = ({}, {})
        fields: list[tuple[str, bool]] = []
        field_ids = np.empty(2 * len(texts), dtype=np.int64)
        for i, (title, description) in enumerate(texts):
            fid = seen[0].get(title)
            if fid is None:
                fid = seen[0][title] = len(fields)
                fields.append((title, True))
            field_ids[2 * i] = fid
            fid = seen[1].get(description)
            if fid is None:
                fid = seen[1][description] = len(fields)
                fields.append((description, False))
            field_ids[2 * i + 1] = fid
        del seen
        ptrs: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        done = 0
        for ptr, c, v, first in self._analyse(fields, workers):
            # keys in the order this chunk first met them: labels stay first-seen, as if serial
            for key, label in first:
                self.column(key, label)
            ptrs.append(ptr[1:] + sum(x.size for x in cols))
            cols.append(c)
            vals.append(v)
            done += ptr.size - 1
            if progress is not None:
                progress(min(len(texts), done * len(texts) // max(1, len(fields))), len(texts))
        ptr = np.concatenate([np.zeros(1, dtype=np.int64), *ptrs])
        raw = sp.csr_matrix(
            (_cat(vals, np.float64), _cat(cols, np.int32), ptr),
            shape=(len(fields), N_FEATURES),
        )
        del cols, vals
        # row i = title field + description field; a key in both (or a hash collision) is summed
        pairs = raw[field_ids]
        del raw
        lengths = np.diff(pairs.indptr)
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths[0::2] + lengths[1::2], out=indptr[1:])
        out = sp.csr_matrix((pairs.data, pairs.indices, indptr), shape=(len(texts), N_FEATURES))
        out.sum_duplicates()  # also sorts the column indices of every row
        return out

    def _analyse(self, fields: list[tuple[str, bool]], workers: int | None) -> Iterator[_Chunk]:
        """Analysed chunks of fields, in order; in a process pool when it pays."""
        chunks = [fields[i : i + _CHUNK] for i in range(0, len(fields), _CHUNK)]
        if len(fields) < _PARALLEL_MIN_FIELDS:
            workers = 1
        with fork_pool(workers) as pool:
            if pool is None:
                for chunk in chunks:
                    yield _analyse_fields(self.lexicon, chunk)
                return
            global _worker_lexicon
            _worker_lexicon = self.lexicon  # inherited by the forked workers, nothing pickled
            try:
                yield from pool.map(_analyse_in_worker, chunks)
            finally:
                _worker_lexicon = None


@contextmanager
def fork_pool(workers: int | None) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of ``workers`` forked processes (default: one per core, at most 4), or None.

    None (run in this process) when one worker is asked for or there is one core, when this
    process runs other threads (a forked copy of a lock another thread holds deadlocks;
    spawn/forkserver would re-import the caller's __main__ instead), or without fork. Tasks
    must be module-level functions reading state set in a module global before ``map``.
    """
    workers = min(os.cpu_count() or 1, 4) if workers is None else workers
    if (
        workers < 2
        or threading.active_count() > 1
        or "fork" not in multiprocessing.get_all_start_methods()
    ):
        yield None
        return
    # Frozen objects are skipped by the children's garbage collector, which would otherwise
    # write to every inherited object's header and so copy the caller's whole heap.
    gc.freeze()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool
    finally:
        gc.unfreeze()


# Fields per task: big enough to amortise pickling, small enough to balance the cores.
_CHUNK = 20_000
_PARALLEL_MIN_FIELDS = 60_000
_Chunk = tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[str, str]]]
_worker_lexicon: Lexicon | None = None


def _cat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _analyse_fields(lexicon: Lexicon, fields: list[tuple[str, bool]]) -> _Chunk:
    """Pool arrays (ptr, columns, weights) of some fields and their keys in first-seen order."""
    ids: dict[str, int] = {}
    first: list[tuple[str, str]] = []
    ptr = [0]
    cols: list[int] = []
    vals: list[float] = []
    for text, in_title in fields:
        for key, w, label in analyze_field(text, lexicon, in_title):
            col = ids.get(key)
            if col is None:
                col = ids[key] = zlib.crc32(key.encode("utf-8")) & _MASK
                first.append((key, label))
            cols.append(col)
            vals.append(w)
        ptr.append(len(cols))
    return (
        np.array(ptr, dtype=np.int64),
        np.array(cols, dtype=np.int32),
        np.array(vals, dtype=np.float64),
        first,
    )


def _analyse_in_worker(fields: list[tuple[str, bool]]) -> _Chunk:
    assert _worker_lexicon is not None
    return _analyse_fields(_worker_lexicon, fields)


@dataclass
class CorpusStats:
    """Document frequency per hashed column and document count; updated as listings come and go."""

    df: np.ndarray = field(default_factory=lambda: np.zeros(N_FEATURES, dtype=np.int32))
    n_docs: int = 0

    @classmethod
    def from_matrix(cls, raw: sp.csr_matrix) -> CorpusStats:
        """Statistics of a raw (un-weighted) document matrix."""
        df = np.bincount(raw.indices, minlength=N_FEATURES).astype(np.int32)
        return cls(df=df, n_docs=raw.shape[0])

    def add(self, cols: np.ndarray) -> None:
        """Count one more document containing these columns."""
        self.df[cols] += 1
        self.n_docs += 1

    def remove(self, cols: np.ndarray) -> None:
        """Forget one document containing these columns."""
        self.df[cols] -= 1
        self.n_docs -= 1

    def idf(self, cols: np.ndarray) -> np.ndarray:
        """Smoothed idf of some columns: ln((1 + N) / (1 + df)) + 1, as scikit-learn does."""
        return np.log((1.0 + self.n_docs) / (1.0 + self.df[cols])) + 1.0


def weight_matrix(raw: sp.csr_matrix, stats: CorpusStats) -> sp.csr_matrix:
    """Apply idf and L2-normalise every row of a raw matrix (float32 to halve memory)."""
    data = raw.data * stats.idf(raw.indices)
    row_of = np.repeat(np.arange(raw.shape[0]), np.diff(raw.indptr))
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=raw.shape[0]))
    norms[norms == 0] = 1.0
    data /= norms[row_of]
    return sp.csr_matrix(
        (data.astype(np.float32), raw.indices, raw.indptr), shape=raw.shape, copy=False
    )


def weight_vector(
    cols: np.ndarray, vals: np.ndarray, stats: CorpusStats
) -> tuple[np.ndarray, np.ndarray]:
    """Apply idf and L2-normalise one raw vector."""
    weighted = vals * stats.idf(cols)
    norm = float(np.sqrt(weighted @ weighted))
    return cols, (weighted / norm if norm > 0 else weighted)
