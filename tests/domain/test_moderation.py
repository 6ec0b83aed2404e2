"""Reports over HTTP, their resolution from the CLI, and what a ban does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from freemarket.db.models import AuditLog, Exchange, Item, Match, Report, User
from tests.domain.conftest import Person, RunCli, World


def report(world: World, reporter: Person, **body: object) -> tuple[int, dict[str, object]]:
    response = world.client.post(
        "/api/reports/", json={"reason": "мошенник", **body}, headers=reporter.headers
    )
    return response.status_code, response.json()


def owners(match: dict[str, Any]) -> set[int]:
    """Whose items a match connects."""
    return {match["want_item"]["user_id"], match["offer_item"]["user_id"]}


def test_report_an_item_or_a_user(world: World, anna: Person, boris: Person) -> None:
    item_id = world.item(boris, "offer", "подделка")
    status, about_item = report(world, anna, item_id=item_id)
    assert status == 201, about_item
    assert (about_item["item_id"], about_item["reported_user_id"], about_item["status"]) == (
        item_id,
        None,
        "open",
    )
    status, about_user = report(world, anna, user_id=boris.id, reason="  грубит  ")
    assert status == 201, about_user
    assert about_user["reported_user_id"] == boris.id and about_user["reason"] == "грубит"


def test_refused_reports(world: World, anna: Person, boris: Person, db: Session) -> None:
    item_id = world.item(boris, "offer", "подделка")
    cases = [
        ("both", {"item_id": item_id, "user_id": boris.id}, 422),
        ("neither", {}, 422),
        ("yourself", {"user_id": anna.id}, 403),
        ("unknown item", {"item_id": 999_999}, 404),
        ("unknown user", {"user_id": 999_999}, 404),
        ("reason too short", {"user_id": boris.id, "reason": " a "}, 422),
        ("unknown field", {"user_id": boris.id, "severity": "high"}, 422),
    ]
    wrong = []
    for why, body, expected in cases:
        status, answer = report(world, anna, **body)
        if status != expected:
            wrong.append((why, status, answer))
    assert not wrong, wrong
    anonymous = world.client.post("/api/reports/", json={"user_id": boris.id, "reason": "spam"})
    assert anonymous.status_code == 401
    assert db.scalar(select(func.count()).select_from(Report)) == 0


def test_reports_listed_and_resolved_from_the_cli(
    world: World, anna: Person, boris: Person, vera: Person, cli: RunCli, db: Session
) -> None:
    item_id = world.item(boris, "offer", "краденое")
    _, on_item = report(world, anna, item_id=item_id)
    _, on_user = report(world, anna, user_id=vera.id)
    _, noise = report(world, vera, user_id=anna.id, reason="просто так")

    listed = cli("report", "list", "--json")
    assert listed.code == 0, listed.err
    assert [(r["id"], r["status"]) for r in listed.json()] == [
        (on_item["id"], "open"),
        (on_user["id"], "open"),
        (noise["id"], "open"),
    ]

    hidden = cli("report", "resolve", str(on_item["id"]), "--action", "hide-item")
    assert hidden.code == 0, hidden.err
    assert world.client.get(f"/api/items/{item_id}").status_code == 404
    banned = cli("report", "resolve", str(on_user["id"]), "--action", "ban-user")
    assert banned.code == 0, banned.err
    dismissed = cli("report", "resolve", str(noise["id"]), "--action", "dismiss")
    assert dismissed.code == 0, dismissed.err

    db.expire_all()
    rows = {r.id: (r.status, r.resolution) for r in db.scalars(select(Report))}
    assert rows == {
        on_item["id"]: ("resolved", "hide-item"),
        on_user["id"]: ("resolved", "ban-user"),
        noise["id"]: ("dismissed", "dismiss"),
    }
    assert db.get(User, vera.id).is_banned  # type: ignore[union-attr]
    assert not db.get(User, anna.id).is_banned  # type: ignore[union-attr]
    assert not db.get(Item, item_id).active  # type: ignore[union-attr]
    assert world.client.get("/api/users/me", headers=vera.headers).status_code == 401
    actions = set(db.scalars(select(AuditLog.action)))
    assert {
        "resolve_report:hide-item",
        "resolve_report:ban-user",
        "resolve_report:dismiss",
    } <= actions


def test_ban_from_the_cli_withdraws_everything(
    world: World, anna: Person, boris: Person, vera: Person, cli: RunCli, db: Session
) -> None:
    done = world.completed_exchange(anna, boris, "done")
    accepted = world.accepted_exchange(anna, boris, "acc")
    proposed = int(world.propose(anna, world.swap(anna, boris, "prop"))["id"])
    untouched = int(world.propose(anna, world.swap(anna, vera, "vera"))["id"])
    listing = world.item(boris, "offer", "гитара")
    before = world.client.get(f"/api/matches/{anna.id}", headers=anna.headers).json()
    assert any(boris.id in owners(m) for m in before)
    assert any(i["id"] == listing for i in world.client.get("/api/items").json()["items"])

    result = cli("user", "ban", "boris")
    assert result.code == 0, result.err

    db.expire_all()
    shown = world.client.get("/api/items?limit=100").json()["items"]
    assert [i for i in shown if i["user_id"] == boris.id] == []
    assert world.client.get(f"/api/items?user_id={boris.id}").json()["items"] == []
    assert world.client.get(f"/api/items/{listing}").status_code == 404
    boris_items = select(Item.id).where(Item.user_id == boris.id)
    left = db.scalar(
        select(func.count())
        .select_from(Match)
        .where(Match.want_item_id.in_(boris_items) | Match.offer_item_id.in_(boris_items))
    )
    assert left == 0
    after = world.client.get(f"/api/matches/{anna.id}", headers=anna.headers).json()
    assert [m for m in after if boris.id in owners(m)] == []
    assert any(vera.id in owners(m) for m in after)
    statuses = {x.id: x.status for x in db.scalars(select(Exchange))}
    assert statuses[done] == "completed"
    assert statuses[accepted] == "cancelled"
    assert statuses[proposed] == "cancelled"
    assert statuses[untouched] == "proposed"
    assert world.client.get("/api/users/me", headers=boris.headers).status_code == 401
    assert world.client.get("/api/users/me", headers=anna.headers).status_code == 200
    events = [n.payload["event"] for n in world.notifications(anna) if n.kind == "exchange"]
    assert events.count("cancelled:party_banned") == 2
    assert db.scalar(select(AuditLog.action).where(AuditLog.action == "ban_user")) == "ban_user"


def test_a_report_on_an_item_you_cannot_see_answers_like_a_missing_one(
    world: World, anna: Person, boris: Person, admin: Person, db: Session
) -> None:
    # Finding 12: 201 for a hidden item and 404 for a missing one told which hidden ids exist.
    withdrawn = world.item(boris, "offer", "снято с продажи")
    assert world.client.delete(f"/api/items/{withdrawn}", headers=boris.headers).status_code == 200
    missing = withdrawn + 1000
    hidden_status, hidden = report(world, anna, item_id=withdrawn)
    missing_status, absent = report(world, anna, item_id=missing)
    assert hidden_status == missing_status == 404
    assert hidden["code"] == absent["code"] == "item_not_found"
    assert str(hidden["detail"]).replace(str(withdrawn), "N") == str(absent["detail"]).replace(
        str(missing), "N"
    )
    assert db.scalar(select(func.count()).select_from(Report)) == 0
    # Those who may still see it (its owner, an admin) can report it.
    assert report(world, admin, item_id=withdrawn)[0] == 201
