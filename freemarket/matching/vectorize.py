"""Hashed TF-IDF vectors whose document frequencies grow with the corpus (no frozen vocabulary)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from freemarket.matching.text import Lexicon, analyze, load_lexicon

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

    def raw_vector(self, title: str, description: str) -> tuple[np.ndarray, np.ndarray]:
        """Sorted column indices and field-weighted sublinear tf of one listing (no idf yet)."""
        acc: dict[int, float] = {}
        for term in analyze(title, description, self.lexicon):
            col = self.column(term.key, term.label)
            acc[col] = acc.get(col, 0.0) + term.weight
        cols = np.fromiter(acc.keys(), dtype=np.int32, count=len(acc))
        vals = np.fromiter(acc.values(), dtype=np.float64, count=len(acc))
        order = np.argsort(cols)
        return cols[order], vals[order]

    def raw_matrix(
        self,
        texts: Sequence[tuple[str, str]],
        progress: Callable[[int, int], None] | None = None,
    ) -> sp.csr_matrix:
        """Stack raw vectors of many (title, description) pairs into a CSR matrix."""
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for i, (title, description) in enumerate(texts):
            c, v = self.raw_vector(title, description)
            cols.append(c)
            vals.append(v)
            indptr[i + 1] = indptr[i] + len(c)
            if progress is not None and (i + 1) % 10_000 == 0:
                progress(i + 1, len(texts))
        indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32)
        data = np.concatenate(vals) if vals else np.zeros(0)
        return sp.csr_matrix((data, indices, indptr), shape=(len(texts), N_FEATURES))


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
