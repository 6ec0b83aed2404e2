"""The matching rules, once: which want may meet which offer, and how a score is stored.

Both the batch engine (``engine._pairs_for_partition``) and the incremental index
(``MatchIndex.match``) call these, so a change to a rule is made here and nowhere else.

- a want matches offers of other users only;
- same category, or any category when the want's category is ``other``;
- same city, or within ``radius_km`` when both sides have coordinates, unless the offer can be
  delivered (``delivery=True``), which lifts the place rule;
- score = cosine of the two TF-IDF vectors, rounded to 6 places; kept when >= the show
  threshold, best ``top_k`` per want, ties broken by the smaller offer id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from freemarket.matching.core import OTHER_CATEGORY

_EARTH_KM = 6371.0


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What is stored and shown, what is pushed, how many per want and how far (from settings)."""

    show: float
    notify: float  # lowest confidence of the notify model (``decide``) that sends a push
    top_k: int
    radius_km: float
    model_path: str | None = None  # None: the model shipped in freemarket/data


def categories_match(want_category: str, offer_category: str) -> bool:
    """Whether a want of one category may be matched with an offer of another."""
    return bool(wanting_category(np.array([want_category]), offer_category)[0])


def wanting_category(want_categories: np.ndarray, offer_category: str) -> np.ndarray:
    """Mask of the wants (by category) that may meet an offer of ``offer_category``."""
    return (want_categories == offer_category) | (want_categories == OTHER_CATEGORY)


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    """Great-circle distance in km (vectorised; NaN where a coordinate is unknown)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


@dataclass(frozen=True, slots=True)
class Sides:
    """Rule columns of one side of some pairs (arrays, or scalars broadcast against them).

    ``city`` is an integer code (-1 when unknown); ``lat``/``lon`` are NaN when unknown.
    """

    user: np.ndarray | int
    city: np.ndarray | int
    delivery: np.ndarray | bool
    lat: np.ndarray | float
    lon: np.ndarray | float


def pairs_allowed(want: Sides, offer: Sides, radius_km: float) -> np.ndarray:
    """Owner and place rules for (want, offer) pairs of the same or compatible categories."""
    ok = np.asarray(want.user != offer.user)
    place = np.asarray(offer.delivery | ((want.city == offer.city) & (want.city >= 0)))
    ok, place = (np.atleast_1d(x).copy() for x in np.broadcast_arrays(ok, place))
    # distance only where delivery and city do not decide: it is the costly part
    far = np.flatnonzero(~place & ok)
    # without coordinates on both sides the distance is NaN, never within the radius: only
    # the pairs that have them are measured
    far = far[_located(want, far) & _located(offer, far)]
    if far.size:
        place[far] = _within(want, offer, far, radius_km)
    return ok & place


def _located(side: Sides, rows: np.ndarray) -> np.ndarray:
    """Whether each of the rows has coordinates on this side (a scalar side: the same for all)."""
    lat, lon = np.asarray(side.lat), np.asarray(side.lon)
    if lat.ndim:
        lat, lon = lat[rows], lon[rows]
    return np.broadcast_to(~(np.isnan(lat) | np.isnan(lon)), rows.shape)


def _within(want: Sides, offer: Sides, rows: np.ndarray, radius_km: float) -> np.ndarray:
    def pick(x: np.ndarray | float) -> np.ndarray | float:
        return x[rows] if isinstance(x, np.ndarray) and x.ndim else x

    d = haversine_km(pick(want.lat), pick(want.lon), pick(offer.lat), pick(offer.lon))
    return np.asarray(d <= radius_km)


def stored_score(scores: np.ndarray) -> np.ndarray:
    """The score as stored and compared: float64, rounded to 6 places, at most 1."""
    return np.minimum(np.round(np.asarray(scores, dtype=np.float64), 6), 1.0)


# pairs per chunk of ``pair_scores``: bounds the memory of the gathered rows
_SCORE_CHUNK = 500_000


def pair_scores(
    wants: sp.csr_matrix, want_rows: np.ndarray, offers: sp.csr_matrix, offer_rows: np.ndarray
) -> np.ndarray:
    """Stored score of each (want row, offer row) pair: their dot product, in float64.

    The products that find candidates accumulate in float32 (batch) or another order (index);
    recomputing the few kept pairs here, the same way in both paths, makes their scores (and
    so their ranking and every decision taken on them) bit-identical.
    """
    out = np.zeros(want_rows.size, dtype=np.float64)
    for start in range(0, want_rows.size, _SCORE_CHUNK):
        part = slice(start, start + _SCORE_CHUNK)
        a = wants[want_rows[part]].astype(np.float64)
        prod = a.multiply(offers[offer_rows[part]]).tocsr()
        prod.sum_duplicates()
        pair = np.repeat(np.arange(prod.shape[0]), np.diff(prod.indptr))
        out[part] = np.bincount(pair, weights=prod.data, minlength=prod.shape[0])
    return stored_score(out)
