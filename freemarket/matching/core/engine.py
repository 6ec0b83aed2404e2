"""Matching engine: WANT -> OFFER candidates by TF-IDF cosine, in batch.

The rules and the score are those of ``rules`` (shared with the incremental index).
"""

from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from freemarket.matching.core import OFFER, OTHER_CATEGORY, WANT
from freemarket.matching.core.bulk import (
    PackedFeatures,
    decide_bulk,
    pack_features,
    pair_features_bulk,
    unpack_features,
)
from freemarket.matching.core.decide import (
    DEFAULT_MODEL_PATH,
    PAIR_FEATURES,
    Side,
    load_attributes,
    load_model,
)
from freemarket.matching.core.rules import (
    Sides,
    Thresholds,
    categories_match,
    pair_scores,
    pairs_allowed,
    wanting_category,
)
from freemarket.matching.core.text import normalize, tokenize, word_key
from freemarket.matching.core.vectorize import (
    CorpusStats,
    FeatureSpace,
    fork_pool,
    weight_matrix,
)

COMPUTED_BY = "tfidf-v1"
EXPLAIN_TERMS = 5
# n-gram contributions get their own line only when they carry a real part of the score (a typo
# match); otherwise they just echo words already listed.
_NGRAM_EXPLAIN_SHARE = 0.5
_EARTH_KM = 6371.0  # for the bounding box; the distance rule itself is in rules
# One thread per product: the installed sparse_dot_topn gains nothing from more (measured), and
# an OpenMP pool started in this process would hang the forked partition workers. Cores are
# used by matching partitions in parallel processes instead (``_map_partitions``).
N_THREADS = 1

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Listing:
    """An active item as the matching core sees it."""

    id: int
    user_id: int
    kind: str  # "offer" | "want"
    category: str
    city: str | None
    title: str
    description: str
    delivery: bool = False
    lat: float | None = None
    lon: float | None = None


# Not frozen: a frozen dataclass sets each field through object.__setattr__, 1.8 us per
# candidate against 0.5 us (timeit, 8 fields), ~6 s of a 1M recompute's 4.5M candidates. It
# was never hashable anyway (its explanation is a list); nothing assigns to its fields.
@dataclass(slots=True)
class MatchCandidate:
    """A scored WANT -> OFFER pair with the terms that made it."""

    want_id: int
    offer_id: int
    score: float
    computed_by: str
    explanation: list[dict[str, str | float]] = field(default_factory=list)
    # the notify decision (``decide``): the model's confidence, and whether to push it
    confidence: float = 0.0
    notify: bool = False
    # the TF-IDF cosine that found the pair (``score`` is it re-ranked); None: equal to score
    cosine: float | None = None


def city_key(city: str | None) -> str | None:
    """Comparable form of a city name (case, ё, spacing and dashes folded)."""
    if not city:
        return None
    key = " ".join(normalize(city).replace("-", " ").split())
    return key or None


# --------------------------------------------------------------------------- explanations


def explain_pair(
    want_vec: tuple[np.ndarray, np.ndarray],
    offer_vec: tuple[np.ndarray, np.ndarray],
    space: FeatureSpace,
    offer_title: str,
) -> list[dict[str, str | float]]:
    """Shared terms of two vectors, largest contribution first (weights sum to <= score)."""
    shared, wi, oi = np.intersect1d(
        want_vec[0], offer_vec[0], assume_unique=True, return_indices=True
    )
    contrib = want_vec[1][wi].astype(np.float64) * offer_vec[1][oi]
    by_label: dict[str, float] = {}
    ngram_cols: list[int] = []
    ngram_sum = 0.0
    for col, c in zip(shared.tolist(), contrib.tolist(), strict=True):
        if col in space.ngram_columns:
            ngram_cols.append(col)
            ngram_sum += c
        else:
            label = space.labels.get(col, "?")
            by_label[label] = by_label.get(label, 0.0) + c
    if ngram_sum >= _NGRAM_EXPLAIN_SHARE * float(contrib.sum()):
        # Typo matches share only n-grams: name them after the offer's title word that holds most.
        label = _ngram_label(set(ngram_cols), space, offer_title)
        by_label[label] = by_label.get(label, 0.0) + ngram_sum
    ranked = sorted(by_label.items(), key=lambda kv: (-kv[1], kv[0]))[:EXPLAIN_TERMS]
    return [{"term": t, "weight": round(w, 4)} for t, w in ranked if w > 0]


