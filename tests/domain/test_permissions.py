"""Who may do what, at the domain level: actor × action, one table row per action.

Each cell calls the domain function as that actor inside a savepoint (rolled back afterwards)
and records what happened: "ok", "audited" (allowed, and an audit entry was written), the
error's class name, or what a read returned. The HTTP routes are tested separately
(test_authorization.py); this table is the rule the API, the bot and the CLI all go through.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from freemarket.db.models import AuditLog
from freemarket.domain import exchanges, items, public_profile, reports, sessions, users
from freemarket.domain.actors import OPERATOR, Actor
from freemarket.errors import DomainError
from freemarket.matching import queries
from tests.domain.cast import Cast

OK, AUDITED = "ok", "audited"
# The operator is the CLI's actor; reads that take a signed-in viewer have no operator column.
WRITERS = ("owner", "partner", "admin", "operator", "stranger", "banned", "anonymous")
READERS = ("owner", "partner", "admin", "stranger", "banned", "anonymous")
Action = Callable[[Cast, Actor], object]


def _owners_thing(allowed: str = OK) -> dict[str, str]:
    """The owner may; admins and the operator may too, audited; nobody else."""
    row = dict.fromkeys(WRITERS, "Forbidden")
    row.update(owner=allowed, admin=AUDITED, operator=AUDITED)
    return row


def _admins_only() -> dict[str, str]:
    row = dict.fromkeys(WRITERS, "Forbidden")
    row.update(admin=AUDITED, operator=AUDITED)
    return row


ACTIONS: dict[str, tuple[Action, dict[str, str]]] = {
    "edit item": (
        lambda c, a: items.edit_item(
            c.db, actor=a, item_id=c.items["listed"], changes={"title": "велосипед новый"}
        ),
        _owners_thing(),
    ),
    "withdraw item": (
        lambda c, a: items.set_item_active(c.db, actor=a, item_id=c.items["listed"], active=False),
        _owners_thing(),
    ),
    "edit account": (
        lambda c, a: users.edit_user(
            c.db, actor=a, user_id=c.people["owner"].id, changes={"city": "Тула"}
        ),
        _owners_thing(),
    ),
    "edit profile": (
        lambda c, a: users.edit_profile(
            c.db, actor=a, user_id=c.people["owner"].id, changes={"visibility": "public"}
        ),
        _owners_thing(),
    ),
    # A sign-in link is a credential: even the owner's own is audited.
    "sign-in link": (
        lambda c, a: sessions.issue_login_link(
            c.db, user=c.people["owner"], actor=a, ttl=timedelta(minutes=5), public_url="x"
        ),
        _owners_thing(allowed=AUDITED),
    ),
    "create user": (
        lambda c, a: users.add_user(c.db, actor=a, username="cast_new"),
        _admins_only(),
    ),
    "ban user": (
        lambda c, a: users.set_banned(c.db, actor=a, user=c.people["stranger"], banned=True),
        _admins_only(),
    ),
    "promote user": (
        lambda c, a: users.set_role(c.db, actor=a, user=c.people["stranger"], role="admin"),
        _admins_only(),
    ),
    "sign out everywhere": (
        lambda c, a: sessions.sign_out_everywhere(c.db, actor=a, user=c.people["owner"]),
        _admins_only(),
    ),
    "issue token": (
        lambda c, a: sessions.grant_token(
            c.db, actor=a, user=c.people["owner"], ttl=timedelta(hours=1)
        ),
        _admins_only(),
    ),
    "resolve report": (
        lambda c, a: reports.resolve_report(c.db, actor=a, report_id=c.report_id, action="dismiss"),
        _admins_only(),
    ),
    # Outsiders are told the exchange does not exist; an admin (or the operator) may only cancel.
    "cancel exchange": (
        lambda c, a: exchanges.transition(
            c.db, exchange_id=c.open_exchange_id, actor=a, action="cancel"
        ),
        {
            **dict.fromkeys(WRITERS, "NotFound"),
            "owner": OK,
            "partner": OK,
            "admin": AUDITED,
            "operator": AUDITED,
        },
    ),
    "accept exchange": (
        lambda c, a: exchanges.transition(
            c.db, exchange_id=c.open_exchange_id, actor=a, action="accept"
        ),
        {**dict.fromkeys(WRITERS, "NotFound"), "owner": "Conflict", "partner": OK},
    ),
    "read matches": (
        lambda c, a: queries.matches_for_user(c.db, actor=a, user_id=c.people["owner"].id),
        {**_admins_only(), "owner": OK, "admin": OK, "operator": OK},
    ),
}

READS: dict[str, tuple[Action, dict[str, str]]] = {
    "see withdrawn item": (
        lambda c, v: items.get_visible_item(c.db, item_id=c.items["withdrawn"], viewer=v),
        {**dict.fromkeys(READERS, "NotFound"), "owner": OK, "admin": OK},
    ),
    "see exchange": (
        lambda c, v: exchanges.get_exchange(c.db, exchange_id=c.open_exchange_id, viewer=v),
        {**dict.fromkeys(READERS, "NotFound"), "owner": OK, "partner": OK, "admin": OK},
    ),
    "see private profile": (
        lambda c, v: public_profile.get_visible_profile(
            c.db, user_id=c.people["owner"].id, viewer=v
        ),
        {**dict.fromkeys(READERS, "NotFound"), "owner": OK, "admin": OK},
    ),
    # Contacts after a completed exchange; everything for self and admins.
    "see person": (
        lambda c, v: public_profile.view_person(c.db, user=c.people["owner"], viewer=v).level,
        {
            **dict.fromkeys(READERS, "public"),
            "owner": "private",
            "admin": "private",
            "partner": "contact",
        },
    ),
}


def _audit_count(cast: Cast) -> int:
    return int(cast.db.scalar(select(func.count(AuditLog.id))) or 0)


def _attempt(cast: Cast, action: Action, actor: Actor | None) -> str:
    """What the action did as `actor`, inside a savepoint that is rolled back."""
    db = cast.db
    savepoint = db.begin_nested()
    before = _audit_count(cast)
    try:
        returned = action(cast, actor)  # type: ignore[arg-type]
        db.flush()
        if isinstance(returned, str):
            return returned
        return AUDITED if _audit_count(cast) > before else OK
    except DomainError as exc:
        return type(exc).__name__
    finally:
        savepoint.rollback()


def _actor(cast: Cast, name: str) -> Actor | None:
    return OPERATOR if name == "operator" else cast.viewer(name)


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_who_may_act(cast: Cast, name: str) -> None:
    action, expected = ACTIONS[name]
    got = {who: _attempt(cast, action, _actor(cast, who)) for who in expected}
    assert got == expected


@pytest.mark.parametrize("name", sorted(READS))
def test_who_may_read(cast: Cast, name: str) -> None:
    read, expected = READS[name]
    got = {who: _attempt(cast, read, cast.viewer(who)) for who in expected}
    assert got == expected


def test_every_audit_entry_names_its_actor(cast: Cast) -> None:
    """An admin's entry carries their id and name; the operator's is labelled "cli"."""
    db = cast.db
    admin = cast.people["admin"]
    users.set_role(db, actor=admin, user=cast.people["stranger"], role="admin")
    users.set_role(db, actor=OPERATOR, user=cast.people["stranger"], role="user")
    entries = db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(2)).all()
    assert [(e.action, e.actor_id, e.actor_label) for e in entries] == [
        ("demote_user", None, "cli"),
        ("promote_user", admin.id, admin.username),
    ]
