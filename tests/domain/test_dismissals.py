"""Not interested, at the domain level: who may, what it hides, races, training negatives."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Match, MatchDismissal, Notification, User
from freemarket.db.session import session_factory
from freemarket.domain import dismissals, items
from freemarket.domain.actors import OPERATOR
from freemarket.errors import NotFound
from freemarket.matching import queries
from freemarket.matching.core.engine import COMPUTED_BY, MatchCandidate
from freemarket.matching.core.rules import Thresholds
from freemarket.matching.store import replace_matches
from tests.conftest import MakeUser


def _match(db: Session, want: Item, offer: Item, score: float = 0.6) -> Match:
    match = Match(
        want_item_id=want.id,
        offer_item_id=offer.id,
        score=score,
        computed_by="test",
        explanation={},
    )
    db.add(match)
    db.commit()
    return match


@pytest.fixture
def people(make_user: MakeUser) -> dict[str, User]:
    """Anna wants, Boris offers, Vera is a stranger, Root an admin."""
    return {
        "anna": make_user("anna", city="Москва"),
        "boris": make_user("boris", city="Москва"),
        "vera": make_user("vera", city="Москва"),
        "root": make_user("root", role="admin"),
    }


@pytest.fixture
def pair(db: Session, people: dict[str, User]) -> tuple[Item, Item, Match]:
    """Anna's want of a bicycle matched with Boris's bicycle."""
    want = items.create_item(
        db, owner=people["anna"], kind="want", category="bicycles", title="Ищу велосипед"
    )
    offer = items.create_item(
        db, owner=people["boris"], kind="offer", category="bicycles", title="Велосипед Stels"
    )
    db.commit()
    return want, offer, _match(db, want, offer)


def test_either_party_dismisses_for_themselves_only(
    db: Session, people: dict[str, User], pair: tuple[Item, Item, Match]
) -> None:
    want, offer, match = pair
    anna, boris = people["anna"], people["boris"]
    answer = dismissals.dismiss_match(db, actor=anna, match_id=match.id)
    db.commit()
    assert (answer.match_id, answer.want_item_id, answer.offer_item_id, answer.dismissed) == (
        match.id,
        want.id,
        offer.id,
        True,
    )
    assert queries.matches_for_user(db, actor=OPERATOR, user_id=anna.id) == []
    assert [m.id for m in queries.matches_for_user(db, actor=OPERATOR, user_id=boris.id)] == [
        match.id
    ]

    # Twice is the same as once.
    dismissals.dismiss_match(db, actor=anna, match_id=match.id)
    db.commit()
    assert db.scalars(select(MatchDismissal.user_id)).all() == [anna.id]

    restored = dismissals.restore_match(db, actor=anna, match_id=match.id)
    db.commit()
    assert restored.dismissed is False
    assert [m.id for m in queries.matches_for_user(db, actor=OPERATOR, user_id=anna.id)] == [
        match.id
    ]
    assert db.scalars(select(MatchDismissal)).all() == []


@pytest.mark.parametrize("who", ["vera", "root"])
def test_nobody_else_may_dismiss(
    db: Session, people: dict[str, User], pair: tuple[Item, Item, Match], who: str
) -> None:
    match = pair[2]
    with pytest.raises(NotFound) as caught:
        dismissals.dismiss_match(db, actor=people[who], match_id=match.id)
    assert caught.value.code == "match_not_found"
    assert caught.value.params == {"match_id": match.id}
    with pytest.raises(NotFound):
        dismissals.restore_match(db, actor=people[who], match_id=match.id)
    with pytest.raises(NotFound):
        dismissals.dismiss_match(db, actor=people["anna"], match_id=match.id + 1000)
    db.rollback()
    assert db.scalars(select(MatchDismissal)).all() == []
    assert len(queries.matches_for_user(db, actor=OPERATOR, user_id=people["anna"].id)) == 1


def test_answer_outlives_the_match_row(
    db: Session, people: dict[str, User], pair: tuple[Item, Item, Match]
) -> None:
    """A recompute deletes and re-creates the match: still hidden, and never announced."""
    want, offer, match = pair
    dismissals.dismiss_match(db, actor=people["anna"], match_id=match.id)
    db.delete(match)
    db.commit()
    thresholds = Thresholds(show=0.1, notify=0.3, top_k=10, radius_km=30)
    changes = replace_matches(
        db,
        scope=[Match.want_item_id == want.id],
        candidates=[MatchCandidate(want.id, offer.id, 0.9, COMPUTED_BY, [], 0.9, True)],
        thresholds=thresholds,
    )
    db.commit()
    assert (changes.added, changes.notified) == (1, 0)
    assert db.scalars(select(Notification)).all() == []
    assert queries.matches_for_user(db, actor=OPERATOR, user_id=people["anna"].id) == []


def test_dismissed_pair_is_no_trade_leg(
    db: Session, people: dict[str, User], pair: tuple[Item, Item, Match]
) -> None:
    """Anna and Boris could swap; once Boris is not interested in Anna's offer, they cannot."""
    anna, boris = people["anna"], people["boris"]
    boris_want = items.create_item(
        db, owner=boris, kind="want", category="books", title="Ищу книгу Толстого"
    )
    anna_book = items.create_item(
        db, owner=anna, kind="offer", category="books", title="Толстой, Война и мир"
    )
    db.commit()
    back = _match(db, boris_want, anna_book)
    assert [
        t.proposal.kind
        for t in queries.trades_for_user(db, actor=OPERATOR, user_id=anna.id, min_score=0)
    ] == ["swap"]
    dismissals.dismiss_match(db, actor=boris, match_id=back.id)
    db.commit()
    assert queries.trades_for_user(db, actor=OPERATOR, user_id=anna.id, min_score=0) == []
    assert queries.trades_for_user(db, actor=OPERATOR, user_id=boris.id, min_score=0) == []


def test_concurrent_dismissals_keep_one_row(
    engine: Engine, db: Session, people: dict[str, User], pair: tuple[Item, Item, Match]
) -> None:
    """The web button and the bot button at the same moment: one row, neither fails."""
    match_id, anna_id = pair[2].id, people["anna"].id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def click() -> None:
        try:
            with session_factory(engine)() as session:
                actor = session.get(User, anna_id)
                assert actor is not None
                barrier.wait()
                dismissals.dismiss_match(session, actor=actor, match_id=match_id)
                session.commit()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert db.scalars(select(MatchDismissal.user_id)).all() == [anna_id]


def test_negative_pairs_are_want_owner_answers(
    db: Session, people: dict[str, User], pair: tuple[Item, Item, Match]
) -> None:
    want, offer, match = pair
    dismissals.dismiss_match(db, actor=people["boris"], match_id=match.id)
    db.commit()
    # The offer's owner not wanting to give to this want says nothing about the text match.
    assert dismissals.negative_pairs(db) == []
    dismissals.dismiss_match(db, actor=people["anna"], match_id=match.id)
    db.commit()
    assert [(w.id, o.id) for w, o in dismissals.negative_pairs(db)] == [(want.id, offer.id)]