# pairs per chunk of the bulk explanation: bounds the memory of the gathered rows
_EXPLAIN_CHUNK = 200_000


def explain_pairs(
    matrix: sp.csr_matrix,
    want_rows: np.ndarray,
    offer_rows: np.ndarray,
    space: FeatureSpace,
    listings: Sequence[Listing],
    factors: Sequence[float | None] | None = None,
) -> list[list[dict[str, str | float]]]:
    """``explain_pair`` for many (want row, offer row) pairs of one matrix, in bulk.

    The shared features of every pair come from one sparse elementwise product; grouping by
    label and ranking are array operations, so Python only builds the output dicts. Given
    ``factors`` (a pair's score over its cosine, None: unscaled), each pair's terms are
    ``scale_explanation``'s, built once instead of built and then copied scaled.
    """
    out: list[list[dict[str, str | float]]] = []
    for start in range(0, want_rows.size, _EXPLAIN_CHUNK):
        part = slice(start, start + _EXPLAIN_CHUNK)
        scale = None if factors is None else factors[part]
        out.extend(
            _explain_chunk(matrix, want_rows[part], offer_rows[part], space, listings, scale)
        )
    return out


def _explain_chunk(
    matrix: sp.csr_matrix,
    want_rows: np.ndarray,
    offer_rows: np.ndarray,
    space: FeatureSpace,
    listings: Sequence[Listing],
    factors: Sequence[float | None] | None,
) -> list[list[dict[str, str | float]]]:
    n = want_rows.size
    if n == 0:
        return []
    if factors is None:
        factors = [None] * n
    a = matrix[want_rows].astype(np.float64)
    prod = a.multiply(matrix[offer_rows]).tocsr()  # float64, as explain_pair computes it
    prod.sum_duplicates()
    pair = np.repeat(np.arange(n), np.diff(prod.indptr))
    cols, contrib = prod.indices, prod.data
    uniq, inv = np.unique(cols, return_inverse=True)
    # labels of the (few) distinct shared columns; ngram columns get label id -1
    label_of: dict[str, int] = {}
    col_label = np.fromiter(
        (
            -1
            if c in space.ngram_columns
            else label_of.setdefault(space.labels.get(c, "?"), len(label_of))
            for c in uniq.tolist()
        ),
        np.int64,
        uniq.size,
    )
    names = list(label_of)
    label = col_label[inv]
    is_ngram = label < 0
    total = np.bincount(pair, weights=contrib, minlength=n)
    ngram_sum = np.bincount(pair[is_ngram], weights=contrib[is_ngram], minlength=n)
    words = ~is_ngram
    # sum per (pair, label): two columns may carry one label (a concept and a typo of it)
    key = pair[words] * max(1, len(names)) + label[words]
    keys, kinv = np.unique(key, return_inverse=True)
    weight = np.bincount(kinv, weights=contrib[words])
    k_pair, k_label = keys // max(1, len(names)), keys % max(1, len(names))
    # ties by label text, as explain_pair sorts
    text_rank = np.empty(len(names), dtype=np.int64)
    text_rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    result: list[list[dict[str, str | float]]] = [[] for _ in range(n)]
    typo = np.flatnonzero((ngram_sum > 0) & (ngram_sum >= _NGRAM_EXPLAIN_SHARE * total))
    if typo.size:
        # rare (typo matches): name the n-grams after a title word, pair by pair
        typo_set = set(typo.tolist())
        by_pair: dict[int, dict[str, float]] = {int(p): {} for p in typo.tolist()}
        for p, lb, wt in zip(k_pair.tolist(), k_label.tolist(), weight.tolist(), strict=True):
            if p in typo_set:
                by_pair[p][names[lb]] = by_pair[p].get(names[lb], 0.0) + wt
        for p in typo.tolist():
            lo, hi = prod.indptr[p], prod.indptr[p + 1]
            ngram_cols = {int(c) for c in cols[lo:hi][is_ngram[lo:hi]]}
            name = _ngram_label(ngram_cols, space, listings[int(offer_rows[p])].title)
            terms = by_pair[p]
            terms[name] = terms.get(name, 0.0) + float(ngram_sum[p])
            ranked = sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:EXPLAIN_TERMS]
            result[p] = [
                {"term": t, "weight": _scaled(round(wt, 4), factors[p])}
                for t, wt in ranked
                if wt > 0
            ]
        keep = ~np.isin(k_pair, typo)
        k_pair, k_label, weight = k_pair[keep], k_label[keep], weight[keep]
    order = np.lexsort((text_rank[k_label], -weight, k_pair))
    k_pair, k_label, weight = k_pair[order], k_label[order], weight[order]
    starts = np.r_[0, np.flatnonzero(k_pair[1:] != k_pair[:-1]) + 1]
    rank = np.arange(k_pair.size) - np.repeat(starts, np.diff(np.r_[starts, k_pair.size]))
    sel = (rank < EXPLAIN_TERMS) & (weight > 0)
    # np.round half-even on the binary value vs round(): equal except at exact .5 ties, which
    # a sum of float products essentially never hits
    rounded = np.round(weight[sel], 4)
    for p, name, wt in zip(
        k_pair[sel].tolist(),
        [names[i] for i in k_label[sel].tolist()],
        rounded.tolist(),
        strict=True,
    ):
        factor = factors[p]
        result[p].append({"term": name, "weight": wt if factor is None else round(wt * factor, 4)})
    return result


