"""The worker: runs matching jobs against an in-memory index kept in step with the database."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from freemarket.db.models import Category, Item, Job, Match, utcnow
from freemarket.db.session import unit_of_work
from freemarket.domain import exchanges, jobs, matched, ratings, search, visibility
from freemarket.infra import metrics, wakeup
from freemarket.infra.settings import Settings
from freemarket.matching.core.engine import MatchCandidate
from freemarket.matching.core.index import Hit, MatchIndex, merge_hits
from freemarket.matching.params import thresholds_from
from freemarket.matching.partition import Partition, is_fanned_out
from freemarket.matching.store import (
    SCORE_EPSILON,
    iter_listings,
    load_listings,
    matches_of_item_scope,
    replace_matches,
    to_listing,
)

log = logging.getLogger("freemarket.matching.worker")

# Items changed within this margin before the watermark are looked at again: two transactions
# can commit out of timestamp order, and re-adding an unchanged item to the index is harmless.
SYNC_OVERLAP = timedelta(seconds=5)
# How often the loop expires overdue exchange proposals and reveals ratings whose reveal period
# is over. Readers already show proposals expired (exchanges.status_of), so for them this only
# bounds how late the parties are told; a rating's reveal period is days, so its score moving a
# few seconds late gives nothing away, and a person's page stays a read that never writes.
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
    revealed: int = 0

    def merge(self, other: BatchResult) -> None:
        """Add another pass's counts to this one."""
        self.processed += other.processed
        self.failed += other.failed
        self.added += other.added
        self.removed += other.removed
        self.notified += other.notified
        self.expired += other.expired
        self.revealed += other.revealed


