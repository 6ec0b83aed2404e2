"""Partitioned matching workers at scale: the same matches as one worker, a share of its memory.

    flock /work/bench.lock .venv/bin/python -m benchmarks.partitions --n 1000000 --posts 60
    .venv/bin/python -m benchmarks.partitions memory 200000 1/3   # index memory, no database

Loads a fresh database with the synthetic corpus (COPY, not timed), then starts one plain
worker and N partitioned ones (`MatchWorker(partition=I/N)`), each in its own process so its
memory is its own, all indexing the same state. A batch of new listings is posted (through
the domain, so each gets its job); the plain worker matches them, its matches and
notifications are recorded, the result tables and the queue are put back as they were, and
the partitions match the same posts (in turns until the queue, held merges included, is
empty). Printed: each worker's index build time and resident memory (after the build, and
the index's part of it: RSS after build minus RSS before), the ratio of each partition's
index memory to the plain worker's, the time to drain the posts, and whether the two
outcomes are equal (matches with score, explanation and notifications, row for row).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from benchmarks.corpus import generate
from benchmarks.pipeline import ADMIN_URL, fresh_database, load_corpus
from freemarket.db.models import Category, Job, Match, Notification, User
from freemarket.db.session import make_engine, session_factory, unit_of_work
from freemarket.domain import items, search
from freemarket.infra.settings import Settings
from freemarket.matching.partition import Partition, category_partition

DATABASE = "fm_perfpipe_partitions"


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB, from /proc."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def serve_worker(url: str, partition: str) -> None:
    """A worker process: build, report, then run the queue each time the driver says `run`."""
    from freemarket.matching.core.decide import load_attributes, load_model
    from freemarket.matching.core.vectorize import FeatureSpace
    from freemarket.matching.worker import MatchWorker

    # what every worker loads whatever it holds (dictionaries, model): not index memory
    FeatureSpace().raw_vector("Велосипед детский", "почти новый")
    load_model()
    load_attributes()
    before, _ = rss_mb()
    engine = make_engine(url)
    worker = MatchWorker(
        engine, Settings(_env_file=None, database_url=url), partition=Partition.parse(partition)
    )
    started = time.perf_counter()
    worker.run_once()  # the queue is empty: this builds the index
    built = time.perf_counter() - started
    after, peak = rss_mb()
    assert worker.index is not None
    _say(
        built=round(built, 1),
        rss_before_mb=round(before),
        rss_mb=round(after),
        peak_rss_mb=round(peak),
        index_mb=round(after - before),
        memory=worker.index.memory(),
    )
    for line in sys.stdin:
        if line.strip() != "run":
            break
        started = time.perf_counter()
        result = worker.run_until_idle()
        _say(
            ran=round(time.perf_counter() - started, 2),
            processed=result.processed,
            failed=result.failed,
            peak_rss_mb=round(rss_mb()[1]),
        )


def _say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class Worker:
    """A worker process driven over its stdin/stdout."""

    def __init__(self, url: str, partition: str) -> None:
        self.partition = partition
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.partitions", "worker", url, partition],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.partition} died (exit {self.proc.wait()})")
        return json.loads(line)

    def run(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=120)


def post(url: str, n: int, seed: int) -> int:
    """Post n new listings (a sixth of them `other` wants) through the domain; returns n."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        people = session.scalars(select(User).order_by(User.id).limit(200)).all()
        for i, x in enumerate(generate(n, seed=seed)):
            other_want = i % 6 == 0
            items.create_item(
                session,
                owner=rng.choice(people),
                kind="want" if other_want else x.kind,
                category="other" if other_want else x.category,
                title=x.title,
                description=x.description,
                city=x.city,
                delivery=x.delivery and not other_want,
            )
    engine.dispose()
    return n


def outcome(url: str) -> dict[str, Any]:
    """Matches and notifications as the workers left them, without row ids and times."""
    engine = make_engine(url)
    with session_factory(engine)() as session:
        pairs = {m.id: (m.want_item_id, m.offer_item_id) for m in session.scalars(select(Match))}
        found = {
            "matches": sorted(
                (m.want_item_id, m.offer_item_id, m.score, m.computed_by, repr(m.explanation))
                for m in session.scalars(select(Match))
            ),
            "notifications": sorted(
                (n.user_id, n.channel, n.dedupe_key, repr(n.payload), pairs.get(n.match_id))
                for n in session.scalars(select(Notification))
            ),
        }
    engine.dispose()
    return found


def reset(url: str, queued: list[dict[str, Any]]) -> None:
    """Empty the result tables and put the queue back as it was before the plain worker ran."""
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        session.execute(delete(Notification))
        session.execute(delete(Match))
        session.execute(delete(Job))
        if queued:
            session.execute(Job.__table__.insert(), queued)
    engine.dispose()


def queue(url: str) -> list[dict[str, Any]]:
    """The job rows, as they are."""
    engine = make_engine(url)
    with session_factory(engine)() as session:
        rows = [dict(r._mapping) for r in session.execute(select(Job.__table__).order_by(Job.id))]
    engine.dispose()
    return rows


