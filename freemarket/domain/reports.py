"""Reports of items or users, and their resolution by moderators."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Item, Report, User, utcnow

# items (-> search -> the text pipeline) only where a report names or hides an item, inside
# those functions: `freemarket report list` must not pay for it (issue 12).
from freemarket.domain import actors, audit, users
from freemarket.domain.actors import Actor
from freemarket.domain.permissions import require_admin
from freemarket.errors import Conflict, Forbidden, InvalidInput, NotFound

RESOLUTIONS = ("dismiss", "hide-item", "ban-user")


def reported_user_id(report: Report, *, item_owner_id: int | None) -> int | None:
    """Whom a report is about: the reported user, or the owner of the reported item."""
    return report.reported_user_id or item_owner_id


@dataclass(frozen=True, slots=True)
class ReportLine:
    """A report with the names a moderator reads it by."""

    report: Report
    item_title: str | None
    reported_user_id: int | None
    reported_username: str | None
    reporter_username: str | None


def describe(session: Session, found: list[Report]) -> list[ReportLine]:
    """Reports with the reported item's title and the people's usernames, in two queries."""
    item_ids = {r.item_id for r in found if r.item_id}
    reported_items = {
        row.id: row
        for row in session.execute(
            select(Item.id, Item.title, Item.user_id).where(Item.id.in_(item_ids))
        )
    }
    about = {
        r.id: reported_user_id(
            r,
            item_owner_id=reported_items[r.item_id].user_id
            if r.item_id in reported_items
            else None,
        )
        for r in found
    }
    user_ids = {r.reporter_id for r in found} | {u for u in about.values() if u}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
    return [
        ReportLine(
            report=r,
            item_title=reported_items[r.item_id].title if r.item_id in reported_items else None,
            reported_user_id=about[r.id],
            reported_username=names.get(about[r.id]) if about[r.id] else None,
            reporter_username=names.get(r.reporter_id),
        )
        for r in found
    ]


def create_report(
    session: Session,
    *,
    reporter: User,
    reason: str,
    item_id: int | None = None,
    user_id: int | None = None,
) -> Report:
    """File a report about an item or a user."""
    if (item_id is None) == (user_id is None):
        raise InvalidInput("report exactly one of item_id or user_id", code="report_target")
    if item_id is not None:
        from freemarket.domain import items

        # An item the reporter may not see answers as one that does not exist: a 404 for a
        # hidden item and a 201 for a missing one would tell which hidden ids exist.
        items.get_visible_item(session, item_id=item_id, viewer=reporter)
    if user_id is not None:
        if user_id == reporter.id:
            # Forbidden, not invalid: the body is well-formed, the rule is about who sends it.
            raise Forbidden("you cannot report yourself", code="report_self")
        users.get_user(session, user_id)
    report = Report(
        reporter_id=reporter.id, item_id=item_id, reported_user_id=user_id, reason=reason.strip()
    )
    session.add(report)
    session.flush()
    return report


def list_reports(
    session: Session, *, status: str | None = "open", limit: int = 100
) -> list[Report]:
    """Reports, oldest first (open ones by default)."""
    stmt = select(Report).order_by(Report.id).limit(limit)
    if status:
        stmt = stmt.where(Report.status == status)
    return list(session.scalars(stmt))


def resolve_report(
    session: Session, *, actor: Actor, report_id: int, action: str, note: str | None = None
) -> Report:
    """A moderator closes a report: dismiss it, hide the item, or ban the user behind it."""
    require_admin(actor)
    if action not in RESOLUTIONS:
        raise InvalidInput(
            f"action must be one of {', '.join(RESOLUTIONS)}",
            code="invalid_resolution",
            allowed=RESOLUTIONS,
        )
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound(
            f"report {report_id} not found", code="report_not_found", report_id=report_id
        )
    if report.status != "open":
        raise Conflict(
            f"report {report_id} is already {report.status}",
            code="report_closed",
            report_id=report_id,
            status=report.status,
        )
    item = session.get(Item, report.item_id) if report.item_id is not None else None
    if action == "hide-item":
        if item is None:
            raise InvalidInput("this report is about a user, not an item", code="report_not_item")
        from freemarket.domain import items

        items.deactivate_item(session, item=item)
    elif action == "ban-user":
        target_id = reported_user_id(report, item_owner_id=item.user_id if item else None)
        target = users.get_user(session, int(target_id or 0))
        users.set_banned(session, actor=actor, user=target, banned=True)
    report.status = "dismissed" if action == "dismiss" else "resolved"
    report.resolution = f"{action}: {note}" if note else action
    report.resolved_by = actors.label(actor)
    report.resolved_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"resolve_report:{action}",
        target_type="report",
        target_id=report.id,
        details={"note": note},
    )
    return report
