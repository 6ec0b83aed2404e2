"""`freemarket report`: moderation."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from cli.common import console, print_json, print_table, transaction

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from freemarket.db.models import Report

app = typer.Typer(help="List and resolve reports of items and users.")
COLUMNS = ("id", "status", "item", "reported user", "reporter", "reason", "created_at")


class Status(StrEnum):
    """Which reports to list."""

    open = "open"
    resolved = "resolved"
    dismissed = "dismissed"
    all = "all"


class Action(StrEnum):
    """How a moderator closes a report."""

    dismiss = "dismiss"
    hide_item = "hide-item"
    ban_user = "ban-user"


def _rows(session: Session, found: list[Report]) -> list[dict[str, Any]]:
    """Reports as table rows, with the names the domain looks up for them."""
    from freemarket.domain import reports

    return [
        {
            "id": line.report.id,
            "status": line.report.status,
            "item_id": line.report.item_id,
            "item": line.item_title,
            "reported_user_id": line.reported_user_id,
            "reported user": line.reported_username,
            "reporter_id": line.report.reporter_id,
            "reporter": line.reporter_username,
            "reason": line.report.reason,
            "resolution": line.report.resolution,
            "created_at": line.report.created_at.isoformat(timespec="seconds"),
        }
        for line in reports.describe(session, found)
    ]


@app.command("list")
def list_reports(
    status: Status = typer.Option(Status.open, help="Which reports to show."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List reports (open ones by default)."""
    from freemarket.domain import reports

    with transaction() as session:
        found = reports.list_reports(
            session, status=None if status is Status.all else status.value, limit=limit
        )
        rows = _rows(session, list(found))
    if json_output:
        print_json(rows)
        return
    if not rows:
        queue = "" if status is Status.all else f"{status.value} "
        console.print(f"No {queue}reports: the moderation queue is empty.")
        return
    print_table(f"reports ({len(rows)})", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])


@app.command()
def resolve(
    report_id: int,
    action: Action = typer.Option(Action.dismiss, "--action", "-a", help="How to close it."),
    note: str | None = typer.Option(None, help="Why, for the record."),
) -> None:
    """Close a report: dismiss it, hide the reported item, or ban the user behind it."""
    from freemarket.domain import reports
    from freemarket.domain.actors import OPERATOR

    with transaction() as session:
        report = reports.resolve_report(
            session, actor=OPERATOR, report_id=report_id, action=action.value, note=note
        )
        status = report.status
    console.print(f"report {report_id} {status} ({action.value})")
