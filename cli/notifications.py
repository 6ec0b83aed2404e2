"""`freemarket notifications`: inspect and handle the notification outbox."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from cli.common import JSON_OPTION, console, print_json, print_table, transaction

if TYPE_CHECKING:
    from freemarket.db.models import Notification

app = typer.Typer(help="List, retry and purge outbox rows (Telegram and web notifications).")


# Choices, so a mistyped value is a usage error naming them (the domain checks them too). Kept
# here rather than read from db/models.py, which would import SQLAlchemy for `--help`;
# tests/cli/test_operator_polish.py checks they match NOTIFICATION_STATUSES.
class Status(StrEnum):
    """An outbox row's status."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dead = "dead"
    skipped = "skipped"


class RetryStatus(StrEnum):
    """The statuses a row can be retried from."""

    failed = "failed"
    dead = "dead"
    skipped = "skipped"


class PurgeStatus(StrEnum):
    """The finished statuses a row can be purged in."""

    sent = "sent"
    dead = "dead"
    skipped = "skipped"


class Channel(StrEnum):
    """Where a notification goes."""

    web = "web"
    telegram = "telegram"


COLUMNS = ("id", "user_id", "channel", "kind", "status", "attempts", "next_attempt_at", "error")


def _row(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "user_id": n.user_id,
        "channel": n.channel,
        "kind": n.kind,
        "status": n.status,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at.isoformat(timespec="seconds"),
        "created_at": n.created_at.isoformat(timespec="seconds"),
        "sent_at": n.sent_at.isoformat(timespec="seconds") if n.sent_at else None,
        "error": n.last_error,
        "payload": n.payload,
    }


@app.command("list")
def list_outbox(
    status: Status | None = typer.Option(None, "--status", help="Only rows in this status."),
    channel: Channel | None = typer.Option(None, "--channel", help="Only this channel."),
    limit: int = typer.Option(50, min=1, max=10_000, help="At most this many, newest first."),
    json_output: bool = JSON_OPTION,
) -> None:
    """List outbox rows, newest first."""
    from freemarket.domain import notifications

    with transaction() as session:
        rows = [
            _row(n)
            for n in notifications.list_outbox(
                session,
                status=status.value if status else None,
                channel=channel.value if channel else None,
                limit=limit,
            )
        ]
        counts = notifications.counts_by_status(session)
    if json_output:
        print_json(rows)
        return
    print_table(
        f"notifications ({len(rows)} shown; "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + ")",
        COLUMNS,
        [[r[c] if c != "error" else (r[c] or "")[:60] for c in COLUMNS] for r in rows],
    )


@app.command()
def retry(
    ids: list[int] = typer.Argument(None, help="Only these rows (default: every row of --status)."),
    status: RetryStatus = typer.Option(RetryStatus.failed, "--status", help="Rows in this status."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Queue failed, dead or skipped Telegram rows for another delivery attempt now."""
    from freemarket.domain import notifications

    with transaction() as session:
        count = notifications.retry(session, status=status.value, ids=ids or None)
    if json_output:
        print_json({"retried": count})
    else:
        console.print(f"queued {count} notification(s) for delivery")


@app.command()
def purge(
    status: PurgeStatus = typer.Option(PurgeStatus.sent, "--status", help="Rows in this status."),
    older_than_days: float = typer.Option(
        30, "--older-than-days", min=0, help="Only rows created this long ago."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Delete finished Telegram outbox rows older than --older-than-days (never the web inbox)."""
    from freemarket.domain import notifications

    with transaction() as session:
        count = notifications.purge(session, status=status.value, older_than_days=older_than_days)
    if json_output:
        print_json({"purged": count})
    else:
        console.print(f"deleted {count} notification(s)")