def _scaled(weight: float, factor: float | None) -> float:
    """A rounded term weight scaled as ``scale_explanation`` scales it (None: as it is)."""
    return weight if factor is None else round(weight * factor, 4)


def _ngram_label(cols: set[int], space: FeatureSpace, title: str) -> str:
    from freemarket.matching.core.text import char_ngrams

    best, best_hits = "~", 0
    for token in tokenize(title):
        hits = sum(space.column("#" + g, token) in cols for g in char_ngrams(word_key(token)))
        if hits > best_hits:
            best, best_hits = token, hits
    return "~" + best


# --------------------------------------------------------------------------- batch


@dataclass
class _Meta:
    """Column arrays describing listings, aligned with matrix rows."""

    ids: np.ndarray
    users: np.ndarray
    city: np.ndarray  # int code, -1 when unknown
    delivery: np.ndarray
    lat: np.ndarray  # nan when unknown
    lon: np.ndarray

    def sides(self, rows: np.ndarray) -> Sides:
        """Rule columns of some rows."""
        return Sides(
            self.users[rows], self.city[rows], self.delivery[rows], self.lat[rows], self.lon[rows]
        )

    @classmethod
    def of(cls, listings: Sequence[Listing], codes: dict[str, int]) -> _Meta:
        """Arrays for a list of listings; city codes are assigned in ``codes``."""

        by_raw: dict[str | None, int] = {}  # raw spelling -> code: city_key once per spelling

        def code(city: str | None) -> int:
            c = by_raw.get(city)
            if c is None:
                key = city_key(city)
                c = by_raw[city] = -1 if key is None else codes.setdefault(key, len(codes))
            return c

        return cls(
            ids=np.fromiter((x.id for x in listings), np.int64, len(listings)),
            users=np.fromiter((x.user_id for x in listings), np.int64, len(listings)),
            city=np.fromiter((code(x.city) for x in listings), np.int64, len(listings)),
            delivery=np.fromiter((bool(x.delivery) for x in listings), bool, len(listings)),
            lat=np.fromiter((_nan(x.lat) for x in listings), np.float64, len(listings)),
            lon=np.fromiter((_nan(x.lon) for x in listings), np.float64, len(listings)),
        )


def _nan(x: float | None) -> float:
    return math.nan if x is None else float(x)


