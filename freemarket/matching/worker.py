"""The worker: runs matching jobs against an in-memory index kept in step with the database."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Job, Match, utcnow
from freemarket.db.session import unit_of_work
from freemarket.domain import exchanges, jobs, search, visibility
from freemarket.infra import metrics, wakeup
from freemarket.infra.settings import Settings
from freemarket.matching.core.index import MatchIndex
from freemarket.matching.params import thresholds_from
from freemarket.matching.store import (
    delete_matches_of_items,
    load_listings,
    matches_of_item_scope,
    replace_matches,
    to_listing,
)

log = logging.getLogger("freemarket.matching.worker")

# Items changed within this margin before the watermark are looked at again: two transactions
# can commit out of timestamp order, and re-adding an unchanged item to the index is harmless.
SYNC_OVERLAP = timedelta(seconds=5)
# How often the loop expires overdue exchange proposals. Readers already show them expired
# (exchanges.status_of), so this only bounds how late the parties are told; deadlines are hours.
EXPIRY_INTERVAL = timedelta(seconds=5)


@dataclass(slots=True)
class BatchResult:
    """What one pass over the queue did."""

    processed: int = 0
    failed: int = 0
    added: int = 0
    removed: int = 0
    notified: int = 0
    expired: int = 0

    def merge(self, other: BatchResult) -> None:
        """Add another pass's counts to this one."""
        self.processed += other.processed
        self.failed += other.failed
        self.added += other.added
        self.removed += other.removed
        self.notified += other.notified
        self.expired += other.expired


