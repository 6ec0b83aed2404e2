"""Text search over items with the matching text pipeline: stems, synonyms, slang, translit.

Every item's text is analysed when it is saved, by the same analyser the matcher uses, into a
few weighted terms (stems, lexicon concepts such as "=велосипед", model codes) stored in
`item_search_terms`. A query is analysed the same way, so "велик", "bike" and "велосипед" all
become the concept "=велосипед" and meet in one indexed lookup by term; no row is scanned in
Python and no LIKE runs over the table.

Relevance is TF-IDF-like and computed in SQL in integers: each stored weight is the term's
share of its item's text (thousandths of the L2-normalised vector), each query term gets an
integer multiplier (its weight in the query times its idf), and an item's score is the sum of
weight x multiplier over the terms it shares with the query. Integers keep the sums exact on
both databases, so a cursor "after (score, id)" walks a relevance-ordered list without gaps.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from freemarket.db.models import Item, ItemSearchTerm, SearchIndexState, utcnow
from freemarket.db.session import insert_ignoring_conflicts
from freemarket.matching.core import text as text_pipeline
from freemarket.matching.core.text import analyze, analyze_field, load_lexicon

TERM_MAX = 64
WEIGHT_SCALE = 1000
# A query term's multiplier is its idf (rounded to a tenth, so a few new items do not reorder
# a list someone is paging through) times its share of the query, in hundredths.
MULTIPLIER_SCALE = 100
# Bump when the way terms are derived from the analyser's output changes.
FORMAT_VERSION = "1"
STATE_ROW = 1
REINDEX_BATCH = 2000
# Item counts behind idf change slowly; counting them on every search would cost a query.
STATS_TTL_SECONDS = 300.0

Progress = Callable[[int, int], None]


def _term_key(key: str) -> str:
    return key[:TERM_MAX]


def item_terms(title: str, description: str) -> dict[str, int]:
    """The stored terms of an item's text: key -> weight in thousandths of its normalised vector.

    Character n-grams ("#...") are left out: they exist to score typos in matching, and the
    lexicon's one-edit correction already folds misspelt dictionary words into their concept.
    """
    weights: dict[str, float] = {}
    for term in analyze(title, description, load_lexicon()):
        if term.key[0] != "#":
            key = _term_key(term.key)
            weights[key] = weights.get(key, 0.0) + term.weight
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if not norm:
        return {}
    return {k: max(1, round(WEIGHT_SCALE * w / norm)) for k, w in weights.items()}


def warm_up() -> None:
    """Load the lexicon searches analyse with (a process's first search would pay for it)."""
    load_lexicon()


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """A query's terms with their share of it, and which of them only add to the score."""

    weights: dict[str, float]
    # a word joined to the number after it ("iphone 13" -> "iphone13"): the words themselves
    # are the query's; the joined code ranks "iphone13" listings first but is not required
    optional: frozenset[str]

    @property
    def required(self) -> list[str]:
        """The terms an item is asked to have."""
        return [term for term in self.weights if term not in self.optional]


def query_terms(query: str) -> QueryTerms:
    """The terms of a search query, analysed as a title."""
    weights: dict[str, float] = {}
    optional: set[str] = set()
    for key, weight, label in analyze_field(query, load_lexicon(), in_title=True):
        if key[0] != "#":
            key = _term_key(key)
            weights[key] = weights.get(key, 0.0) + weight
            if key[0] != "=" and " " in label:
                optional.add(key)
    top = max(weights.values(), default=0.0)
    shares = {k: w / top for k, w in weights.items()} if top else {}
    return QueryTerms(shares, frozenset(optional))


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """Identifies the analyser and lexicon the stored terms were written with."""
    digest = hashlib.sha256(FORMAT_VERSION.encode())
    for path in (Path(text_pipeline.__file__), text_pipeline.DEFAULT_SYNONYMS_PATH):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _rows(items: Iterable[tuple[int, str, str]]) -> list[dict[str, object]]:
    return [
        {"term": term, "item_id": item_id, "weight": weight}
        for item_id, title, description in items
        for term, weight in item_terms(title, description).items()
    ]


def index_item(session: Session, *, item: Item, new: bool = False) -> None:
    """Replace the stored search terms of one item with those of its current text.

    `new`: the item was inserted in this transaction, so it has no terms to delete yet.
    """
    rows = _rows([(item.id, item.title, item.description)])
    if new:
        # No other transaction can have written terms for an item it cannot see yet, so a
        # plain INSERT: SQLAlchemy caches its compiled form and sends the rows as one
        # statement, where an INSERT ... ON CONFLICT is compiled again on every call (14 % of
        # POST /api/items/'s thread time, issue 14's profile).
        if rows:
            session.execute(insert(ItemSearchTerm.__table__), rows)
        return
    session.execute(delete(ItemSearchTerm).where(ItemSearchTerm.item_id == item.id))
    # Conflicts are ignored, not raised: a full reindex running at the same moment may have
    # written this item's terms already, from the same text.
    insert_ignoring_conflicts(session, ItemSearchTerm.__table__, rows)


def sync_index(session: Session, *, progress: Progress | None = None) -> int:
    """Rewrite every item's terms if they were written by another analyser; items rewritten.

    The state row is locked first, so when several workers start at once one rewrites and the
    others wait, then find the fingerprint current. The caller's unit of work commits.
    """
    state = session.scalar(
        select(SearchIndexState).where(SearchIndexState.id == STATE_ROW).with_for_update()
    )
    if state is None:
        state = SearchIndexState(id=STATE_ROW)
        session.add(state)
    current = fingerprint()
    if state.fingerprint == current:
        return 0
    session.execute(delete(ItemSearchTerm))
    total = session.scalar(select(func.count()).select_from(Item)) or 0
    done = 0
    last_id = 0
    while True:
        batch = session.execute(
            select(Item.id, Item.title, Item.description)
            .where(Item.id > last_id)
            .order_by(Item.id)
            .limit(REINDEX_BATCH)
        ).all()
        if not batch:
            break
        insert_ignoring_conflicts(session, ItemSearchTerm.__table__, _rows(batch))
        last_id = batch[-1].id
        done += len(batch)
        if progress is not None:
            progress(done, total)
    state.fingerprint = current
    state.updated_at = utcnow()
    session.flush()
    return done


_corpus_sizes: dict[str, tuple[float, int]] = {}
_frequencies: dict[tuple[str, str], tuple[float, int]] = {}
_FREQUENCIES_MAX = 50_000


def _corpus_size(session: Session) -> int:
    """Items ever listed (the highest id: items are deactivated, never deleted), cached.

    An index lookup, where count(*) would read every row (100 ms at 100k items, loaded).
    """
    key = str(session.get_bind().url)
    now = time.monotonic()
    cached = _corpus_sizes.get(key)
    if cached is not None and now - cached[0] < STATS_TTL_SECONDS:
        return cached[1]
    size = session.scalar(select(func.max(Item.id))) or 0
    _corpus_sizes[key] = (now, size)
    return size


def _document_frequencies(session: Session, terms: Iterable[str]) -> dict[str, int]:
    """Items having each term (terms no item has are left out).

    Counts are cached a few minutes, as idf barely moves in that time; a term no item had is
    never cached, so the first listing with a new word is found at once.
    """
    database = str(session.get_bind().url)
    now = time.monotonic()
    out: dict[str, int] = {}
    missing: list[str] = []
    for term in terms:
        cached = _frequencies.get((database, term))
        if cached is not None and now - cached[0] < STATS_TTL_SECONDS:
            out[term] = cached[1]
        else:
            missing.append(term)
    if missing:
        counted = (
            session.execute(
                select(ItemSearchTerm.term, func.count())
                .where(ItemSearchTerm.term.in_(missing))
                .group_by(ItemSearchTerm.term)
            )
            .tuples()
            .all()
        )
        if len(_frequencies) > _FREQUENCIES_MAX:
            _frequencies.clear()
        for term, df in counted:
            _frequencies[(database, term)] = (now, df)
            out[term] = df
    return out


def _idf(size: int, df: int) -> float:
    return round(math.log((size + 1) / (df + 1)) + 1.0, 1)


def required_hits(query_term_count: int) -> int:
    """Terms an item must share with a query of n terms: all of one or two, two thirds beyond.

    A search is a request for a thing, so its words narrow the list; two thirds rather than all
    lets a query with one unknown or misspelt word among several still find something.
    """
    return max(1, math.ceil(query_term_count * 2 / 3))


@dataclass(frozen=True, slots=True)
class Ranked:
    """Items matching a query with their integer score, and the order to list them in."""

    statement: Select[tuple[Item, int]]
    score: ColumnElement[int]
    order: tuple[ColumnElement[Any], ...]


def rank(stmt: Select[tuple[Item]], session: Session, *, query: str) -> Ranked | None:
    """`stmt` restricted to items matching the query, with their score; None if none can.

    When every query term is required (one or two terms), the query walks the items of its
    rarest term and looks the others up by key, so its cost follows that term's frequency; a
    single term is read in weight order from the index, so a page stops early. Longer queries
    sum the scores of every item having any of their terms.
    """
    terms = query_terms(query)
    found = _document_frequencies(session, terms.weights) if terms.weights else {}
    required = terms.required
    need = required_hits(len(required))
    if not required or sum(term in found for term in required) < need:
        return None
    size = max(_corpus_size(session), max(found.values()))
    multipliers = {
        term: max(1, round(MULTIPLIER_SCALE * terms.weights[term] * _idf(size, df)))
        for term, df in found.items()
    }
    if need == len(required):
        rarest_first = sorted(required, key=lambda term: (found[term], term))
        parts: list[ColumnElement[int]] = []
        weights: list[ColumnElement[int]] = []
        for term in rarest_first:
            table = aliased(ItemSearchTerm)
            stmt = stmt.join(table, and_(table.item_id == Item.id, table.term == term))
            parts.append(table.weight * multipliers[term])
            weights.append(table.weight)
        for term in sorted(terms.optional & found.keys()):
            table = aliased(ItemSearchTerm)
            stmt = stmt.outerjoin(table, and_(table.item_id == Item.id, table.term == term))
            parts.append(func.coalesce(table.weight, 0) * multipliers[term])
        score = parts[0]
        for part in parts[1:]:
            score = score + part
        # one term: its weight orders the rows as the score does, and the index holds it
        first = weights[0].desc() if len(parts) == 1 else score.desc()
        return Ranked(stmt.add_columns(score), score, (first, Item.id.desc()))
    multiplier = case(multipliers, value=ItemSearchTerm.term, else_=0)
    required_hit = case((ItemSearchTerm.term.in_(required), 1), else_=0)
    scores = (
        select(
            ItemSearchTerm.item_id.label("item_id"),
            func.sum(ItemSearchTerm.weight * multiplier).label("score"),
        )
        .where(ItemSearchTerm.term.in_(multipliers))
        .group_by(ItemSearchTerm.item_id)
        .having(func.sum(required_hit) >= need)
        .subquery("scores")
    )
    score = scores.c.score
    ranked = stmt.add_columns(score).join(scores, scores.c.item_id == Item.id)
    return Ranked(ranked, score, (score.desc(), Item.id.desc()))


def after(score: ColumnElement[int], *, last_score: int, last_id: int) -> ColumnElement[bool]:
    """Rows after (last_score, last_id) in relevance order (score, then id, descending)."""
    return or_(score < last_score, and_(score == last_score, Item.id < last_id))
