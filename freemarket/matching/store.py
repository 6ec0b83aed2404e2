"""Between the database and the pure engine: listings in, match rows and notifications out."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, MatchDismissal, User, utcnow
from freemarket.db.session import insert_batches_ignoring_conflicts
from freemarket.domain import notifications, visibility
from freemarket.domain.item_fields import LISTING_COLUMNS
from freemarket.domain.notifications import OutboxMessage, Recipient
from freemarket.matching.core.engine import Listing, MatchCandidate
from freemarket.matching.core.rules import Thresholds

T = TypeVar("T")

# Scores are floats from the same computation; a smaller move is noise, not a change worth a write.
SCORE_EPSILON = 1e-6


@dataclass(slots=True)
class MatchChanges:
    """What writing a set of candidates did to the stored matches."""

    added: int = 0
    removed: int = 0
    kept: int = 0
    rescored: int = 0
    notified: int = 0

    def merge(self, other: MatchChanges) -> None:
        """Add another change set's counts to this one."""
        self.added += other.added
        self.removed += other.removed
        self.kept += other.kept
        self.rescored += other.rescored
        self.notified += other.notified


def to_listing(item: Item) -> Listing:
    """The engine's view of an item."""
    return Listing(
        id=item.id,
        user_id=item.user_id,
        **{listing: getattr(item, column) for column, listing in LISTING_COLUMNS.items()},
    )


def load_listings(session: Session, *, categories: Collection[str] | None = None) -> list[Listing]:
    """Every listed item (active, owner not banned), as an engine listing (oldest first)."""
    return list(iter_listings(session, categories=categories))


def iter_listings(
    session: Session, *, categories: Collection[str] | None = None, chunk: int = 20_000
) -> Iterator[Listing]:
    """``load_listings`` streamed: a partition builds from 1M items without holding them all."""
    # Plain column rows, not ORM objects: a recompute loads every item in the marketplace.
    columns = [getattr(Item, column).label(listing) for column, listing in LISTING_COLUMNS.items()]
    stmt = visibility.listed(select(Item.id, Item.user_id, *columns)).order_by(Item.id)
    if categories is not None:
        stmt = stmt.where(Item.category.in_(list(categories)))
    # Kinds, categories and cities repeat across a million rows: one string object each,
    # not one per row (the driver makes a new one for every field it reads).
    shared: dict[str, str] = {}
    for row in session.execute(stmt.execution_options(yield_per=chunk)):
        values = row._asdict()
        for name in _REPEATED:
            if values[name] is not None:
                values[name] = shared.setdefault(values[name], values[name])
        yield Listing(**values)


_REPEATED = ("kind", "category", "city")


def replace_matches(
    session: Session,
    *,
    scope: Iterable[object],
    candidates: list[MatchCandidate],
    thresholds: Thresholds,
) -> MatchChanges:
    """Make the stored matches within `scope` (SQL conditions on Match) equal `candidates`.

    Kept pairs get their new score and explanation when the score moved; removed pairs are
    deleted; new pairs are inserted and, when the core decided so, announced to the want's
    owner. Plain rows and bulk statements throughout: a recompute touches millions of rows.
    """
    conditions = list(scope)
    # Core rows, not the ORM's result machinery: a recompute reads millions of them (the
    # flush keeps what the ORM's autoflush gave: pending changes are seen).
    session.flush()
    existing = {
        (want_id, offer_id): (match_id, score)
        for match_id, want_id, offer_id, score in session.connection().execute(
            select(Match.id, Match.want_item_id, Match.offer_item_id, Match.score).where(
                *conditions
            )
        )
    }
    wanted = {(c.want_id, c.offer_id): c for c in candidates if c.score >= thresholds.show}
    changes = MatchChanges()
    stale = [match_id for pair, (match_id, _) in existing.items() if pair not in wanted]
    for chunk in _chunks(stale):
        session.execute(delete(Match).where(Match.id.in_(chunk)))
    changes.removed = len(stale)
    moved = []
    for pair, (match_id, score) in existing.items():
        candidate = wanted.get(pair)
        if candidate is None:
            continue
        changes.kept += 1
        if abs(candidate.score - score) > SCORE_EPSILON:
            moved.append(
                {
                    "id": match_id,
                    "score": candidate.score,
                    "computed_by": candidate.computed_by,
                    "explanation": _explanation(candidate),
                }
            )
    if moved:
        session.execute(update(Match), moved)
    changes.rescored = len(moved)
    new = [c for pair, c in wanted.items() if pair not in existing]
    del wanted, existing
    # the notify decision was taken by the core (``decide``) on the want's ranked candidates
    notify = {(c.want_id, c.offer_id) for c in new if c.notify}
    now = utcnow()
    # Ids are kept only for the pairs to announce (a tenth of a first recompute's rows): the
    # others' returned rows are counted and dropped batch by batch.
    match_ids: dict[tuple[int, int], int] = {}
    # In slices: the rows and their COPY text exist for two slices at a time, not a partition;
    # one slice is built and encoded while the database inserts the one before.
    for inserted in insert_batches_ignoring_conflicts(
        session,
        Match.__table__,  # type: ignore[arg-type]
        (
            [
                {
                    "want_item_id": c.want_id,
                    "offer_item_id": c.offer_id,
                    "score": c.score,
                    "computed_by": c.computed_by,
                    "explanation": _explanation(c),
                    "created_at": now,
                }
                for c in part
            ]
            for part in _chunks(new, _INSERT_CHUNK)
        ),
        returning=("id", "want_item_id", "offer_item_id"),
    ):
        changes.added += len(inserted)
        match_ids.update(
            ((want, offer), match_id)
            for match_id, want, offer in inserted
            if (want, offer) in notify
        )
    session.flush()
    loud = [c for c in new if (c.want_id, c.offer_id) in match_ids]
    changes.notified = _notify(session, loud, match_ids)
    return changes


