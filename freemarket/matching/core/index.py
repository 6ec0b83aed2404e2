"""Incremental match index: add, remove and match one listing at a time."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from freemarket.matching.core import OFFER, OTHER_CATEGORY, WANT
from freemarket.matching.core.decide import Decision, Side, decide, relevance, rerank
from freemarket.matching.core.engine import (
    COMPUTED_BY,
    Listing,
    MatchCandidate,
    _gc_paused,
    city_key,
    explain_pair,
    scale_explanation,
)
from freemarket.matching.core.rules import (
    Sides,
    Thresholds,
    categories_match,
    pair_scores,
    pairs_allowed,
)
from freemarket.matching.core.vectorize import (
    N_FEATURES,
    CorpusStats,
    FeatureSpace,
    weight_matrix,
    weight_vector,
)

# Newly added documents wait in a small side segment; past this size they are merged into the
# shard's inverted index, so an add costs O(1) and a merge is amortised.
_PENDING_MAX = 2048

Vector = tuple[np.ndarray, np.ndarray]


class _Growable:
    """A numpy array with amortised O(1) append."""

    def __init__(self, dtype: type, fill: float | int | bool = 0) -> None:
        self._a = np.full(16, fill, dtype=dtype)
        self._fill = fill
        self.n = 0

    def append(self, value: float | int | bool) -> None:
        if self.n == self._a.size:
            grown = np.full(self._a.size * 2, self._fill, dtype=self._a.dtype)
            grown[: self.n] = self._a
            self._a = grown
        self._a[self.n] = value
        self.n += 1

    def view(self) -> np.ndarray:
        return self._a[: self.n]

    def extend(self, values: np.ndarray) -> None:
        need = self.n + values.size
        if need > self._a.size:
            grown = np.full(max(need, 2 * self._a.size), self._fill, dtype=self._a.dtype)
            grown[: self.n] = self._a[: self.n]
            self._a = grown
        self._a[self.n : need] = values
        self.n = need


@dataclass
class _Shard:
    """Listings of one (kind, category) with an inverted index over their vectors."""

    ids: _Growable = field(default_factory=lambda: _Growable(np.int64))
    users: _Growable = field(default_factory=lambda: _Growable(np.int64))
    city: _Growable = field(default_factory=lambda: _Growable(np.int64, -1))
    delivery: _Growable = field(default_factory=lambda: _Growable(np.bool_, False))
    lat: _Growable = field(default_factory=lambda: _Growable(np.float64, math.nan))
    lon: _Growable = field(default_factory=lambda: _Growable(np.float64, math.nan))
    alive: _Growable = field(default_factory=lambda: _Growable(np.bool_, False))
    vectors: list[Vector | None] = field(default_factory=list)
    # inverted index of rows [0, n_base): features sorted, postings of rows and weights
    feats: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    post_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    post_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    post_vals: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    n_base: int = 0
    _pending: sp.csr_matrix | None = None
    _pending_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))

    def append(self, x: Listing, city: int, vec: Vector) -> int:
        row = self.ids.n
        self.ids.append(x.id)
        self.users.append(x.user_id)
        self.city.append(city)
        self.delivery.append(bool(x.delivery))
        self.lat.append(math.nan if x.lat is None else x.lat)
        self.lon.append(math.nan if x.lon is None else x.lon)
        self.alive.append(True)
        self.vectors.append(vec)
        self._pending = None
        if row + 1 - self.n_base > _PENDING_MAX:
            self.reindex()
        return row

    def load(self, listings: list[Listing], cities: np.ndarray, matrix: sp.csr_matrix) -> None:
        """Fill an empty shard with many listings at once (rows of ``matrix``, float32)."""
        n = len(listings)
        self.ids.extend(np.fromiter((x.id for x in listings), np.int64, n))
        self.users.extend(np.fromiter((x.user_id for x in listings), np.int64, n))
        self.city.extend(cities)
        self.delivery.extend(np.fromiter((bool(x.delivery) for x in listings), bool, n))
        self.lat.extend(np.fromiter((_nan(x.lat) for x in listings), np.float64, n))
        self.lon.extend(np.fromiter((_nan(x.lon) for x in listings), np.float64, n))
        self.alive.extend(np.ones(n, dtype=bool))
        self.vectors.extend(_rows(matrix))
        self._index_matrix(matrix)

    def sides(self, rows: np.ndarray) -> Sides:
        """Rule columns of some rows."""
        return Sides(
            self.users.view()[rows],
            self.city.view()[rows],
            self.delivery.view()[rows],
            self.lat.view()[rows],
            self.lon.view()[rows],
        )

    def kill(self, row: int) -> None:
        self.alive.view()[row] = False
        self.vectors[row] = None

    def reindex(self) -> None:
        """Put every row into the inverted index (dropping removed rows' postings)."""
        rows, cols, vals = [], [], []
        for r, vec in enumerate(self.vectors):
            if vec is not None:
                rows.append(np.full(vec[0].size, r, dtype=np.int64))
                cols.append(vec[0])
                vals.append(vec[1])
        self.n_base = len(self.vectors)
        self._pending = None
        if not rows:
            self.feats = np.zeros(0, dtype=np.int32)
            self.post_ptr = np.zeros(1, dtype=np.int64)
            self.post_rows = np.zeros(0, dtype=np.int64)
            self.post_vals = np.zeros(0, dtype=np.float32)
            return
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        self._index_matrix(
            sp.csr_matrix((v, (r, c)), shape=(self.n_base, N_FEATURES)).astype(np.float32)
        )

    def _index_matrix(self, matrix: sp.csr_matrix) -> None:
        """Inverted index (postings per feature) of all rows, from their CSR matrix."""
        self.n_base = matrix.shape[0]
        self._pending = None
        csc = matrix.tocsc()  # one C pass: postings sorted by feature, then row
        counts = np.diff(csc.indptr)
        self.feats = np.flatnonzero(counts).astype(np.int32)
        self.post_ptr = np.r_[csc.indptr[self.feats], csc.indptr[-1]].astype(np.int64)
        self.post_rows = csc.indices.astype(np.int64)
        self.post_vals = csc.data.astype(np.float32)

    def scores(self, vec: Vector) -> np.ndarray:
        """Dot product of a vector with every row (dense array over rows)."""
        n = self.ids.n
        out = np.zeros(n, dtype=np.float64)
        cols, vals = vec
        if self.feats.size and cols.size:
            pos = np.searchsorted(self.feats, cols).clip(0, self.feats.size - 1)
            hit = self.feats[pos] == cols
            pos, qv = pos[hit], vals[hit]
            starts, ends = self.post_ptr[pos], self.post_ptr[pos + 1]
            lengths = ends - starts
            if lengths.sum():
                # all postings of the query's features, gathered without a Python loop
                offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
                idx = np.arange(lengths.sum()) + offsets
                out[: self.n_base] = np.bincount(
                    self.post_rows[idx],
                    weights=self.post_vals[idx] * np.repeat(qv, lengths),
                    minlength=self.n_base,
                )[: self.n_base]
        if n > self.n_base:
            out[self.n_base :] = self._pending_matrix() @ _dense_query(vec, self._pending_cols)
        return out

    def _pending_matrix(self) -> sp.csr_matrix:
        if self._pending is None:
            vecs = [v if v is not None else _EMPTY for v in self.vectors[self.n_base :]]
            self._pending_cols = np.unique(np.concatenate([v[0] for v in vecs]))
            local = [np.searchsorted(self._pending_cols, v[0]) for v in vecs]
            ptr = np.r_[0, np.cumsum([v[0].size for v in vecs])]
            self._pending = sp.csr_matrix(
                (np.concatenate([v[1] for v in vecs]), np.concatenate(local), ptr),
                shape=(len(vecs), self._pending_cols.size),
            )
        return self._pending


_EMPTY: Vector = (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _rows(matrix: sp.csr_matrix) -> list[Vector]:
    """(columns, values) views of every row of a CSR matrix."""
    idx, dat, ptr = matrix.indices, matrix.data, matrix.indptr.tolist()
    return [(idx[a:b], dat[a:b]) for a, b in itertools.pairwise(ptr)]


def _stack(vectors: list[Vector | None]) -> sp.csr_matrix:
    """One CSR row per vector."""
    vecs = [v if v is not None else _EMPTY for v in vectors]
    ptr = np.r_[0, np.cumsum([v[0].size for v in vecs])].astype(np.int64)
    return sp.csr_matrix(
        (_concat([v[1] for v in vecs], np.float32), _concat([v[0] for v in vecs], np.int32), ptr),
        shape=(len(vecs), N_FEATURES),
    )


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype)


def _dense_query(vec: Vector, cols: np.ndarray) -> np.ndarray:
    out = np.zeros(cols.size)
    if cols.size:
        pos = np.searchsorted(cols, vec[0]).clip(0, cols.size - 1)
        hit = cols[pos] == vec[0]
        out[pos[hit]] = vec[1][hit]
    return out


@dataclass
class _Entry:
    listing: Listing
    raw: Vector
    shard: tuple[str, str]
    row: int


class MatchIndex:
    """Listings indexed for matching one new item at a time.

    Document frequencies follow every add/remove; stored vectors keep the idf they were built
    with until ``refresh()`` (the drift is small, and ``match_all`` rebuilds everything anyway).
    After ``build`` or ``refresh`` the index gives exactly the scores of ``match_all``.
    """

    def __init__(self) -> None:
        self.space = FeatureSpace()
        self.stats = CorpusStats()
        self._entries: dict[int, _Entry] = {}
        self._shards: dict[tuple[str, str], _Shard] = {}
        self._cities: dict[str, int] = {}

    @classmethod
    def build(cls, listings: Iterable[Listing]) -> MatchIndex:
        """Index many listings at once (idf over all of them, like ``match_all``)."""
        index = cls()
        with _gc_paused():  # a million small objects, no cycles: see engine._gc_paused
            index._load(list({x.id: x for x in listings}.values()), None)  # last one per id wins
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, listing_id: object) -> bool:
        return listing_id in self._entries

    def _load(self, listings: list[Listing], raw: sp.csr_matrix | None) -> None:
        if raw is None:
            raw = self.space.raw_matrix([(x.title, x.description) for x in listings])
        self.stats = CorpusStats.from_matrix(raw)
        weighted = weight_matrix(raw, self.stats)
        raws = _rows(raw)
        self._entries, self._shards = {}, {}
        keys = [(x.kind, x.category) for x in listings]
        groups: dict[tuple[str, str], list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        for key, members in groups.items():
            rows = np.array(members, dtype=np.int64)
            shard = self._shards[key] = _Shard()
            part = [listings[i] for i in members]
            cities = np.fromiter((self._city(x.city) for x in part), np.int64, len(part))
            shard.load(part, cities, weighted[rows])
            for row, i in enumerate(members):
                self._entries[listings[i].id] = _Entry(listings[i], raws[i], key, row)

    def refresh(self) -> None:
        """Recompute idf and every stored vector from the current listings."""
        entries = list(self._entries.values())
        indptr = np.r_[0, np.cumsum([e.raw[0].size for e in entries])].astype(np.int64)
        raw = sp.csr_matrix(
            (
                _concat([e.raw[1] for e in entries], np.float64),
                _concat([e.raw[0] for e in entries], np.int32),
                indptr,
            ),
            shape=(len(entries), N_FEATURES),
        )
        with _gc_paused():
            self._load([e.listing for e in entries], raw)

    def _insert(self, x: Listing, raw: Vector, vec: Vector) -> None:
        key = (x.kind, x.category)
        shard = self._shards.setdefault(key, _Shard())
        city = self._city(x.city)
        cols, vals = vec
        row = shard.append(x, city, (cols, vals.astype(np.float32)))
        self._entries[x.id] = _Entry(x, raw, key, row)

    def _city(self, city: str | None) -> int:
        k = city_key(city)
        return -1 if k is None else self._cities.setdefault(k, len(self._cities))

    def add(self, listing: Listing) -> None:
        """Index a listing (replacing one with the same id)."""
        if listing.id in self._entries:
            self.remove(listing.id)
        raw = self.space.raw_vector(listing.title, listing.description)
        self.stats.add(raw[0])
        self._insert(listing, raw, weight_vector(raw[0], raw[1], self.stats))

    def remove(self, listing_id: int) -> None:
        """Drop a listing from the index (no error if absent)."""
        entry = self._entries.pop(listing_id, None)
        if entry is not None:
            self.stats.remove(entry.raw[0])
            self._shards[entry.shard].kill(entry.row)

    def _vector(self, listing: Listing) -> Vector:
        entry = self._entries.get(listing.id)
        if entry is not None and entry.listing == listing:
            shard = self._shards[entry.shard]
            vec = shard.vectors[entry.row]
            assert vec is not None
            return vec
        raw = self.space.raw_vector(listing.title, listing.description)
        cols, vals = weight_vector(raw[0], raw[1], self.stats)
        return cols, vals.astype(np.float32)

    def match(
        self, listing: Listing, params: Thresholds, *, explain: bool = True
    ) -> list[MatchCandidate]:
        """For a want, its best allowed offers; for an offer, the best wants it may serve."""
        vec = self._vector(listing)
        if listing.kind == WANT:
            keys = [
                k
                for k in self._shards
                if k[0] == OFFER and categories_match(listing.category, k[1])
            ]
        else:
            keys = [(WANT, listing.category), (WANT, OTHER_CATEGORY)]
        me = Sides(
            listing.user_id,
            self._city(listing.city) if city_key(listing.city) else -1,
            bool(listing.delivery),
            _nan(listing.lat),
            _nan(listing.lon),
        )
        top_k = params.top_k
        found: list[tuple[float, int, _Shard, int]] = []
        for key in dict.fromkeys(keys):
            shard = self._shards.get(key)
            if shard is None or shard.ids.n == 0:
                continue
            s = shard.scores(vec)
            # rules only on rows that pass the threshold: a few hundred, not the whole shard
            rows = np.flatnonzero(s >= params.show)
            rows = rows[shard.alive.view()[rows]]
            them = shard.sides(rows)
            want, offer = (me, them) if listing.kind == WANT else (them, me)
            rows = rows[pairs_allowed(want, offer, params.radius_km)]
            if rows.size > top_k:
                ids = shard.ids.view()[rows]
                rows = rows[np.lexsort((ids, -s[rows]))[:top_k]]
            found.extend((float(s[r]), int(shard.ids.view()[r]), shard, int(r)) for r in rows)
        found.sort(key=lambda t: (-t[0], t[1]))
        found = found[:top_k]
        # the stored scores, computed exactly as the batch computes them (rules.pair_scores)
        others = [shard.vectors[row] for _, _, shard, row in found]
        mine, theirs = _stack([vec]), _stack(others)
        n = len(found)
        if listing.kind == WANT:
            scores = pair_scores(mine, np.zeros(n, np.int64), theirs, np.arange(n))
        else:
            scores = pair_scores(theirs, np.arange(n), mine, np.zeros(n, np.int64))
        order = sorted(range(len(found)), key=lambda i: (-scores[i], found[i][1]))
        found = [found[i] for i in order if scores[i] >= params.show]
        scores = scores[[i for i in order if scores[i] >= params.show]]
        others_side = [
            Side(
                f[1],
                self._entries[f[1]].listing.title,
                f[2].vectors[f[3]][0],
                self._entries[f[1]].listing.description,
            )
            for f in found
        ]
        me_side = Side(listing.id, listing.title, vec[0], listing.description)
        if listing.kind == WANT:
            decisions = decide(
                me_side,
                others_side,
                scores.tolist(),
                lexicon=self.space.lexicon,
                threshold=params.notify,
                show=params.show,
                model_path=params.model_path,
            )
        else:
            # an offer's candidates are other people's wants: the pair's score is the same
            # from either side; the push is decided when the worker re-matches each want
            decisions = [
                Decision(float(r), 0.0, False)
                for other, score in zip(others_side, scores.tolist(), strict=True)
                for r in relevance(
                    other,
                    [me_side],
                    [score],
                    lexicon=self.space.lexicon,
                    show=params.show,
                    model_path=params.model_path,
                ).tolist()
            ]
        out = []
        for i in rerank([f[1] for f in found], np.array([d.score for d in decisions])):
            _, other_id, shard, row = found[i]
            d = decisions[i]
            if d.score < params.show:
                continue
            other = self._entries[other_id].listing
            want_x, offer_x = (listing, other) if listing.kind == WANT else (other, listing)
            other_vec = shard.vectors[row]
            assert other_vec is not None
            wv, ov = (vec, other_vec) if listing.kind == WANT else (other_vec, vec)
            expl = explain_pair(wv, ov, self.space, offer_x.title) if explain else []
            out.append(
                MatchCandidate(
                    want_x.id,
                    offer_x.id,
                    d.score,
                    COMPUTED_BY,
                    scale_explanation(expl, d.score, float(scores[i])),
                    d.confidence,
                    d.notify,
                    float(scores[i]),
                )
            )
        return out
