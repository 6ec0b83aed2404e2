"""Item search (GET /api/items?q=...) at scale: reindex time, query latency, and wrk throughput.

    flock /work/bench.lock .venv/bin/python -m benchmarks.search            # 100k items
    flock /work/bench.lock .venv/bin/python -m benchmarks.search --n 100000 --duration 5

The data set (database `fm_bench_search` on the local PostgreSQL) is the synthetic corpus of
`benchmarks/corpus.py`, COPYed in as a bulk load would be, so its search terms are written by
`search.sync_index` (timed: that is what a first worker start after the migration does). No
matches are needed for search, so none are computed.

Then: in-process latency of the domain query for each kind of search (p50/p99 over the query
mix, with the plain newest-first list as the reference), and wrk throughput through `freemarket
serve`, each figure bracketed by hello-world runs as in `benchmarks/api.py` (the same targets:
>= 0.40 of hello-world rps and p99 <= 50 ms for the items route with filters).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from benchmarks.api import (
    BENCH_ENV,
    READ_CONNECTIONS,
    READ_P99_MS,
    READ_RPS_RATIO,
    REDIS_URL,
    Baseline,
    Row,
    Wrk,
    _database_url,
    ensure_wrk,
    free_port,
    hello_command,
    print_row,
    running,
    serve_command,
    verdict,
)
from benchmarks.pipeline import fresh_database, load_corpus
from freemarket.db import migrate
from freemarket.db.models import Item, SearchIndexState
from freemarket.db.session import make_engine, session_factory
from freemarket.domain import items, search

DATABASE = "fm_bench_search"
# Slang, English for Russian listings and back, two-word queries, a model: the cases.
QUERIES = [
    "велик",
    "bike",
    "айфон",
    "iphone 13",
    "детская коляска",
    "pram",
    "зимняя куртка",
    "jacket",
    "видеорегистратор",
    "lego",
    "учебник",
    "boots",
]
FILTERS = [
    {},
    {"kind": "offer"},
    {"kind": "offer", "category": "kids", "city": "Москва"},
    {"kind": "want", "category": "clothing"},
]


def prepare_database(n: int, *, fresh: bool) -> str:
    """The benchmark database with n items and current search terms (reindex timed)."""
    url = _database_url(DATABASE)
    engine = None
    if not fresh:
        try:
            engine = make_engine(url)
            migrate.upgrade(engine)  # a data set built by an older revision: bring it up
            with engine.connect() as conn:
                count = conn.scalar(select(func.count()).select_from(Item)) or 0
                state = conn.scalar(select(SearchIndexState.fingerprint))
            if count < n:
                engine = None
            elif state == search.fingerprint():
                print(f"reusing database {DATABASE}: {count} items, search terms current")
                return url
        except OperationalError:
            engine = None
    if engine is None:
        started = time.perf_counter()
        url = fresh_database(DATABASE)
        load_corpus(url, n)
        print(f"loaded {n} items in {time.perf_counter() - started:.0f} s")
        engine = make_engine(url)
    started = time.perf_counter()
    with session_factory(engine)() as session:
        done = search.sync_index(session)
        session.commit()
    seconds = time.perf_counter() - started
    with engine.connect() as conn:
        terms = conn.exec_driver_sql("SELECT count(*) FROM item_search_terms").scalar()
        conn.exec_driver_sql("COMMIT")
        conn.exec_driver_sql("VACUUM ANALYZE item_search_terms")
    print(
        f"search reindex: {done} items, {terms} terms in {seconds:.1f} s "
        f"({done / max(seconds, 1e-9):.0f} items/s)"
    )
    return url


def latency(url: str, rounds: int) -> None:
    """p50/p99 of the domain query per kind of request, the plain list as the reference."""
    engine = make_engine(url)
    factory = session_factory(engine)
    cases: list[tuple[str, list[dict[str, str]]]] = [
        ("list, newest first (reference)", [dict(f) for f in FILTERS]),
        ("search", [{"query": q} for q in QUERIES]),
        ("search + filters", [{"query": q, **f} for q in QUERIES for f in FILTERS[1:]]),
    ]
    search.warm_up()
    with factory() as session:
        for _name, calls in cases:  # untimed: the lexicon, plans and caches a server has warm
            for params in calls:
                items.list_items(session, limit=20, **params)  # type: ignore[arg-type]
        session.rollback()
        for name, calls in cases:
            timings: list[float] = []
            found = 0
            for _ in range(rounds):
                for params in calls:
                    started = time.perf_counter()
                    page = items.list_items(session, limit=20, **params)  # type: ignore[arg-type]
                    timings.append(time.perf_counter() - started)
                    found += len(page.items)
                session.rollback()
            ms = np.array(timings) * 1000
            print(
                f"in-process {name:<32} p50 {np.percentile(ms, 50):6.2f} ms  "
                f"p99 {np.percentile(ms, 99):6.2f} ms  ({len(timings)} calls, "
                f"{found / len(timings):.1f} items a page)"
            )
    engine.dispose()


def _paths(with_filters: bool) -> list[str]:
    out = []
    for q in QUERIES:
        for f in FILTERS[1:] if with_filters else [{}]:
            out.append("/api/items?" + urlencode({"q": q, **f, "limit": 20}))
    return out


def throughput(url: str, duration: int, threads: int) -> list[Row]:
    """wrk against `freemarket serve` (1 worker), each route between hello-world runs."""
    binary = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="fm_bench_search_"))
    wrk = Wrk(binary, duration=duration, threads=threads, workdir=workdir)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "DATA_DIR": str(workdir / "data"),
        **BENCH_ENV,
    }
    log = workdir / "server.log"
    rows: list[Row] = []
    hello_port, port = free_port(), free_port()
    routes = [
        ("GET /api/items?limit=20 (reference)", ["/api/items?limit=20"]),
        ("GET /api/items?q= (search)", _paths(False)),
        ("GET /api/items?q&kind&category&city", _paths(True)),
    ]
    with (
        running(hello_command(hello_port, 1), port=hello_port, env=env, log=log) as hello,
        running(serve_command(port, 1), port=port, env=env, log=log) as base,
    ):
        baseline = Baseline(wrk, hello)
        rows.append(Row("hello world (baseline, 1 worker)", baseline.measure(), 1.0, "-"))
        print_row(rows[-1])
        for name, paths in routes:
            result, ratio, hello_p99 = baseline.bracket(
                lambda paths=paths: wrk.run(base, paths, connections=READ_CONNECTIONS)
            )
            ok = ratio >= READ_RPS_RATIO and result.p99_ms <= READ_P99_MS and not result.non_2xx
            rows.append(Row(name, result, ratio, verdict(ok), f"(hello p99 {hello_p99:.1f} ms)"))
            print_row(rows[-1])
    return rows


def main() -> None:
    """Parse arguments, build or reuse the data set, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="items in the data set")
    parser.add_argument("--fresh", action="store_true", help="rebuild the data set")
    parser.add_argument("--rounds", type=int, default=5, help="in-process rounds of the mix")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--no-wrk", action="store_true", help="in-process figures only")
    args = parser.parse_args()
    url = prepare_database(args.n, fresh=args.fresh)
    latency(url, args.rounds)
    if not args.no_wrk:
        rows = throughput(url, args.duration, args.threads)
        if any(r.status == "MISS" for r in rows):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
