"""The cast of the domain-level permission and visibility tests, built through the domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from freemarket.db.models import Match, User
from freemarket.domain import exchanges, items, reports, users
from freemarket.domain.actors import OPERATOR

# Who acts or looks: the owner of the items, their exchange partner, an admin, someone with no
# part in anything, a banned person, and nobody signed in.
VIEWERS = ("owner", "partner", "admin", "stranger", "banned", "anonymous")


@dataclass
class Cast:
    """People, and the owner's items in every state an item can be seen in."""

    db: Session
    people: dict[str, User] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)
    exchange_id: int = 0
    open_exchange_id: int = 0
    report_id: int = 0

    def viewer(self, name: str) -> User | None:
        """The person called `name` (None for "anonymous")."""
        return None if name == "anonymous" else self.people[name]


def _offer(db: Session, owner: User, title: str) -> int:
    return items.create_item(db, owner=owner, kind="offer", category="other", title=title).id


def build_cast(db: Session) -> Cast:
    """Owner's items listed, withdrawn, exchanged with the partner; a banned owner's item."""
    cast = Cast(db=db)
    for name in ("owner", "partner", "stranger", "banned", "banned_owner"):
        cast.people[name] = users.create_user(db, username=f"cast_{name}")
    cast.people["admin"] = users.create_user(db, username="cast_admin", role="admin")
    owner, partner = cast.people["owner"], cast.people["partner"]
    cast.items["listed"] = _offer(db, owner, "велосипед")
    cast.items["withdrawn"] = _offer(db, owner, "велосипед старый")
    items.set_item_active(db, actor=owner, item_id=cast.items["withdrawn"], active=False)
    cast.items["exchanged"] = _offer(db, owner, "книга")
    want = items.create_item(db, owner=partner, kind="want", category="other", title="книга")
    match = Match(
        want_item_id=want.id, offer_item_id=cast.items["exchanged"], score=0.9, computed_by="test"
    )
    db.add(match)
    db.flush()
    exchange = exchanges.propose(
        db, proposer=owner, match_ids=[match.id], deadline=timedelta(hours=1)
    )
    exchanges.transition(db, exchange_id=exchange.id, actor=partner, action="accept")
    exchanges.transition(db, exchange_id=exchange.id, actor=owner, action="complete")
    exchanges.transition(db, exchange_id=exchange.id, actor=partner, action="complete")
    cast.exchange_id = exchange.id
    # An open proposal: the owner offers the listed item for the partner's want.
    scooter = items.create_item(db, owner=partner, kind="want", category="other", title="самокат")
    offer = Match(
        want_item_id=scooter.id, offer_item_id=cast.items["listed"], score=0.9, computed_by="test"
    )
    db.add(offer)
    db.flush()
    cast.open_exchange_id = exchanges.propose(
        db, proposer=owner, match_ids=[offer.id], deadline=timedelta(hours=1)
    ).id
    users.create_profile(db, user=owner, data={"about": "hello"}, visibility="private")
    cast.report_id = reports.create_report(
        db, reporter=cast.people["stranger"], reason="spam", user_id=partner.id
    ).id
    cast.items["owner_banned"] = _offer(db, cast.people["banned_owner"], "велосипед горный")
    for name in ("banned", "banned_owner"):
        users.set_banned(db, actor=OPERATOR, user=cast.people[name], banned=True)
    db.commit()
    return cast
