"""Batch recompute: rebuild the vocabulary and every match, partition by partition."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import distinct, select
from sqlalchemy.orm import Session

from freemarket.categories import CATCH_ALL
from freemarket.matching.engine import match_all
from freemarket.matching.store import MatchChanges, Thresholds, load_listings, replace_matches
from freemarket.models import Item, Match

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class PartitionReport:
    """One category's recompute."""

    category: str
    wants: int
    offers: int
    changes: MatchChanges
    seconds: float


@dataclass(slots=True)
class RecomputeReport:
    """A whole recompute: per-partition reports and totals."""

    dry_run: bool
    partitions: list[PartitionReport] = field(default_factory=list)

    @property
    def items(self) -> int:
        """Items considered (offers of the `other` partition counted once per partition)."""
        return sum(p.wants + p.offers for p in self.partitions)

    @property
    def totals(self) -> MatchChanges:
        """Changes summed over partitions."""
        total = MatchChanges()
        for partition in self.partitions:
            total.merge(partition.changes)
        return total

    @property
    def seconds(self) -> float:
        """Time spent in all partitions."""
        return sum(p.seconds for p in self.partitions)


def partitions(session: Session) -> list[str]:
    """Categories that hold at least one item, in a stable order (`other` last)."""
    found = sorted(session.scalars(select(distinct(Item.category))))
    return [c for c in found if c != CATCH_ALL] + ([CATCH_ALL] if CATCH_ALL in found else [])


def recompute_partition(
    session: Session,
    *,
    category: str,
    thresholds: Thresholds,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PartitionReport:
    """Rebuild the matches of the wants filed under `category`.

    Wants of a category meet the offers of the same category; wants filed under `other` meet
    offers of every category. The partition's stored matches are those whose want is filed
    under `category`, so partitions never overlap and can run on different workers.
    """
    started = time.perf_counter()
    wants = [w for w in load_listings(session, categories=[category]) if w.kind == "want"]
    offer_categories = None if category == CATCH_ALL else [category]
    offers = [o for o in load_listings(session, categories=offer_categories) if o.kind == "offer"]
    candidates = match_all(
        wants + offers, top_k=thresholds.top_k, threshold=thresholds.show, progress=progress
    )
    in_partition = select(Item.id).where(Item.category == category, Item.kind == "want")
    scope = [Match.want_item_id.in_(in_partition)]
    savepoint = session.begin_nested()
    changes = replace_matches(session, scope=scope, candidates=candidates, thresholds=thresholds)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return PartitionReport(
        category=category,
        wants=len(wants),
        offers=len(offers),
        changes=changes,
        seconds=time.perf_counter() - started,
    )


def recompute(
    session: Session,
    *,
    thresholds: Thresholds,
    categories: list[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RecomputeReport:
    """Recompute the given categories (default: all) in the caller's transaction."""
    report = RecomputeReport(dry_run=dry_run)
    for category in categories or partitions(session):
        report.partitions.append(
            recompute_partition(
                session,
                category=category,
                thresholds=thresholds,
                dry_run=dry_run,
                progress=(lambda done, total, c=category: progress(c, done, total))
                if progress
                else None,
            )
        )
    return report
