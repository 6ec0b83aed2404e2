"""`freemarket report`: moderation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from cli.common import console, print_json, print_table, transaction

if TYPE_CHECKING:
    from freemarket.db.models import Report

app = typer.Typer(help="List and resolve reports of items and users.")
COLUMNS = ("id", "status", "item_id", "reported_user_id", "reporter_id", "reason", "created_at")


def _as_dict(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "status": report.status,
        "item_id": report.item_id,
        "reported_user_id": report.reported_user_id,
        "reporter_id": report.reporter_id,
        "reason": report.reason,
        "resolution": report.resolution,
        "created_at": report.created_at.isoformat(timespec="seconds"),
    }


@app.command("list")
def list_reports(
    status: str = typer.Option("open", help="open, resolved, dismissed, or all."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List reports (open ones by default)."""
    from freemarket.domain import reports

    with transaction() as session:
        rows = [
            _as_dict(r)
            for r in reports.list_reports(
                session, status=None if status == "all" else status, limit=limit
            )
        ]
    if json_output:
        print_json(rows)
        return
    print_table(f"reports ({len(rows)})", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])


@app.command()
def resolve(
    report_id: int,
    action: str = typer.Option(
        "dismiss", "--action", "-a", help="dismiss, hide-item, or ban-user."
    ),
    note: str | None = typer.Option(None, help="Why, for the record."),
) -> None:
    """Close a report: dismiss it, hide the reported item, or ban the user behind it."""
    from freemarket.domain import audit, reports

    with transaction() as session:
        report = reports.resolve_report(
            session, report_id=report_id, action=action, moderator="cli", note=note
        )
        audit.record(
            session,
            actor=None,
            action=f"resolve_report:{action}",
            target_type="report",
            target_id=report.id,
            details={"note": note},
        )
        status = report.status
    console.print(f"report {report_id} {status} ({action})")
