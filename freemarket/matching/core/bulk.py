"""``decide`` for every candidate pair of a batch at once: the same numbers, in bulk.

``decide.pair_features`` walks one pair at a time in Python; the batch recompute has hundreds
of thousands of pairs, and that walk was ~90 % of its time. Here each listing's facts (title
objects, words, targets, vector columns) are read once and every feature becomes a set test
done for all pairs together with sparse products:

- keys (analyser keys of titles) get integer ids; a side's key set is a row of a 0/1 matrix;
- ``decide._mentions(keys, others)`` is "some key of ``keys`` equals, or (long keys only) is
  within one edit of, some key of ``others``": a fixed relation ``F`` between keys, found once
  per batch (candidates by one-letter deletions, each checked with ``within_one_edit``), so it
  is the pair's ``(K_keys @ F) . K_others > 0``;
- vector-column tests ("the want's object is anywhere in the offer") are row products of
  column incidence matrices; per-word shares expand each pair into its words first.

``tests/matching/core/test_bulk.py`` holds every row equal to ``pair_features`` and every
decision equal to ``decide``'s on the dev sets and a synthetic corpus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from freemarket.matching.core.decide import (
    _FUZZY_HEAD_MIN,
    DECIDE_TOP,
    PAIR_FEATURES,
    NotifyModel,
    Side,
    _quantities,
    _quantity_conflict,
    _words,
)
from freemarket.matching.core.objects import N_FEATURES_MASK, column, excluded, title_facts
from freemarket.matching.core.text import Lexicon, within_one_edit

_N_COLUMNS = N_FEATURES_MASK + 1
# pairs per block of sparse row products: bounds the memory of the gathered rows
_CHUNK = 200_000
_F = {name: i for i, name in enumerate(PAIR_FEATURES)}
# features that are shares of words; every other one is 0 or 1
_SHARES = [_F[name] for name in ("want_coverage", "want_title_coverage", "offer_coverage")]
_FLAGS = [i for i in range(len(PAIR_FEATURES)) if i not in _SHARES]

# pair features as 0/1 flags (uint8) and shares (float64): a third of the bytes, for moving
# millions of rows between processes
PackedFeatures = tuple[np.ndarray, np.ndarray]


def pack_features(px: np.ndarray) -> PackedFeatures:
    """``pair_features`` rows in compact form (``unpack_features`` gives them back exactly)."""
    flags = px[:, _FLAGS].astype(np.uint8)
    if not np.array_equal(flags, px[:, _FLAGS]):
        raise ValueError("a pair feature other than the shares is not 0 or 1")
    return flags, px[:, _SHARES].copy()


def unpack_features(flags: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """The float64 rows that ``pack_features`` packed."""
    px = np.zeros((flags.shape[0], len(PAIR_FEATURES)))
    px[:, _FLAGS] = flags
    px[:, _SHARES] = shares
    return px


class _Vocabulary:
    """Integer ids of analyser keys, given as they are first seen."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}

    def rows(self, sets: Iterable[Iterable[str]]) -> sp.csr_matrix:
        """A 0/1 row per key set (the matrix is widened to the final vocabulary later)."""
        indptr, indices = [0], []
        for keys in sets:
            for k in keys:
                indices.append(self.ids.setdefault(k, len(self.ids)))
            indptr.append(len(indices))
        return _csr(indptr, indices, None)

    def fuzzy(self) -> sp.csr_matrix:
        """``F[k, o]``: ``decide._mentions({k}, {o})``, over every pair of known keys."""
        keys = list(self.ids)
        by_variant: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            # within one edit (insertion, deletion, substitution or swap) implies a shared
            # string among {k} and its one-letter deletions: the candidates to check
            for v in {k, *(k[:j] + k[j + 1 :] for j in range(len(k)))}:
                by_variant.setdefault(v, []).append(i)
        rows, cols = list(range(len(keys))), list(range(len(keys)))
        seen: set[tuple[int, int]] = set()
        for group in by_variant.values():
            if len(group) < 2:
                continue
            for a in group:
                k = keys[a]
                if len(k) < _FUZZY_HEAD_MIN or k[0] == "=":
                    continue
                for b in group:
                    o = keys[b]
                    if a == b or (a, b) in seen or abs(len(k) - len(o)) > 1:
                        continue
                    seen.add((a, b))
                    if within_one_edit(k, o):
                        rows.append(a)
                        cols.append(b)
        n = len(keys)
        return sp.csr_matrix(
            (np.ones(len(rows)), (np.asarray(rows), np.asarray(cols))), shape=(n, n)
        )


