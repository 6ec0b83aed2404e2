"""Incremental match index: add, remove and match one listing at a time."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from freemarket.matching.core import OFFER, OTHER_CATEGORY, WANT
from freemarket.matching.core.decide import (
    PAIR_FEATURES,
    Decision,
    Side,
    decide_on_features,
    load_attributes,
    pair_features,
    relevance,
    rerank,
)
from freemarket.matching.core.engine import (
    COMPUTED_BY,
    Listing,
    MatchCandidate,
    city_key,
    explain_pair,
    gc_paused,
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


class _ColumnLedger:
    """Feature columns of listings counted in the statistics but indexed elsewhere.

    A partition indexes only its share of the listings, yet its idf must be the whole
    marketplace's (or its scores would differ from a single index's). When another
    partition's listing changes or goes, its old columns leave the counts: they are kept here,
    in one int32 arena addressed by listing id, not one array object per listing.
    """

    def __init__(self) -> None:
        self._start = _Growable(np.int64, -1)  # by listing id; -1: not here
        self._length = _Growable(np.int32, 0)
        self._cols = _Growable(np.int32)
        self._live = 0  # columns of listings still here (the rest of the arena is garbage)
        self.count = 0

    def __contains__(self, listing_id: int) -> bool:
        return 0 <= listing_id < self._start.n and self._start.view()[listing_id] >= 0

    def _reserve(self, listing_id: int) -> None:
        if listing_id >= self._start.n:
            grow = listing_id + 1 - self._start.n
            self._start.extend(np.full(grow, -1, dtype=np.int64))
            self._length.extend(np.zeros(grow, dtype=np.int32))

    def put(self, listing_id: int, cols: np.ndarray) -> None:
        """Remember a listing's columns (it must not be here)."""
        self._reserve(listing_id)
        self._start.view()[listing_id] = self._cols.n
        self._length.view()[listing_id] = cols.size
        self._cols.extend(cols.astype(np.int32, copy=False))
        self._live += cols.size
        self.count += 1

    def put_many(self, ids: np.ndarray, matrix: sp.csr_matrix) -> None:
        """Remember the columns of many listings (rows of ``matrix``; none of them here)."""
        if ids.size == 0:
            return
        self._reserve(int(ids.max()))
        lengths = np.diff(matrix.indptr)
        self._start.view()[ids] = self._cols.n + matrix.indptr[:-1]
        self._length.view()[ids] = lengths
        self._cols.extend(matrix.indices.astype(np.int32, copy=False))
        self._live += int(lengths.sum())
        self.count += ids.size

    def pop(self, listing_id: int) -> np.ndarray | None:
        """Forget a listing; its columns, or None when it was not here."""
        if listing_id not in self:
            return None
        start = int(self._start.view()[listing_id])
        cols = self._cols.view()[start : start + int(self._length.view()[listing_id])].copy()
        self._start.view()[listing_id] = -1
        self._live -= cols.size
        self.count -= 1
        if self._cols.n > 2 * max(self._live, 1 << 16):
            self._compact()
        return cols

    def _compact(self) -> None:
        ids = np.flatnonzero(self._start.view() >= 0)
        starts, lengths = self._start.view()[ids], self._length.view()[ids].astype(np.int64)
        offsets = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        kept = self._cols.view()[np.arange(int(lengths.sum())) + offsets]
        self._cols = _Growable(np.int32)
        self._cols.extend(kept)
        self._start.view()[ids] = np.cumsum(lengths) - lengths

    def nbytes(self) -> int:
        """Memory held (the arena's capacity and the id tables)."""
        return sum(g._a.nbytes for g in (self._start, self._length, self._cols))


# listings vectorised at a time while a partition builds: bounds the raw rows held at once
_BUILD_CHUNK = 100_000


def _batched(items: Iterable[Listing], size: int) -> Iterator[list[Listing]]:
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