def _topn(a: sp.csr_matrix, b: sp.csr_matrix, top_n: int, threshold: float) -> sp.coo_matrix:
    """Best ``top_n`` columns per row of a @ b.T above threshold (sparse, multithreaded)."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return sp.coo_matrix((a.shape[0], b.shape[0]))
    top_n = max(1, min(top_n, b.shape[0]))
    res = sp_matmul_topn(a, b.T.tocsr(), top_n=top_n, threshold=threshold, n_threads=N_THREADS)
    return res.tocoo()


def _order(group: np.ndarray, scores: np.ndarray, tiebreak: np.ndarray) -> np.ndarray:
    """Argsort by group asc, score desc, tiebreak asc (``np.lexsort`` of the three, faster).

    One sort of a packed (group, quantised score) key; only the rare runs of equal keys are
    then ordered by ``tiebreak``. Scores closer than 2**-31 count as equal (they come from
    float32 products, whose resolution is ~1e-7, and are rounded to 1e-6 for output).
    """
    if group.size == 0:
        return np.zeros(0, dtype=np.int64)
    quant = np.round((1.0 - np.clip(scores, 0.0, 1.0)) * _SCORE_QUANT).astype(np.int64)
    key = (np.asarray(group, dtype=np.int64) << 32) | quant
    order = np.argsort(key, kind="quicksort")
    k = key[order]
    tied = np.zeros(k.size, dtype=bool)
    same = k[1:] == k[:-1]
    tied[1:] |= same
    tied[:-1] |= same
    if same.any():
        # identical listings give identical scores: such runs can be long, sort them all at once
        pos = np.flatnonzero(tied)
        sub = order[pos]
        order[pos] = sub[np.lexsort((tiebreak[sub], key[sub]))]
    return order


_SCORE_QUANT = float(1 << 31)


def _select_topk(w: np.ndarray, o_ids: np.ndarray, scores: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the best top_k entries per want (score desc, then offer id asc)."""
    if w.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = _order(w, scores, o_ids)
    ws = w[order]
    starts = np.r_[0, np.flatnonzero(ws[1:] != ws[:-1]) + 1]
    rank = np.arange(ws.size) - np.repeat(starts, np.diff(np.r_[starts, ws.size]))
    return order[rank < top_k]