def _csr(indptr: list[int], indices: list[int], data: list[float] | None) -> sp.csr_matrix:
    n = max(indices, default=-1) + 1
    values = np.ones(len(indices)) if data is None else np.asarray(data, dtype=np.float64)
    m = sp.csr_matrix(
        (values, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(indptr) - 1, n),
    )
    m.sum_duplicates()
    return m


def _widen(m: sp.csr_matrix, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], n))


def _columns(sets: Sequence[np.ndarray]) -> sp.csr_matrix:
    """Rows over the hashed vector columns; a column named twice counts twice."""
    lengths = np.array([len(c) for c in sets], dtype=np.int64)
    indices = np.concatenate([np.asarray(c, dtype=np.int64) for c in sets]) if sets else []
    m = sp.csr_matrix(
        (np.ones(len(indices)), indices, np.r_[0, np.cumsum(lengths)]),
        shape=(len(sets), _N_COLUMNS),
    )
    m.sum_duplicates()
    return m


def _overlap(x: sp.csr_matrix, xi: np.ndarray, y: sp.csr_matrix, yi: np.ndarray) -> np.ndarray:
    """For each i, the sum over columns of ``x[xi[i]] * y[yi[i]]`` (non-negative entries)."""
    out = np.zeros(xi.size)
    for start in range(0, xi.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        prod = x[xi[part]].multiply(y[yi[part]]).tocsr()
        out[part] = np.asarray(prod.sum(axis=1)).ravel()
    return out


def _expand(lengths: np.ndarray, pair_side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pair repeated once per word of its side: (pair index, word position) arrays."""
    counts = lengths[pair_side]
    pair = np.repeat(np.arange(pair_side.size), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    return pair, np.arange(pair.size) - first


class _Facts:
    """What the features read of some listings, one row each, as matrices over keys/columns."""

    def __init__(self, sides: Sequence[Side], lexicon: Lexicon, vocab: _Vocabulary, want: bool):
        facts = [title_facts(s.title, lexicon) for s in sides]
        self.objects = vocab.rows(f.objects for f in facts)
        self.main = vocab.rows(f.main for f in facts)
        self.targets = vocab.rows(f.targets for f in facts)
        self.n_targets = np.array([len(f.targets) for f in facts])
        self.keys = vocab.rows(f.main | f.objects for f in facts)  # want keys
        self.title = vocab.rows(f.main | f.targets for f in facts)  # offer title
        words = [_words(f) for f in facts]
        self.n_words = np.array([len(x) for x in words], dtype=np.int64)
        self.word_start = np.r_[0, np.cumsum(self.n_words)]
        # each word's key id (into the vocabulary) and vector column, flat
        flat = [k for x in words for k in x]
        self.word_keys = np.array([vocab.ids.setdefault(k, len(vocab.ids)) for k in flat], int)
        self.word_columns = np.array([column(k) for k in flat], dtype=np.int64)
        self.cols = _columns([s.columns for s in sides])
        self.cols.data[:] = 1.0  # a set of columns, as ``pair_features`` reads it
        self.object_cols = _columns([np.array([column(k) for k in f.objects]) for f in facts])
        self.numbers = [_quantities(s.title) for s in sides]
        self.has_numbers = np.array([bool(q) for q in self.numbers], dtype=bool)
        self.unwanted = (
            vocab.rows(
                excluded(s.description, lexicon) - f.objects
                for s, f in zip(sides, facts, strict=True)
            )
            if want
            else None
        )

    def widen(self, n: int) -> None:
        """Give every key matrix the final vocabulary's width."""
        for name in ("objects", "main", "targets", "keys", "title", "unwanted"):
            m = getattr(self, name)
            if m is not None:
                setattr(self, name, _widen(m, n))


def pair_features_bulk(
    wants: Sequence[Side],
    offers: Sequence[Side],
    w: np.ndarray,
    o: np.ndarray,
    lexicon: Lexicon,
    classes: tuple[tuple[int, ...], ...],
) -> np.ndarray:
    """``pair_features`` rows of the pairs (``wants[w[i]]``, ``offers[o[i]]``), all at once."""
    n = w.size
    out = np.zeros((n, len(PAIR_FEATURES)))
    if n == 0:
        return out
    vocab = _Vocabulary()
    want_f = _Facts(wants, lexicon, vocab, want=True)
    offer_f = _Facts(offers, lexicon, vocab, want=False)
    nv = len(vocab.ids)
    want_f.widen(nv)
    offer_f.widen(nv)
    fuzzy = vocab.fuzzy()

    def mentions(keys: sp.csr_matrix, ki: np.ndarray, others: sp.csr_matrix, oi: np.ndarray):
        return _overlap((keys @ fuzzy).tocsr(), ki, others, oi) > 0

    head_title = mentions(want_f.objects, w, offer_f.main, o)
    head_anywhere = head_title | (_overlap(want_f.object_cols, w, offer_f.cols, o) > 0)
    head_match = mentions(want_f.objects, w, offer_f.objects, o) | mentions(
        offer_f.objects, o, want_f.objects, w
    )
    in_want_keys = mentions(offer_f.objects, o, want_f.keys, w)
    offer_head_in_want = in_want_keys | (_overlap(offer_f.object_cols, o, want_f.cols, w) > 0)
    out[:, _F["head_title"]] = head_title
    out[:, _F["head_anywhere"]] = head_anywhere
    out[:, _F["head_as_target"]] = ~head_title & mentions(want_f.objects, w, offer_f.targets, o)
    out[:, _F["offer_head_in_want"]] = offer_head_in_want
    out[:, _F["offer_head_is_target"]] = (
        mentions(offer_f.objects, o, want_f.targets, w) & ~in_want_keys
    )
    out[:, _F["attribute_conflict"]] = _attribute_conflicts(
        want_f.cols, w, offer_f.cols, o, classes
    )
    both_targets = (want_f.n_targets[w] > 0) & (offer_f.n_targets[o] > 0)
    out[:, _F["target_conflict"]] = both_targets & ~mentions(want_f.targets, w, offer_f.targets, o)
    # only pairs where both titles name some quantity can disagree on one
    numbered = np.flatnonzero(want_f.has_numbers[w] & offer_f.has_numbers[o])
    out[numbered, _F["number_conflict"]] = [
        _quantity_conflict(want_f.numbers[a], offer_f.numbers[b])
        for a, b in zip(w[numbered].tolist(), o[numbered].tolist(), strict=True)
    ]
    # the want's words found in the offer's columns, and in its title (``_mentions({k}, ...)``)
    pair, pos = _expand(want_f.n_words, w)
    word = want_f.word_start[w[pair]] + pos
    col_found = _key_column_in(want_f.word_columns[word], offer_f.cols, o[pair])
    title_found = _overlap(fuzzy, want_f.word_keys[word], offer_f.title, o[pair]) > 0
    out[:, _F["want_coverage"]] = _share(col_found, pair, want_f.n_words[w])
    out[:, _F["want_title_coverage"]] = _share(title_found, pair, want_f.n_words[w])
    # the offer's words the want names: in its columns or among its keys
    pair, pos = _expand(offer_f.n_words, o)
    word = offer_f.word_start[o[pair]] + pos
    named = _key_column_in(offer_f.word_columns[word], want_f.cols, w[pair]) | (
        _overlap(fuzzy, offer_f.word_keys[word], want_f.keys, w[pair]) > 0
    )
    out[:, _F["offer_coverage"]] = _share(named, pair, offer_f.n_words[o])
    out[:, _F["head_match"]] = head_match
    out[:, _F["head_modifier"]] = head_title & ~head_match & ~offer_head_in_want
    assert want_f.unwanted is not None
    out[:, _F["excluded"]] = mentions(want_f.unwanted, w, offer_f.title, o)
    return out


def _key_column_in(cols: np.ndarray, matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Whether column ``cols[i]`` is stored in row ``rows[i]`` of ``matrix`` (canonical)."""
    rows_of = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    stored = rows_of * _N_COLUMNS + matrix.indices  # sorted: rows in order, columns sorted
    wanted = rows.astype(np.int64) * _N_COLUMNS + cols
    at = np.minimum(np.searchsorted(stored, wanted), max(stored.size - 1, 0))
    return stored[at] == wanted if stored.size else np.zeros(wanted.size, dtype=bool)


def _share(found: np.ndarray, pair: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``decide._share`` per pair: found words over all words (0 without words)."""
    count = np.bincount(pair, weights=found, minlength=lengths.size)
    return np.divide(count, lengths, out=np.zeros(lengths.size), where=lengths > 0)


def _attribute_conflicts(
    want_cols: sp.csr_matrix,
    w: np.ndarray,
    offer_cols: sp.csr_matrix,
    o: np.ndarray,
    classes: tuple[tuple[int, ...], ...],
) -> np.ndarray:
    """``decide._attribute_conflict`` per pair: one class valued on both sides, differently."""
    values = sorted({v for c in classes for v in c})
    at = {v: i for i, v in enumerate(values)}
    want_values = (want_cols[:, values] > 0).toarray()
    offer_values = (offer_cols[:, values] > 0).toarray()
    out = np.zeros(w.size, dtype=bool)
    # in blocks of pairs: a dense row of class values is one byte per value (73) per pair
    for start in range(0, w.size, _CHUNK):
        part = slice(start, start + _CHUNK)
        mine, theirs = want_values[w[part]], offer_values[o[part]]
        for c in classes:
            idx = [at[v] for v in dict.fromkeys(c)]
            a, b = mine[:, idx], theirs[:, idx]
            out[part] |= a.any(axis=1) & b.any(axis=1) & ~(a & b).any(axis=1)
    return out


def decide_bulk(
    want_ids: np.ndarray,
    offer_ids: np.ndarray,
    cosines: np.ndarray,
    px: np.ndarray,
    model: NotifyModel,
    *,
    threshold: float,
    show: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``decide_on_features`` of every want's pairs at once: relevance, confidence, push.

    Pairs of one want share ``want_ids``; their best ``DECIDE_TOP`` by relevance (then the
    smaller offer id) get the model's confidence, as ``decide`` gives them.
    """
    n = want_ids.size
    rel = model.relevance(cosines, px, show) if n else np.zeros(0)
    confidence, notify = np.zeros(n), np.zeros(n, dtype=bool)
    if n == 0:
        return rel, confidence, notify
    order = np.lexsort((offer_ids, -rel, want_ids))
    ws = want_ids[order]
    start = np.r_[True, ws[1:] != ws[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank = np.arange(n) - first
    size = np.diff(np.r_[np.flatnonzero(start), n])[np.cumsum(start) - 1]
    picked = order[rank < DECIDE_TOP]
    r_sorted = rel[order]
    rank_p, size_p = rank[rank < DECIDE_TOP], size[rank < DECIDE_TOP]
    pos = np.flatnonzero(rank < DECIDE_TOP)
    # margin: the best over the next (or over 0 alone), the others against the best
    nxt = np.where(size_p > 1, r_sorted[np.minimum(pos + 1, n - 1)], 0.0)
    best = r_sorted[pos - rank_p]
    margin = np.where(rank_p == 0, r_sorted[pos] - nxt, r_sorted[pos] - best)
    x = np.column_stack([cosines[picked], px[picked], margin, (rank_p == 0).astype(float)])
    p = np.round(model.probability(x), 6)
    confidence[picked] = p
    notify[picked] = p >= threshold
    return rel, confidence, notify