class MatchWorker:
    """Claims matching jobs and applies them; one per process, several per deployment."""

    def __init__(self, engine: Engine, settings: Settings, *, batch_size: int = 200) -> None:
        self.engine = engine
        self.thresholds = thresholds_from(settings)
        self.batch_size = batch_size
        self.index: MatchIndex | None = None
        self.watermark: datetime | None = None
        # Versions (id → updated_at) already folded in within the overlap window, so a pass
        # that looks back over the window skips them instead of re-indexing them every time.
        self.recent: dict[int, datetime] = {}
        self.next_expiry: datetime | None = None

    def _sync_index(self, session: Session) -> None:
        # Other workers (and the API) change items too: fold every change since the last look
        # into this worker's index before matching against it.
        if self.index is None:
            # Search terms written by an older analyser or lexicon (or never: a fresh
            # migration, a bulk load) are rewritten once, by whichever worker starts first.
            search.sync_index(session)
            self.index = MatchIndex.build(load_listings(session))
            self.watermark = session.scalar(select(func.max(Item.updated_at)))
            if self.watermark is not None:
                recent = session.execute(
                    select(Item.id, Item.updated_at).where(
                        Item.updated_at >= self.watermark - SYNC_OVERLAP
                    )
                )
                self.recent = {item_id: updated_at for item_id, updated_at in recent}
            return
        query = select(Item.id, Item.updated_at).order_by(Item.updated_at)
        if self.watermark is not None:  # None: the index was built from an empty database
            query = query.where(Item.updated_at >= self.watermark - SYNC_OVERLAP)
        versions = session.execute(query).tuples()
        for item_id, updated_at in list(versions):
            if self.recent.get(item_id) == updated_at:
                continue
            item = session.get(Item, item_id)
            if item is not None:
                self._apply_to_index(session, item)
            self.watermark = max(self.watermark or updated_at, updated_at)
        if self.watermark is not None:
            horizon = self.watermark - SYNC_OVERLAP
            self.recent = {k: v for k, v in self.recent.items() if v >= horizon}

    def _apply_to_index(self, session: Session, item: Item) -> bool:
        """Bring the index in line with the item; True when it is matchable."""
        assert self.index is not None
        if not visibility.is_listed(item):
            self.index.remove(item.id)
            return False
        # Vectorise a version only once, however many passes and jobs look at it.
        if self.recent.get(item.id) != item.updated_at or item.id not in self.index:
            self.index.add(to_listing(item))
            self.recent[item.id] = item.updated_at
        return True

    def _rematch_want(self, session: Session, want: Item, result: BatchResult) -> None:
        """Make a want's stored matches its current top-k offers."""
        assert self.index is not None
        candidates = self.index.match(to_listing(want), self.thresholds)
        changes = replace_matches(
            session,
            scope=matches_of_item_scope(want),
            candidates=candidates,
            thresholds=self.thresholds,
        )
        result.added += changes.added
        result.removed += changes.removed
        result.notified += changes.notified
        metrics.MATCHES_CREATED.inc(changes.added)

    def _process(self, session: Session, job: Job, result: BatchResult) -> None:
        if job.kind != jobs.MATCH_ITEM:
            raise ValueError(f"unknown job kind {job.kind!r}")
        item = session.get(Item, int(job.payload["item_id"]))
        if item is None:
            return
        assert self.index is not None
        matchable = self._apply_to_index(session, item)
        if item.kind == "want":
            if matchable:
                self._rematch_want(session, item, result)
            else:
                result.removed += delete_matches_of_items(session, [item.id])
            return
        # An offer changes other people's top-k: re-match every want it now fits and every
        # want it used to be matched with (which may now get another offer in its place).
        affected = set(
            session.scalars(select(Match.want_item_id).where(Match.offer_item_id == item.id))
        )
        if matchable:
            candidates = self.index.match(to_listing(item), self.thresholds, explain=False)
            affected.update(c.want_id for c in candidates)
        else:
            result.removed += delete_matches_of_items(session, [item.id])
        for want_id in sorted(affected):
            want = session.get(Item, want_id)
            if want is not None and self._apply_to_index(session, want):
                self._rematch_want(session, want, result)

    def expire_exchanges(self) -> int:
        """Expire overdue proposals and tell their parties, in a transaction of its own."""
        with unit_of_work(self.engine) as session:
            return exchanges.expire_due(session)

    def run_once(self) -> BatchResult:
        """Expire overdue proposals when due, then claim a batch of jobs and run each."""
        result = BatchResult()
        now = utcnow()
        if self.next_expiry is None or now >= self.next_expiry:
            self.next_expiry = now + EXPIRY_INTERVAL
            result.expired = self.expire_exchanges()
        with unit_of_work(self.engine) as session:
            self._sync_index(session)
            for job in jobs.claim(session, limit=self.batch_size):
                try:
                    with session.begin_nested():
                        self._process(session, job, result)
                except Exception as exc:  # a bad job must not stop the others
                    log.exception("job %s failed", job.id)
                    jobs.fail(session, job=job, error=f"{type(exc).__name__}: {exc}")
                    result.failed += 1
                    continue
                jobs.finish(session, job=job)
                metrics.MATCHING_JOB_LATENCY.observe((utcnow() - job.created_at).total_seconds())
                result.processed += 1
        return result

    def run_until_idle(self, *, max_batches: int = 10_000) -> BatchResult:
        """Run batches until the queue has nothing due (for tests and one-shot runs)."""
        total = BatchResult()
        for _ in range(max_batches):
            result = self.run_once()
            total.merge(result)
            if result.processed == 0 and result.failed == 0:
                break
        return total

    def run_forever(self, stop: threading.Event, *, poll_seconds: float = 0.5) -> None:
        """Work until `stop` is set, sleeping `poll_seconds` when idle."""
        while not stop.is_set():
            try:
                result = self.run_once()
            except Exception:  # the database may be restarting; try again shortly
                log.exception("worker pass failed")
                stop.wait(poll_seconds * 4)
                continue
            if result.processed == 0 and result.failed == 0:
                waker = wakeup.current()
                if waker is not None:
                    waker.wait(poll_seconds)
                else:
                    stop.wait(poll_seconds)