@dataclass(frozen=True, slots=True)
class Hit:
    """One offer found for a want in one index (a partition), with what the merge needs.

    Everything that depends on the pair alone is computed where the offer is indexed; what
    depends on the want's whole list (the top k, the ranking, the push) is ``merge_hits``'s.
    """

    retrieval: float  # the score that found it (postings sum): picks the top k, as match does
    offer_id: int
    cosine: float  # the stored cosine (rules.pair_scores)
    features: tuple[float, ...]  # its decide.pair_features row
    explanation: list[dict[str, str | float]]  # shared terms, weights of the cosine


def merge_hits(want_id: int, hits: Iterable[Hit], params: Thresholds) -> list[MatchCandidate]:
    """A want's candidates from the hits of every index that holds some of its offers.

    Equal to ``MatchIndex.match`` of an index holding all those offers: the same top k by
    retrieval score, then the decision taken on the whole list.
    """
    found = sorted(hits, key=lambda h: (-h.retrieval, h.offer_id))[: params.top_k]
    found = [
        h for h in sorted(found, key=lambda h: (-h.cosine, h.offer_id)) if h.cosine >= params.show
    ]
    ids = [h.offer_id for h in found]
    px = np.array([h.features for h in found], dtype=np.float64).reshape(
        len(found), len(PAIR_FEATURES)
    )
    decisions = decide_on_features(
        ids,
        [h.cosine for h in found],
        px,
        threshold=params.notify,
        show=params.show,
        model_path=params.model_path,
    )
    out = []
    for i in rerank(ids, np.array([d.score for d in decisions])):
        h, d = found[i], decisions[i]
        if d.score < params.show:
            continue
        out.append(
            MatchCandidate(
                want_id,
                h.offer_id,
                d.score,
                COMPUTED_BY,
                scale_explanation(h.explanation, d.score, h.cosine),
                d.confidence,
                d.notify,
                h.cosine,
            )
        )
    return out


@dataclass(slots=True)
class _Entry:
    listing: Listing
    raw: Vector
    shard: tuple[str, str]
    row: int


_Found = tuple[float, int, "_Shard", int]  # (retrieval score, other listing's id, shard, row)