# rows per bulk insert of new matches: bounds the memory of a partition's write (two slices
# are held while one is encoded and the one before inserted)
_INSERT_CHUNK = 25_000


def _chunks(values: list[T], size: int = 5000) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _explanation(candidate: MatchCandidate) -> dict[str, object]:
    return {"shared_terms": list(candidate.explanation)}


def _notify(
    session: Session, loud: list[MatchCandidate], match_ids: dict[tuple[int, int], int]
) -> int:
    loud = _not_dismissed(session, loud)
    if not loud:
        return 0
    item_ids = sorted({i for c in loud for i in (c.want_id, c.offer_id)})
    # Plain rows with the owner joined in: one query per chunk, not one per item or owner.
    items = {
        row.id: row
        for chunk in _chunks(item_ids)
        for row in session.execute(
            select(Item.id, Item.title, User.id.label("owner_id"), User.telegram_id)
            .join(User, User.id == Item.user_id)
            .where(Item.id.in_(chunk))
        )
    }
    messages = []
    for candidate in loud:
        want, offer = items[candidate.want_id], items[candidate.offer_id]
        messages.append(
            OutboxMessage(
                user=Recipient(id=want.owner_id, telegram_id=want.telegram_id),
                kind="match",
                payload={
                    "want_item_id": want.id,
                    "want_title": want.title,
                    "offer_item_id": offer.id,
                    "offer_title": offer.title,
                    "score": round(candidate.score, 4),
                },
                # Keyed by the pair, not the row: a match that disappears and comes back
                # (an edit, a recompute) is never announced twice.
                dedupe_key=f"match:{want.id}:{offer.id}",
                match_id=match_ids[(want.id, offer.id)],
            )
        )
    return notifications.enqueue(session, messages)


def _not_dismissed(session: Session, loud: list[MatchCandidate]) -> list[MatchCandidate]:
    """Drop pairs the want's owner said "not interested" to (a pair may come back above notify)."""
    if not loud:
        return loud
    dismissed: set[tuple[int, int]] = set()
    for chunk in _chunks(sorted({c.want_id for c in loud})):
        dismissed.update(
            session.execute(
                select(MatchDismissal.want_item_id, MatchDismissal.offer_item_id)
                .join(Item, Item.id == MatchDismissal.want_item_id)
                .where(
                    MatchDismissal.want_item_id.in_(chunk),
                    MatchDismissal.user_id == Item.user_id,
                )
            ).tuples()
        )
    return [c for c in loud if (c.want_id, c.offer_id) not in dismissed]


def matches_of_item_scope(item: Item) -> list[object]:
    """SQL conditions selecting the stored matches on this item's side."""
    column = Match.want_item_id if item.kind == "want" else Match.offer_item_id
    return [column == item.id]