def _pairs_for_partition(
    wx: sp.csr_matrix,
    wm: _Meta,
    ox: sp.csr_matrix,
    om: _Meta,
    top_k: int,
    threshold: float,
    radius_km: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(want row, offer row, score) of the best allowed pairs between wants and offers."""
    # A want's owner may own some of its best offers; asking for that many extra keeps top-k exact.
    own = _own_offer_counts(wm.users, om.users)
    top_n = top_k + int(own.max(initial=0))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # Renumber the partition's hashed columns densely: products over 2**22 columns would spend
    # their time building index arrays of that length.
    wx, ox = _compact_columns(wx, ox)

    def run(w_rows: np.ndarray, o_rows: np.ndarray, n: int) -> None:
        res = _topn(wx[w_rows], ox[o_rows], n, threshold)
        parts.append((w_rows[res.row], o_rows[res.col], res.data))

    deliver = np.flatnonzero(om.delivery)
    if deliver.size:
        run(np.arange(wx.shape[0]), deliver, top_n)
    local = np.flatnonzero(~om.delivery)
    by_city = _group(om.city[local])
    has_geo = ~np.isnan(om.lat[local])
    for code, w_rows in _group(wm.city).items():
        if code >= 0 and code in by_city:
            run(w_rows, local[by_city[code]], top_n)
        geo_w = w_rows[~np.isnan(wm.lat[w_rows])]
        if geo_w.size and has_geo.any():
            # offers of the same known city were paired above; the rest need the distance
            near = local[has_geo & ((om.city[local] != code) | (code < 0))]
            near = near[
                _in_bbox(wm.lat[geo_w], wm.lon[geo_w], om.lat[near], om.lon[near], radius_km)
            ]
            if near.size:
                run(geo_w, near, near.size)  # exact: the distance rule is checked per pair below
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    w = np.concatenate([p[0] for p in parts])
    o = np.concatenate([p[1] for p in parts])
    s = np.concatenate([p[2] for p in parts]).astype(np.float64)
    keep = np.flatnonzero(s >= threshold)
    w, o, s = w[keep], o[keep], s[keep]
    ok = pairs_allowed(wm.sides(w), om.sides(o), radius_km)
    w, o, s = w[ok], o[ok], s[ok]
    keep = _select_topk(w, om.ids[o], s, top_k)
    return w[keep], o[keep], s[keep]


def _compact_columns(*mats: sp.csr_matrix) -> tuple[sp.csr_matrix, ...]:
    cols = np.unique(np.concatenate([m.indices for m in mats]))
    return tuple(
        sp.csr_matrix(
            (m.data, np.searchsorted(cols, m.indices).astype(np.int32), m.indptr),
            shape=(m.shape[0], max(1, cols.size)),
        )
        for m in mats
    )


def _own_offer_counts(want_users: np.ndarray, offer_users: np.ndarray) -> np.ndarray:
    users, counts = np.unique(offer_users, return_counts=True)
    pos = np.searchsorted(users, want_users).clip(0, max(users.size - 1, 0))
    if users.size == 0:
        return np.zeros(want_users.size, dtype=np.int64)
    return np.where(users[pos] == want_users, counts[pos], 0)


def _group(values: np.ndarray) -> dict[int, np.ndarray]:
    order = np.argsort(values, kind="stable")
    vals = values[order]
    cuts = np.flatnonzero(vals[1:] != vals[:-1]) + 1
    return {
        int(g[0]): idx
        for g, idx in zip(np.split(vals, cuts), np.split(order, cuts), strict=True)
        if g.size
    }


def _in_bbox(
    lat: np.ndarray, lon: np.ndarray, olat: np.ndarray, olon: np.ndarray, radius_km: float
) -> np.ndarray:
    dlat = math.degrees(radius_km / _EARTH_KM)
    dlon = dlat / max(math.cos(math.radians(float(np.abs(lat).max()) + dlat)), 1e-6)
    return (
        (olat >= lat.min() - dlat)
        & (olat <= lat.max() + dlat)
        & (olon >= lon.min() - dlon)
        & (olon <= lon.max() + dlon)
    )


@dataclass
class VectorizedCorpus:
    """Listings with their weighted vectors and the statistics that weighted them."""

    listings: list[Listing]
    matrix: sp.csr_matrix
    stats: CorpusStats
    space: FeatureSpace
    _columns: tuple[_Meta, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    @classmethod
    def build(
        cls,
        listings: Sequence[Listing],
        *,
        stats: CorpusStats | None = None,
        space: FeatureSpace | None = None,
        progress: ProgressFn | None = None,
    ) -> VectorizedCorpus:
        """Vectorise listings; idf from ``stats`` if given, else from these listings."""
        space = space or FeatureSpace()
        raw = space.raw_matrix([(x.title, x.description) for x in listings], progress)
        stats = stats or CorpusStats.from_matrix(raw)
        return cls(list(listings), weight_matrix(raw, stats), stats, space)

    def columns(self) -> tuple[_Meta, np.ndarray, np.ndarray]:
        """Rule columns, kinds and categories of the rows, computed once."""
        # callers matching category by category would rebuild them from every listing each time
        if self._columns is None:
            meta = _Meta.of(self.listings, {})
            kinds = np.array([x.kind for x in self.listings])
            cats = np.array([x.category for x in self.listings])
            self._columns = (meta, kinds, cats)
        return self._columns

    def vector(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Weighted vector of one row."""
        a, b = self.matrix.indptr[row], self.matrix.indptr[row + 1]
        return self.matrix.indices[a:b], self.matrix.data[a:b]


def match_corpus(
    corpus: VectorizedCorpus,
    params: Thresholds,
    *,
    categories: Iterable[str] | None = None,
    explain: bool = True,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    decide_notify: bool = True,
) -> list[MatchCandidate]:
    """Top-k offers per want of a vectorised corpus, optionally for some categories only.

    Each want's best candidates get the notify decision (``decide``) unless ``decide_notify``
    is off (fitting a new model). Large corpora match their category partitions in
    ``workers`` forked processes (default: one per core, see ``vectorize.fork_pool``); the
    result does not depend on it.
    """
    offers = _offer_categories(corpus)
    wanted = sorted(offers if categories is None else set(categories))
    found = list(_match_offer_categories(corpus, params, wanted, progress, workers, decide_notify))
    # "other" wants collect candidates from every partition: keep their overall best k.
    return _finish(corpus, found, params, explain)


def match_by_want_category(
    corpus: VectorizedCorpus,
    params: Thresholds,
    want_categories: Sequence[str],
    *,
    explain: bool = True,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> Iterator[tuple[str, list[MatchCandidate]]]:
    """``match_corpus``'s candidates one want category at a time, each once, ``other`` last.

    Wants of a category only meet offers of that category, so a category's candidates are
    final as soon as its offers are matched: the caller can store them and drop them before
    the next one is built. The wants of ``other`` meet every category; their pairs are held
    as arrays until every offer category is done. Per want, the candidates are exactly those
    of ``match_corpus`` (the same products, the same top-k and decision).
    """
    _, _, cats = corpus.columns()
    offers = _offer_categories(corpus)
    with_other = OTHER_CATEGORY in want_categories
    own = [c for c in want_categories if c != OTHER_CATEGORY]
    matched = [c for c in own if c in offers]
    extra = sorted(offers - set(matched)) if with_other else []
    results = _match_offer_categories(corpus, params, matched + extra, progress, workers, True)
    held: list[_Pairs] = []
    for category in own:
        if category not in offers:
            yield category, []
            continue
        pairs = next(results)
        mine = cats[pairs[0]] == category
        if with_other:
            held.append(_subset(pairs, ~mine))
        yield category, _finish(corpus, [_subset(pairs, mine)], params, explain)
    for pairs in results:  # the offer categories only the wants of `other` needed
        held.append(_subset(pairs, cats[pairs[0]] == OTHER_CATEGORY))
    if with_other:
        yield OTHER_CATEGORY, _finish(corpus, held, params, explain)


def _offer_categories(corpus: VectorizedCorpus) -> set[str]:
    _, kinds, cats = corpus.columns()
    return set(cats[kinds == OFFER].tolist())


def _match_offer_categories(
    corpus: VectorizedCorpus,
    params: Thresholds,
    categories: list[str],
    progress: ProgressFn | None,
    workers: int | None,
    decide_notify: bool,
) -> Iterator[_Pairs]:
    """The pairs of each offer category (with every want that may meet it), in order."""
    meta, kinds, cats = corpus.columns()
    wants_all = np.flatnonzero(kinds == WANT)
    offers_all = np.flatnonzero(kinds == OFFER)
    tasks = []
    for category in categories:
        o_rows = offers_all[cats[offers_all] == category]
        w_rows = wants_all[wanting_category(cats[wants_all], category)]
        tasks.append((o_rows, w_rows))
    state = (
        corpus.matrix,
        meta,
        params.top_k,
        params.show,
        params.radius_km,
        corpus if decide_notify else None,
    )
    for done, pairs in enumerate(_map_partitions(state, tasks, workers)):
        yield pairs
        if progress is not None:
            progress(done + 1, len(categories))


def _subset(pairs: _Pairs, mask: np.ndarray) -> _Pairs:
    w, o, s, cosines, packed = pairs
    kept = None if packed is None else (packed[0][mask], packed[1][mask])
    return w[mask], o[mask], s[mask], cosines[mask], kept


def _finish(
    corpus: VectorizedCorpus, found: list[_Pairs], params: Thresholds, explain: bool
) -> list[MatchCandidate]:
    """Candidates of some partitions' pairs: each want's best k over them, decided, explained."""
    if not found:
        return []
    meta, _, _ = corpus.columns()
    w = np.concatenate([f[0] for f in found])
    o = np.concatenate([f[1] for f in found])
    s = np.concatenate([f[2] for f in found])
    keep = _select_topk(w, meta.ids[o], s, params.top_k)
    cosines = np.concatenate([f[3] for f in found])[keep]
    packed = [f[4] for f in found if f[4] is not None]
    px = (
        unpack_features(
            np.concatenate([p[0] for p in packed])[keep],
            np.concatenate([p[1] for p in packed])[keep],
        )
        if packed
        else None
    )
    return _candidates(corpus, meta.ids, w[keep], o[keep], cosines, px, params, explain)


_PartitionState = tuple[sp.csr_matrix, "_Meta", int, float, float, "VectorizedCorpus | None"]
# (want row, offer row, retrieval score, stored cosine, packed pair features or None)
_Pairs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, PackedFeatures | None]
# Below this many stored entries a process pool costs more than it saves. The partitions' pair
# features (reading titles) made each task heavier: at 100k listings (1.65M entries) the forked
# workers now take 3/4 of the CPU time, with no more CPU in total than one process.
_PARALLEL_MIN_NNZ = 500_000
_partition_state: _PartitionState | None = None


def _match_partition_rows(state: _PartitionState, o_rows: np.ndarray, w_rows: np.ndarray) -> _Pairs:
    """Pairs of one category partition, in corpus rows, with their cosines and features.

    The pair features (``bulk``) are computed here, in the partition's worker process, for
    the pairs above the show threshold: they depend on the pair alone, and reading titles is
    the costly part of the decision, so it runs on every core.
    """
    matrix, meta, top_k, threshold, radius_km, corpus = state
    if not (o_rows.size and w_rows.size):
        empty = np.zeros(0, dtype=np.int64)
        w, o, s = empty, empty, np.zeros(0)
    else:
        w, o, s = _pairs_for_partition(
            matrix[w_rows],
            _take(meta, w_rows),
            matrix[o_rows],
            _take(meta, o_rows),
            top_k,
            threshold,
            radius_km,
        )
        w, o = w_rows[w], o_rows[o]
    cosines = pair_scores(matrix, w, matrix, o)
    if corpus is None:
        return w, o, s, cosines, None
    px = np.zeros((w.size, len(PAIR_FEATURES)))
    shown = np.flatnonzero(cosines >= threshold)
    px[shown] = _pair_features(corpus, w[shown], o[shown])
    return w, o, s, cosines, pack_features(px)


def _match_in_worker(task: tuple[np.ndarray, np.ndarray]) -> _Pairs:
    assert _partition_state is not None
    return _match_partition_rows(_partition_state, *task)


def _map_partitions(
    state: _PartitionState, tasks: list[tuple[np.ndarray, np.ndarray]], workers: int | None
) -> Iterator[_Pairs]:
    """Results of every partition task, in order; in forked processes when it pays."""
    global _partition_state
    if state[0].nnz < _PARALLEL_MIN_NNZ or len(tasks) < 2:
        workers = 1
    with fork_pool(workers) as pool:
        if pool is None:
            for task in tasks:
                yield _match_partition_rows(state, *task)
            return
        _partition_state = state  # the forked workers inherit it: the matrix is not copied
        try:
            # The products (sparse_dot_topn holds the GIL) run on every core this way. Only a
            # few tasks are submitted ahead: a caller that stores each result before taking
            # the next (a recompute) would otherwise receive and hold every partition's pairs.
            queue = iter(tasks)
            ahead = deque(pool.submit(_match_in_worker, t) for t in islice(queue, _AHEAD))
            while ahead:
                done = ahead.popleft().result()
                for task in islice(queue, 1):
                    ahead.append(pool.submit(_match_in_worker, task))
                yield done
        finally:
            _partition_state = None


# partition tasks in flight at once: enough to keep fork_pool's workers (at most 4) busy
_AHEAD = 4


def _take(meta: _Meta, rows: np.ndarray) -> _Meta:
    return _Meta(*(getattr(meta, f)[rows] for f in meta.__dataclass_fields__))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic objects.

    Each allocation burst would otherwise trigger full collections that walk every live
    object (the listings, the candidates built so far): quadratic work for no garbage.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _candidates(
    corpus: VectorizedCorpus,
    ids: np.ndarray,
    w: np.ndarray,
    o: np.ndarray,
    cosines: np.ndarray,
    px: np.ndarray | None,
    params: Thresholds,
    explain: bool,
) -> list[MatchCandidate]:
    """MatchCandidates of (want row, offer row) pairs, scored and decided; ``ids`` are row ids.

    ``cosines`` are the pairs' stored cosines (``pair_scores``). Given the pair features
    ``px``, the stored score is the pair's relevance (``decide``): the cosine re-ranked by
    object agreement. Without them (fitting a new model) it is the cosine.
    """
    kept = cosines >= params.show
    w, o, cosines = w[kept], o[kept], cosines[kept]
    scores = cosines
    confidence = np.zeros(w.size)
    notify = np.zeros(w.size, dtype=bool)
    if px is not None:
        model = load_model(Path(params.model_path) if params.model_path else DEFAULT_MODEL_PATH)
        scores, confidence, notify = decide_bulk(
            ids[w], ids[o], cosines, px[kept], model, threshold=params.notify, show=params.show
        )
        kept = scores >= params.show
        w, o, scores, cosines = w[kept], o[kept], scores[kept], cosines[kept]
        confidence, notify = confidence[kept], notify[kept]
    want_ids, offer_ids = ids[w], ids[o]
    order = _order(np.unique(want_ids, return_inverse=True)[1], scores, offer_ids)
    w, o, want_ids, offer_ids, scores, cosines, confidence, notify = (
        x[order] for x in (w, o, want_ids, offer_ids, scores, cosines, confidence, notify)
    )
    score_list, cosine_list = scores.tolist(), cosines.tolist()
    with gc_paused():
        # Scaled while built (``scale_explanation``'s arithmetic): building every term's dict
        # and then a scaled copy of it was 2.6 of the 19 s the parent process ran at 200k.
        expl = (
            explain_pairs(
                corpus.matrix,
                w,
                o,
                corpus.space,
                corpus.listings,
                [_factor(sc, cos) for sc, cos in zip(score_list, cosine_list, strict=True)],
            )
            if explain
            else [[] for _ in range(w.size)]
        )
        return [
            MatchCandidate(wid, oid, sc, COMPUTED_BY, ex, cf, nt, cos)
            for wid, oid, sc, cos, ex, cf, nt in zip(
                want_ids.tolist(),
                offer_ids.tolist(),
                score_list,
                cosine_list,
                expl,
                confidence.tolist(),
                notify.tolist(),
                strict=True,
            )
        ]


def _factor(score: float, cosine: float) -> float | None:
    """What ``scale_explanation`` multiplies a pair's term weights by (None: unscaled)."""
    return None if score == cosine or cosine <= 0 else score / cosine


def scale_explanation(
    explanation: list[dict[str, str | float]], score: float, cosine: float
) -> list[dict[str, str | float]]:
    """Term weights of a pair scaled from its cosine to its stored score (they sum to it)."""
    factor = _factor(score, cosine)
    if factor is None:
        return explanation
    return [{**e, "weight": _scaled(float(e["weight"]), factor)} for e in explanation]


def _pair_features(corpus: VectorizedCorpus, w: np.ndarray, o: np.ndarray) -> np.ndarray:
    """``decide.pair_features`` rows of (want row, offer row) pairs, all at once (``bulk``)."""
    listings = corpus.listings
    want_rows, wi = np.unique(w, return_inverse=True)
    offer_rows, oi = np.unique(o, return_inverse=True)
    wants = [
        Side(listings[r].id, listings[r].title, corpus.vector(r)[0], listings[r].description)
        for r in want_rows.tolist()
    ]
    offers = [
        Side(listings[r].id, listings[r].title, corpus.vector(r)[0]) for r in offer_rows.tolist()
    ]
    return pair_features_bulk(wants, offers, wi, oi, corpus.space.lexicon, load_attributes())


def match_all(
    listings: Sequence[Listing],
    params: Thresholds,
    *,
    explain: bool = True,
    progress: ProgressFn | None = None,
) -> list[MatchCandidate]:
    """Vectorise all listings and return the best ``top_k`` offers (>= threshold) per want."""
    corpus = VectorizedCorpus.build(listings)
    return match_corpus(corpus, params, explain=explain, progress=progress)


def partition_listings(listings: Iterable[Listing], category: str) -> list[Listing]:
    """The listings one category partition needs: its offers, its wants and all ``other`` wants."""
    return [
        x
        for x in listings
        if x.category == category or (x.kind == WANT and categories_match(x.category, category))
    ]


def match_partition(
    listings: Sequence[Listing],
    category: str,
    params: Thresholds,
    *,
    stats: CorpusStats | None = None,
    explain: bool = True,
) -> list[MatchCandidate]:
    """Match one category on its own (e.g. on another worker).

    ``listings`` may be the whole corpus or just ``partition_listings(...)``. Pass the corpus
    ``stats`` to get exactly the scores of ``match_all``; without them idf comes from the
    partition. Wants of ``other`` get this partition's best k: merge partitions with
    ``merge_candidates`` (their confidence is then that of the partition's own list).
    """
    part = partition_listings(listings, category)
    corpus = VectorizedCorpus.build(part, stats=stats)
    return match_corpus(corpus, params, categories=[category], explain=explain)


def merge_candidates(candidates: Iterable[MatchCandidate], top_k: int) -> list[MatchCandidate]:
    """Keep the best ``top_k`` per want from candidates of several partitions.

    Best by cosine, as the full match retrieves them (so the pairs are exactly its pairs), then
    ordered by score.
    """

    def cosine(c: MatchCandidate) -> float:
        return c.score if c.cosine is None else c.cosine

    ordered = sorted(candidates, key=lambda c: (c.want_id, -cosine(c), c.offer_id))
    out: list[MatchCandidate] = []
    for c in ordered:
        if len(out) >= top_k and all(x.want_id == c.want_id for x in out[-top_k:]):
            continue
        out.append(c)
    return sorted(out, key=lambda c: (c.want_id, -c.score, c.offer_id))