class MatchIndex:
    """Listings indexed for matching one new item at a time.

    Document frequencies follow every add/remove; stored vectors keep the idf they were built
    with until ``refresh()`` (the drift is small, and ``match_all`` rebuilds everything anyway).
    After ``build`` or ``refresh`` the index gives exactly the scores of ``match_all``.

    A partitioned index (``owns``) holds vectors and postings only for the listings it owns,
    yet counts every listing it is given in its statistics (the others in a ``_ColumnLedger``),
    so its vectors and scores are those of one index over everything.
    """

    def __init__(self, owns: Callable[[Listing], bool] | None = None) -> None:
        self.space = FeatureSpace()
        self.stats = CorpusStats()
        self.owns = owns
        self._entries: dict[int, _Entry] = {}
        self._foreign = _ColumnLedger()
        self._shards: dict[tuple[str, str], _Shard] = {}
        self._cities: dict[str, int] = {}

    @classmethod
    def build(
        cls, listings: Iterable[Listing], *, owns: Callable[[Listing], bool] | None = None
    ) -> MatchIndex:
        """Index many listings at once (idf over all of them, like ``match_all``).

        With ``owns`` only the owned listings are indexed; ``listings`` (ids unique) are then
        consumed in chunks, so a partition never holds every listing's vector at once.
        """
        index = cls(owns)
        with gc_paused():  # a million small objects, no cycles: see engine.gc_paused
            if owns is None:
                # last one per id wins
                index._load(list({x.id: x for x in listings}.values()), None)
            else:
                index._load_partition(listings, owns)
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, listing_id: object) -> bool:
        return listing_id in self._entries or (
            isinstance(listing_id, int) and listing_id in self._foreign
        )

    def memory(self) -> dict[str, int]:
        """Listings held and the bytes of the main arrays (for capacity figures)."""
        shards = self._shards.values()
        postings = sum(s.post_rows.nbytes + s.post_vals.nbytes + s.feats.nbytes for s in shards)
        vectors = sum(v[0].nbytes + v[1].nbytes for s in shards for v in s.vectors if v is not None)
        return {
            "owned": len(self._entries),
            "foreign": self._foreign.count,
            "postings_bytes": postings,
            "vector_bytes": vectors,
            "ledger_bytes": self._foreign.nbytes(),
        }

    def _load_partition(self, listings: Iterable[Listing], owns: Callable[[Listing], bool]) -> None:
        owned: list[Listing] = []
        raws: list[sp.csr_matrix] = []
        df = np.zeros(N_FEATURES, dtype=np.int64)
        n_docs = 0
        for chunk in _batched(listings, _BUILD_CHUNK):
            # in listing order, as a single index analyses them: column labels stay first-seen
            raw = self.space.raw_matrix([(x.title, x.description) for x in chunk])
            df += np.bincount(raw.indices, minlength=N_FEATURES)
            n_docs += len(chunk)
            mine = np.fromiter((owns(x) for x in chunk), bool, len(chunk))
            theirs = np.flatnonzero(~mine)
            self._foreign.put_many(
                np.fromiter((chunk[i].id for i in theirs.tolist()), np.int64, theirs.size),
                raw[theirs],
            )
            rows = np.flatnonzero(mine)
            raws.append(raw[rows])
            owned.extend(chunk[i] for i in rows.tolist())
        raw_owned = sp.vstack(raws, format="csr") if raws else sp.csr_matrix((0, N_FEATURES))
        self._load(owned, raw_owned, CorpusStats(df=df.astype(np.int32), n_docs=n_docs))

    def _load(
        self, listings: list[Listing], raw: sp.csr_matrix | None, stats: CorpusStats | None = None
    ) -> None:
        if raw is None:
            raw = self.space.raw_matrix([(x.title, x.description) for x in listings])
        self.stats = stats or CorpusStats.from_matrix(raw)
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
        # a partition's statistics also count listings it does not hold: they are current
        stats = None if self.owns is None else CorpusStats(self.stats.df.copy(), self.stats.n_docs)
        with gc_paused():
            self._load([e.listing for e in entries], raw, stats)

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
        """Index a listing (replacing one with the same id); a partition counts others' only.

        Adding a listing exactly as it is held already changes nothing (its vector keeps the
        idf it was weighted with, as every other stored vector does until ``refresh``).
        """
        entry = self._entries.get(listing.id)
        if entry is not None and entry.listing == listing:
            return
        self.remove(listing.id)
        raw = self.space.raw_vector(listing.title, listing.description)
        self.stats.add(raw[0])
        if self.owns is None or self.owns(listing):
            self._insert(listing, raw, weight_vector(raw[0], raw[1], self.stats))
        else:
            self._foreign.put(listing.id, raw[0])

    def remove(self, listing_id: int) -> None:
        """Drop a listing from the index (no error if absent)."""
        entry = self._entries.pop(listing_id, None)
        if entry is not None:
            self.stats.remove(entry.raw[0])
            self._shards[entry.shard].kill(entry.row)
            return
        cols = self._foreign.pop(listing_id)
        if cols is not None:
            self.stats.remove(cols)

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

    def _retrieve(self, listing: Listing, vec: Vector, params: Thresholds) -> list[_Found]:
        """The best ``top_k`` allowed listings of the other side here, by retrieval score."""
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
        found: list[_Found] = []
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
        return found[:top_k]

    def hits(self, want: Listing, params: Thresholds, *, explain: bool = True) -> list[Hit]:
        """A want's best offers in this index, for ``merge_hits`` (here or across partitions)."""
        vec = self._vector(want)
        found = self._retrieve(want, vec, params)
        if not found:
            return []
        n = len(found)
        # the stored scores, computed exactly as the batch computes them (rules.pair_scores)
        others = [shard.vectors[row] for _, _, shard, row in found]
        cosines = pair_scores(
            _stack([vec]), np.zeros(n, np.int64), _stack(others), np.arange(n)
        ).tolist()
        # below the show threshold a hit can only be dropped by the merge: no features for it
        shown = [i for i in range(n) if cosines[i] >= params.show]
        px = pair_features(
            Side(want.id, want.title, vec[0], want.description),
            [
                Side(found[i][1], self._entries[found[i][1]].listing.title, others[i][0])  # type: ignore[index]
                for i in shown
            ],
            self.space.lexicon,
            load_attributes(),
        )
        features = {i: tuple(px[j].tolist()) for j, i in enumerate(shown)}
        none = (0.0,) * len(PAIR_FEATURES)
        out = []
        for i, (s, offer_id, _, _) in enumerate(found):
            other_vec = others[i]
            assert other_vec is not None
            expl = (
                explain_pair(vec, other_vec, self.space, self._entries[offer_id].listing.title)
                if explain and i in features
                else []
            )
            out.append(Hit(s, offer_id, cosines[i], features.get(i, none), expl))
        return out

    def _shown_wants(
        self, offer: Listing, params: Thresholds
    ) -> tuple[Vector, list[_Found], np.ndarray]:
        """An offer's vector, its best wants above the show threshold and their cosines."""
        vec = self._vector(offer)
        found = self._retrieve(offer, vec, params)
        others = [shard.vectors[row] for _, _, shard, row in found]
        n = len(found)
        scores = pair_scores(_stack(others), np.arange(n), _stack([vec]), np.zeros(n, np.int64))
        order = sorted(range(n), key=lambda i: (-scores[i], found[i][1]))
        kept = [i for i in order if scores[i] >= params.show]
        return vec, [found[i] for i in kept], scores[kept]

    def wants_for(self, offer: Listing, params: Thresholds) -> list[tuple[int, float]]:
        """An offer's wants above the show threshold by cosine, with it, best first.

        Every want ``match`` gives the offer (and, but for rounding, no other: a relevance is
        between the show threshold and the cosine), without the relevance, decision and
        explanation: the worker only needs to know which wants to re-match, and re-matching a
        want decides on its whole list.
        """
        _, found, scores = self._shown_wants(offer, params)
        return [(f[1], score) for f, score in zip(found, scores.tolist(), strict=True)]

    def match(
        self, listing: Listing, params: Thresholds, *, explain: bool = True
    ) -> list[MatchCandidate]:
        """For a want, its best allowed offers; for an offer, the best wants it may serve."""
        if listing.kind == WANT:
            return merge_hits(listing.id, self.hits(listing, params, explain=explain), params)
        vec, found, scores = self._shown_wants(listing, params)
        me_side = Side(listing.id, listing.title, vec[0])
        # an offer's candidates are other people's wants: the pair's score is the same from
        # either side; the push is decided when the worker re-matches each want
        decisions = [
            Decision(float(r), 0.0, False)
            for f, score in zip(found, scores.tolist(), strict=True)
            for r in relevance(
                Side(
                    f[1],
                    self._entries[f[1]].listing.title,
                    f[2].vectors[f[3]][0],  # type: ignore[index]
                    self._entries[f[1]].listing.description,
                ),
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
            other_vec = shard.vectors[row]
            assert other_vec is not None
            expl = explain_pair(other_vec, vec, self.space, listing.title) if explain else []
            out.append(
                MatchCandidate(
                    other_id,
                    listing.id,
                    d.score,
                    COMPUTED_BY,
                    scale_explanation(expl, d.score, float(scores[i])),
                    d.confidence,
                    d.notify,
                    float(scores[i]),
                )
            )
        return out
