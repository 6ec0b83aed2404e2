"""Matching engine benchmarks on the synthetic corpus.

.venv/bin/python -m benchmarks.engine full --n 1000000       # vectorise + match, time and RSS
.venv/bin/python -m benchmarks.engine full --n 1000000 --partitioned  # results dropped per category
.venv/bin/python -m benchmarks.engine single --n 1000000     # one new item vs a 1M index, p99
.venv/bin/python -m benchmarks.engine baseline --n 100000    # engine vs exact brute force
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time

import numpy as np

from benchmarks.corpus import generate
from freemarket.matching.core import OTHER_CATEGORY
from freemarket.matching.core.engine import (
    VectorizedCorpus,
    _Meta,
    match_by_want_category,
    match_corpus,
)
from freemarket.matching.core.index import MatchIndex
from freemarket.matching.params import default_thresholds

PARAMS = default_thresholds()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_child_rss_mb() -> float:
    """Largest peak RSS of a finished child process (vectorising worker) in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# Figures of the first implementation (docs/benchmarks.md), printed next to each new figure.
BEFORE = {
    "full recompute 100000": 46.4,
    "one new item, p99": 23.1,
    "index build 1000000": 274.0,
    "speed-up vs brute force": 10.1,
}


def report(
    name: str,
    value: float,
    target: float,
    unit: str,
    higher_is_better: bool = False,
    before: float | None = None,
) -> None:
    """Print a figure, its target, the ratio and (when known) the figure before optimisation."""
    ratio = value / target
    ok = ratio >= 1 if higher_is_better else ratio <= 1
    was = f", before {before} {unit}" if before is not None else ""
    print(
        f"{name}: {value:.3f} {unit} (target {target} {unit}, ratio {ratio:.2f}, "
        f"{'OK' if ok else 'MISS'}{was})"
    )


def bench_full(n: int, partitioned: bool = False) -> None:
    """Full recompute: vectorise and match n listings, no DB.

    With ``partitioned`` each want category's candidates are dropped before the next is
    built, as the recompute does once it has written a partition to the database.
    """
    listings = generate(n)
    t0 = time.perf_counter()
    corpus = VectorizedCorpus.build(listings)
    t1 = time.perf_counter()
    if partitioned:
        found = 0
        categories = sorted({x.category for x in listings} - {OTHER_CATEGORY})
        for _, candidates in match_by_want_category(corpus, PARAMS, [*categories, OTHER_CATEGORY]):
            found += len(candidates)
    else:
        found = len(match_corpus(corpus, PARAMS))
    t2 = time.perf_counter()
    mode = "per want category" if partitioned else "all at once"
    print(
        f"n={n} ({mode}) vectorise={t1 - t0:.1f}s match+explain={t2 - t1:.1f}s candidates={found}"
    )
    report("full recompute", t2 - t0, 60.0, "s", before=BEFORE.get(f"full recompute {n}"))
    report("peak RSS", peak_rss_mb(), 2048.0, "MB")
    print(f"peak RSS of a vectorising worker: {peak_child_rss_mb():.0f} MB (mostly shared pages)")


def bench_single(n: int, queries: int) -> None:
    """Latency of matching one new item against an index of n listings."""
    listings = generate(n)
    t0 = time.perf_counter()
    index = MatchIndex.build(listings)
    report(
        "index build", time.perf_counter() - t0, 60.0, "s", before=BEFORE.get(f"index build {n}")
    )
    fresh = generate(queries, seed=7)
    lat = []
    for x in fresh:
        t = time.perf_counter()
        index.match(x, PARAMS)
        lat.append(time.perf_counter() - t)
    ms = np.array(lat) * 1000
    print(
        f"match: p50={np.percentile(ms, 50):.2f}ms p90={np.percentile(ms, 90):.2f}ms "
        f"max={ms.max():.2f}ms"
    )
    report(
        "one new item, p99",
        float(np.percentile(ms, 99)),
        10.0,
        "ms",
        before=BEFORE["one new item, p99"] if n == 1_000_000 else None,
    )
    add = []
    for x in generate(queries, seed=8):
        x = dataclasses.replace(x, id=x.id + 10 * n)
        t = time.perf_counter()
        index.add(x)
        add.append(time.perf_counter() - t)
    print(
        f"add: p50={np.percentile(add, 50) * 1000:.2f}ms p99={np.percentile(add, 99) * 1000:.2f}ms"
    )