def pending(url: str) -> int:
    """Jobs left, held merges included."""
    engine = make_engine(url)
    with session_factory(engine)() as session:
        left = len(session.scalars(select(Job.id)).all())
    engine.dispose()
    return left


def bench(n: int, posts: int, count: int, reuse: bool) -> None:
    """Run the comparison and print the figures."""
    started = time.perf_counter()
    if reuse:  # the corpus of an earlier run, without its results and queue
        url = make_url(ADMIN_URL).set(database=DATABASE).render_as_string(hide_password=False)
        reset(url, [])
    else:
        url = fresh_database(DATABASE)
        load_corpus(url, n)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        search.sync_index(session)  # once, before the workers (each would wait for it)
        slugs = list(session.scalars(select(Category.slug)))
    engine.dispose()
    print(
        f"corpus of {n} loaded and search-indexed in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    shares = {
        p: sorted(s for s in slugs if category_partition(s, count) == p)
        for p in range(1, count + 1)
    }
    print(f"categories per partition: {json.dumps(shares, ensure_ascii=False)}", flush=True)
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (2 cores)")
    single = Worker(url, "1/1")
    one = single.read()
    print(f"plain worker: {json.dumps(one)}", flush=True)
    parts = [Worker(url, f"{p}/{count}") for p in range(1, count + 1)]
    built = [w.read() for w in parts]
    for w, b in zip(parts, built, strict=True):
        print(f"partition {w.partition}: {json.dumps(b)}", flush=True)
    post(url, posts, seed=7)
    queued = queue(url)
    ran = single.run()
    expected = outcome(url)
    print(f"plain worker matched {posts} posts: {json.dumps(ran)}")
    reset(url, queued)
    started = time.perf_counter()
    rounds = 0
    runs: list[dict[str, Any]] = []
    while True:
        rounds += 1
        for w in parts:
            runs.append(w.run())
        if not pending(url) or rounds > 50:
            break
    drained = time.perf_counter() - started
    got = outcome(url)
    for w in [single, *parts]:
        w.close()
    print(
        f"partitions matched the same posts in {drained:.1f} s ({rounds} rounds of "
        f"{count} sequential runs; the plain worker: {ran['ran']} s)"
    )
    # equal and empty proves nothing: every job must have run and found matches
    failed = ran["failed"] + sum(r["failed"] for r in runs)
    equal = got == expected and bool(expected["matches"]) and failed == 0
    print(
        f"matches: plain {len(expected['matches'])}, partitions {len(got['matches'])}; "
        f"notifications: plain {len(expected['notifications'])}, partitions "
        f"{len(got['notifications'])}; failed jobs {failed}; "
        f"exactly equal: {'OK' if equal else 'MISS'}",
        flush=True,
    )
    whole = one["index_mb"]
    for w, b in zip(parts, built, strict=True):
        ratio = b["index_mb"] / whole
        print(
            f"partition {w.partition}: index {b['index_mb']} MB = {ratio:.2f} of the plain "
            f"worker's {whole} MB (target ~{1 / count:.2f}); RSS {b['rss_mb']} MB vs "
            f"{one['rss_mb']} MB; owns {b['memory']['owned']} listings"
        )
    print(
        f"sum of the partitions' index memory: {sum(b['index_mb'] for b in built)} MB "
        f"({sum(b['index_mb'] for b in built) / whole:.2f}x the plain worker)"
    )
    if not equal:
        sys.exit(1)


def index_memory(n: int, partition: str) -> None:
    """Without the database: an index of n listings (or its share), RSS before/after trimming."""
    import ctypes
    import dataclasses
    import gc

    from freemarket.matching.core.index import MatchIndex
    from freemarket.matching.core.vectorize import FeatureSpace

    FeatureSpace().raw_vector("Велосипед детский", "почти новый")
    listings = generate(n)
    before, _ = rss_mb()
    share = Partition.parse(partition)
    # fresh copies made during the build, as a worker's listings come from the database: the
    # ones the index keeps count in its memory, the others are freed (a partition's foreign)
    copies = (dataclasses.replace(x) for x in listings)
    if share.count == 1:
        index = MatchIndex.build(copies)
    else:
        index = MatchIndex.build(copies, owns=share.holds)
    del listings, copies
    gc.collect()
    built, _ = rss_mb()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    trimmed, _ = rss_mb()
    _say(
        partition=partition,
        index_mb=round(built - before),
        after_malloc_trim_mb=round(trimmed - before),
        memory=index.memory(),
    )


def main() -> None:
    """Parse arguments and run."""
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        serve_worker(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "memory":
        # one process per index, so each RSS is its own:
        #   python -m benchmarks.partitions memory N 1/1   (and 1/3, 2/3, 3/3)
        index_memory(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--reuse", action="store_true", help="the corpus loaded by an earlier run (same --n)"
    )
    args = parser.parse_args()
    bench(args.n, args.posts, args.partitions, args.reuse)


if __name__ == "__main__":
    main()
