"""Batch recompute: rebuild the vocabulary and every match, replacing them partition by partition.

The whole marketplace is vectorised once (one vocabulary, one idf), then matched per offer
category. Stored matches are replaced per *want* category: wants of a category only ever meet
offers of that category, so each such partition is self-contained and can be computed on its
own worker; wants filed under `other` meet every category, so their partition takes the best
of all of them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import distinct, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match
from freemarket.domain import search
from freemarket.infra import metrics
from freemarket.matching.core import OTHER_CATEGORY, WANT
from freemarket.matching.core.engine import (
    MatchCandidate,
    VectorizedCorpus,
    gc_paused,
    match_by_want_category,
)
from freemarket.matching.core.rules import Thresholds
from freemarket.matching.store import MatchChanges, load_listings, replace_matches

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class PartitionReport:
    """One want category's replacement."""

    category: str
    wants: int
    changes: MatchChanges
    seconds: float


@dataclass(slots=True)
class RecomputeReport:
    """A whole recompute: the shared vectorise/match phase and each partition's write."""

    dry_run: bool
    items: int = 0
    # waiting for candidates (loading, vectorising, matching); writes overlap part of it
    match_seconds: float = 0.0
    # wall time of the whole matching and writing
    seconds: float = 0.0
    partitions: list[PartitionReport] = field(default_factory=list)

    @property
    def totals(self) -> MatchChanges:
        """Changes summed over partitions."""
        total = MatchChanges()
        for partition in self.partitions:
            total.merge(partition.changes)
        return total


def partitions(session: Session) -> list[str]:
    """Categories that hold at least one item, in a stable order (`other` last)."""
    found = sorted(session.scalars(select(distinct(Item.category))))
    return [c for c in found if c != OTHER_CATEGORY] + (
        [OTHER_CATEGORY] if OTHER_CATEGORY in found else []
    )


def recompute(
    session: Session,
    *,
    thresholds: Thresholds,
    categories: list[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RecomputeReport:
    """Recompute the wants of `categories` (default: all) in the caller's transaction."""
    report = RecomputeReport(dry_run=dry_run)
    if not dry_run:
        # A changed lexicon takes effect on the next recompute: in search as well as matching.
        search.sync_index(
            session,
            progress=(lambda done, total: progress("search terms", done, total))
            if progress
            else None,
        )
    chosen = categories or partitions(session)
    # A savepoint around the writes lets --dry-run compute every change and then undo it.
    savepoint = session.begin_nested()
    # Millions of acyclic objects (listings, candidates, rows) are made and dropped here: the
    # collector's passes over them took ~40 % of the process's CPU at 100k items.
    with gc_paused():
        _match_and_store(session, report, thresholds, chosen, progress)
    metrics.RECOMPUTE_DURATION.observe(report.match_seconds)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return report


def _match_and_store(
    session: Session,
    report: RecomputeReport,
    thresholds: Thresholds,
    chosen: list[str],
    progress: Progress | None,
) -> None:
    """Vectorise, then match and store one want category at a time (``recompute``)."""
    started = time.perf_counter()
    listings = load_listings(session)
    report.items = len(listings)
    wants = Counter(x.category for x in listings if x.kind == WANT)
    if progress is not None:
        progress("vectorise", 0, len(listings))
    corpus = VectorizedCorpus.build(listings)
    del listings  # the corpus holds them
    # loading and vectorising, then (below) the waits for each partition's candidates
    report.match_seconds = time.perf_counter() - started
    matched = match_by_want_category(
        corpus,
        thresholds,
        chosen,
        progress=(lambda done, total: progress("match", done, total)) if progress else None,
    )
    # Each want category is stored as soon as it is matched and then dropped. Its write runs
    # on a thread of its own while this one builds the next category's candidates: the writer
    # mostly waits for PostgreSQL (without the GIL), so the server's inserts and this
    # process's Python run on both cores. At most two categories' candidates are held: the
    # next one is only handed over once the previous write is done. The writer is the only
    # user of the session meanwhile, so the whole recompute stays one transaction.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recompute-writer") as writer:
        writing: Future[PartitionReport] | None = None
        while True:
            waited = time.perf_counter()
            category, candidates = next(matched, (None, []))
            report.match_seconds += time.perf_counter() - waited
            if writing is not None:
                report.partitions.append(writing.result())
                writing = None
                if progress is not None:
                    progress("write", len(report.partitions), len(chosen))
            if category is None:
                break
            if candidates:
                writing = writer.submit(
                    _store_partition, session, category, wants[category], candidates, thresholds
                )
                del candidates  # the writer's now: dropped as soon as it is written
                continue
            # Nothing matched: written here. The writer's thread starts with the first
            # category that has candidates, so the matchers have been forked by then
            # (``fork_pool`` runs them in this process when another thread exists).
            report.partitions.append(
                _store_partition(session, category, wants[category], [], thresholds)
            )
            if progress is not None:
                progress("write", len(report.partitions), len(chosen))
    report.seconds = time.perf_counter() - started


def _store_partition(
    session: Session,
    category: str,
    wants: int,
    candidates: list[MatchCandidate],
    thresholds: Thresholds,
) -> PartitionReport:
    """Replace the stored matches of one want category's wants with its candidates."""
    started = time.perf_counter()
    wants_here = select(Item.id).where(Item.category == category, Item.kind == WANT)
    changes = replace_matches(
        session,
        scope=[Match.want_item_id.in_(wants_here)],
        candidates=candidates,
        thresholds=thresholds,
    )
    return PartitionReport(
        category=category, wants=wants, changes=changes, seconds=time.perf_counter() - started
    )