def brute_force(
    corpus: VectorizedCorpus, top_k: int, threshold: float, chunk: int = 256
) -> dict[int, list[tuple[float, int]]]:
    """Exact top-k by dense cosine of every want against every offer, rules as a mask."""
    listings = corpus.listings
    meta = _Meta.of(listings, {})
    kinds = np.array([x.kind for x in listings])
    cats = np.array([x.category for x in listings])
    wants, offers = np.flatnonzero(kinds == "want"), np.flatnonzero(kinds == "offer")
    ot = corpus.matrix[offers].T.tocsr()
    out: dict[int, list[tuple[float, int]]] = {}
    oid, ouser, ocity = meta.ids[offers], meta.users[offers], meta.city[offers]
    odel, ocat = meta.delivery[offers], cats[offers]
    for s in range(0, wants.size, chunk):
        w = wants[s : s + chunk]
        scores = (corpus.matrix[w] @ ot).toarray()
        ok = (meta.users[w][:, None] != ouser[None, :]) & (scores >= threshold)
        ok &= (cats[w][:, None] == ocat[None, :]) | (cats[w][:, None] == OTHER_CATEGORY)
        ok &= odel[None, :] | (
            (meta.city[w][:, None] == ocity[None, :]) & (meta.city[w][:, None] >= 0)
        )
        scores[~ok] = -1.0
        top = np.argpartition(-scores, min(top_k, scores.shape[1] - 1), axis=1)[:, : top_k + 1]
        for r, row in enumerate(top):
            best = sorted((-scores[r, j], oid[j]) for j in row if scores[r, j] >= threshold)[:top_k]
            out[int(meta.ids[w[r]])] = [(-a, int(b)) for a, b in best]
    return out


def bench_baseline(n: int) -> None:
    """Engine vs exact brute force at n listings, same vectors, same process."""
    corpus = VectorizedCorpus.build(generate(n))
    t0 = time.perf_counter()
    found = match_corpus(corpus, PARAMS, explain=False)
    engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = brute_force(corpus, PARAMS.top_k, PARAMS.show)
    base = time.perf_counter() - t0
    got: dict[int, list[tuple[float, int]]] = {}
    for c in found:
        got.setdefault(c.want_id, []).append((c.score, c.offer_id))
    agree = total = 0
    for want_id, best in exact.items():
        mine = got.get(want_id, [])
        mine_ids = {o for _, o in mine}
        kth = mine[-1][0] if len(mine) == len(best) and mine else 2.0
        for score, offer_id in best:
            total += 1
            # an equal-score offer in its place is the same answer (ties broken differently)
            agree += offer_id in mine_ids or abs(score - kth) < 1e-5
    print(f"n={n} engine={engine:.2f}s brute force={base:.2f}s")
    report(
        "speed-up vs brute force",
        base / engine,
        20.0,
        "x",
        higher_is_better=True,
        before=BEFORE["speed-up vs brute force"] if n == 100_000 else None,
    )
    report("top-k agreement", agree / max(1, total), 0.99, "", higher_is_better=True)


def main() -> None:
    """Command-line entry point."""
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["full", "single", "baseline"])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--partitioned", action="store_true", help="full: drop results per category")
    a = p.parse_args()
    print(f"radius={PARAMS.radius_km}km top_k={PARAMS.top_k} threshold={PARAMS.show}")
    if a.what == "full":
        bench_full(a.n, a.partitioned)
    elif a.what == "single":
        bench_single(a.n, a.queries)
    else:
        bench_baseline(a.n)


if __name__ == "__main__":
    main()