class MatchWorker:
    """Claims matching jobs and applies them; one per process, several per deployment.

    With a ``partition`` (see ``partition.py``) the worker indexes and matches only its share
    of the listing space; N workers with partitions 1/N..N/N store exactly the matches and
    notifications one worker would.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        batch_size: int = 200,
        partition: Partition | None = None,
    ) -> None:
        self.engine = engine
        self.thresholds = thresholds_from(settings)
        self.trust_policy = ratings.TrustPolicy.from_settings(settings)
        self.batch_size = batch_size
        # one partition of one is the whole space: the plain worker
        self.partition = partition if partition is not None and partition.count > 1 else None
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
            if self.partition is None:
                self.index = MatchIndex.build(load_listings(session))
            else:
                self.index = MatchIndex.build(iter_listings(session), owns=self.partition.holds)
            _release_freed_memory()
            self.watermark = session.scalar(select(func.max(Item.updated_at)))
            if self.watermark is not None:
                recent = session.execute(
                    select(Item.id, Item.updated_at).where(
                        Item.updated_at >= self.watermark - SYNC_OVERLAP
                    )
                )
                self.recent = {item_id: updated_at for item_id, updated_at in recent}
            return
        # by id within a timestamp: every partition folds changes into its statistics in the
        # same order, so an item added here is weighted as any other worker weights it
        query = select(Item.id, Item.updated_at).order_by(Item.updated_at, Item.id)
        if self.watermark is not None:  # None: the index was built from an empty database
            query = query.where(Item.updated_at >= self.watermark - SYNC_OVERLAP)
        versions = session.execute(query).tuples()
        for item_id, updated_at in list(versions):
            if self.recent.get(item_id) == updated_at:
                continue
            item = session.get(Item, item_id, options=[joinedload(Item.owner)])
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
        # Vectorise a version only once, however many passes and jobs look at it (and the
        # index ignores a listing it holds unchanged: the wants an offer job touches).
        if self.recent.get(item.id) != item.updated_at or item.id not in self.index:
            self.index.add(to_listing(item))
            self.recent[item.id] = item.updated_at
        return True

    def _rematch_wants(self, session: Session, wants: list[Item], result: BatchResult) -> None:
        """Make the wants' stored matches their current top-k offers (one statement set)."""
        assert self.index is not None
        if not wants:
            return
        candidates = [c for w in wants for c in self.index.match(to_listing(w), self.thresholds)]
        self._store(session, [Match.want_item_id.in_([w.id for w in wants])], candidates, result)

    def _store(
        self,
        session: Session,
        scope: list[Any],
        candidates: list[MatchCandidate],
        result: BatchResult,
    ) -> None:
        changes = replace_matches(
            session, scope=scope, candidates=candidates, thresholds=self.thresholds
        )
        result.added += changes.added
        result.removed += changes.removed
        result.notified += changes.notified
        metrics.MATCHES_CREATED.inc(changes.added)

    def _may_enter(self, session: Session, fits: list[tuple[int, float]]) -> list[int]:
        """Of the offer's candidate wants (id, cosine), those whose stored top-k it might enter.

        A want's top k are its k best offers by cosine, and a stored score (the relevance) is
        never above its pair's cosine: an offer whose cosine is below every stored score of a
        want with k matches cannot displace any of them, and re-matching that want would
        write nothing.
        """
        if not fits:
            return []
        full = {
            want_id: lowest
            for want_id, stored, lowest in session.execute(
                select(Match.want_item_id, func.count(), func.min(Match.score))
                .where(Match.want_item_id.in_([want_id for want_id, _ in fits]))
                .group_by(Match.want_item_id)
            ).tuples()
            if stored >= self.thresholds.top_k
        }
        return [
            want_id
            for want_id, cosine in fits
            if want_id not in full or cosine + SCORE_EPSILON >= full[want_id]
        ]

    def _process(self, session: Session, job: Job, result: BatchResult) -> None:
        if job.kind == jobs.MATCH_PART:
            self._contribute(session, job, result)
            return
        if job.kind != jobs.MATCH_ITEM:
            raise ValueError(f"unknown job kind {job.kind!r}")
        item = session.get(Item, int(job.payload["item_id"]), options=[joinedload(Item.owner)])
        if item is None:
            return
        assert self.index is not None
        matchable = self._apply_to_index(session, item)
        if item.kind == "want":
            if matchable:
                self._rematch(session, [item], result)
            else:
                result.removed += matched.delete_matches_of_items(session, [item.id])
            return
        # An offer changes other people's top-k: re-match every want it used to be matched
        # with (which may now get another offer in its place) and every want it now fits
        # whose top-k it can enter.
        stored = set(
            session.scalars(select(Match.want_item_id).where(Match.offer_item_id == item.id))
        )
        fits: list[int] = []
        if matchable:
            candidates = self.index.wants_for(to_listing(item), self.thresholds)
            fits = self._may_enter(session, [c for c in candidates if c[0] not in stored])
        else:
            result.removed += matched.delete_matches_of_items(session, [item.id])
        # in one statement with their owners (whose ban decides whether a want is listed),
        # not two round trips per want
        touched = sorted(stored | set(fits))
        found = (
            session.scalars(
                select(Item)
                .options(joinedload(Item.owner))
                .where(Item.id.in_(touched))
                .order_by(Item.id)
            ).all()
            if touched
            else []
        )
        wants = [want for want in found if self._apply_to_index(session, want)]
        self._rematch(session, wants, result)

    def _rematch(self, session: Session, wants: list[Item], result: BatchResult) -> None:
        """Re-match (matchable) wants here, or hand them to the partition(s) they belong to."""
        if self.partition is None:
            self._rematch_wants(session, wants, result)
            return
        here = []
        for want in wants:
            if is_fanned_out(want.kind, want.category):
                self._fan_out(session, want)
            elif self.partition.owns_category(want.category):
                here.append(want)
            else:  # its own partition's job (an offer moved out of its category, say)
                jobs.enqueue(session, kind=jobs.MATCH_ITEM, payload={"item_id": want.id})
        self._rematch_wants(session, here, result)

    def _fan_out(self, session: Session, want: Item) -> None:
        """Ask every partition for its best offers for a want; the last one merges them."""
        assert self.partition is not None
        merge = jobs.hold(session, kind=jobs.MATCH_MERGE, payload={"item_id": want.id, "parts": {}})
        for number in range(1, self.partition.count + 1):
            jobs.enqueue(
                session,
                kind=jobs.MATCH_PART,
                payload={"item_id": want.id, "partition": number, "merge": merge.id},
            )

    def _contribute(self, session: Session, job: Job, result: BatchResult) -> None:
        """This partition's share of a fanned-out want; the last share writes its matches."""
        assert self.index is not None
        want = session.get(Item, int(job.payload["item_id"]))
        # checked again at the merge: a want edited meanwhile gets a job of its own
        current = (
            want is not None
            and is_fanned_out(want.kind, want.category)
            and self._apply_to_index(session, want)
        )
        hits = self.index.hits(to_listing(want), self.thresholds) if current else []
        # the row lock orders the partitions' shares; the one that completes the set merges
        merge = session.get(Job, int(job.payload["merge"]), with_for_update=True)
        if merge is None:
            return
        parts = {**merge.payload["parts"], str(job.payload["partition"]): _hits_json(hits)}
        if self.partition is not None and len(parts) < self.partition.count:
            merge.payload = {**merge.payload, "parts": parts}
            return
        jobs.finish(session, job=merge)
        if not current:
            return
        assert want is not None
        candidates = merge_hits(
            want.id, [_hit(h) for part in parts.values() for h in part], self.thresholds
        )
        self._store(session, matches_of_item_scope(want), candidates, result)

    def _claimable(self, session: Session) -> list[ColumnElement[bool]]:
        """What this worker may claim: every job, or the ones routed to its partition."""
        if self.partition is None:
            return []
        owned = [
            slug
            for slug in session.scalars(select(Category.slug))
            if self.partition.owns_category(slug)
        ]
        category = (
            select(Item.category)
            .where(Item.id == Job.payload["item_id"].as_integer())  # type: ignore[index]
            .scalar_subquery()
        )
        # a job whose item is gone is dropped by the first partition
        mine = (
            or_(category.in_(owned), category.is_(None))
            if self.partition.leads
            else category.in_(owned)
        )
        return [
            or_(
                and_(Job.kind == jobs.MATCH_ITEM, mine),
                and_(
                    Job.kind == jobs.MATCH_PART,
                    Job.payload["partition"].as_integer() == self.partition.number,  # type: ignore[index]
                ),
            )
        ]

    def expire_exchanges(self) -> int:
        """Expire overdue proposals and tell their parties, in a transaction of its own."""
        with unit_of_work(self.engine) as session:
            return exchanges.expire_due(session)

    def reveal_ratings(self) -> int:
        """Reveal ratings whose reveal period is over (scores move), in a transaction of its own."""
        with unit_of_work(self.engine) as session:
            return len(ratings.reveal_due(session, policy=self.trust_policy))

    @property
    def expires_exchanges(self) -> bool:
        """Whether this worker expires proposals: a plain one, or the first of partitions."""
        # Expiry is a compare-and-set, so more would be safe, but each would only repeat it.
        return self.partition is None or self.partition.leads

    def run_once(self) -> BatchResult:
        """Expire overdue proposals when due, then claim a batch of jobs and run each."""
        result = BatchResult()
        now = utcnow()
        if self.expires_exchanges and (self.next_expiry is None or now >= self.next_expiry):
            self.next_expiry = now + EXPIRY_INTERVAL
            result.expired = self.expire_exchanges()
            result.revealed = self.reveal_ratings()
        if self.index is None:
            # Search terms written by an older analyser or lexicon (or never: a fresh
            # migration, a bulk load) are rewritten once, by whichever worker starts first. In
            # a transaction of its own: its lock on the state row would otherwise be held for
            # the whole index build and workers starting together would build one at a time.
            with unit_of_work(self.engine) as session:
                search.sync_index(session)
        # A batch of jobs per transaction. One job per transaction was tried (issue 14, target
        # 3): it gained nothing measurable at 1M (each job then paid its own sync, claim and
        # commit), and on SQLite the bot's delivery, woken by the first job's notifications,
        # then contended for the single write lock with the next job ("database is locked",
        # tests/bot).
        with unit_of_work(self.engine) as session:
            self._sync_index(session)
            claimed = jobs.claim(
                session, limit=self.batch_size, conditions=self._claimable(session)
            )
            for job in claimed:
                self._run(session, job, result)
        return result

    def _run(self, session: Session, job: Job, result: BatchResult) -> None:
        """Run one claimed job; a failure is recorded on the job (retried later), not raised."""
        try:
            with session.begin_nested():
                self._process(session, job, result)
        except Exception as exc:  # a bad job must not stop the others
            log.exception("job %s failed", job.id)
            jobs.fail(session, job=job, error=f"{type(exc).__name__}: {exc}")
            result.failed += 1
            return
        jobs.finish(session, job=job)
        metrics.MATCHING_JOB_LATENCY.observe((utcnow() - job.created_at).total_seconds())
        result.processed += 1

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


def _hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    # floats go through JSON as their shortest repr, which reads back as the same float
    return [
        {
            "r": h.retrieval,
            "o": h.offer_id,
            "c": h.cosine,
            "f": list(h.features),
            "e": h.explanation,
        }
        for h in hits
    ]


def _hit(row: dict[str, Any]) -> Hit:
    return Hit(row["r"], row["o"], row["c"], tuple(row["f"]), row["e"])


def _release_freed_memory() -> None:
    """Hand the heap pages the index build freed back to the system (glibc; else a no-op)."""
    # The build frees the streamed listings, raw rows and a partition's foreign share; glibc
    # keeps those pages mapped until asked. Measured at 200k listings (docs/benchmarks.md):
    # the index's RSS 406 -> 347 MB for one worker, 238 -> 172 MB for a partition of 3.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
