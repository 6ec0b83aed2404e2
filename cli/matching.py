"""`freemarket match` and `freemarket worker`: the matching engine from the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from cli.common import (
    console,
    engine,
    err_console,
    print_json,
    print_mapping,
    print_table,
    settings,
    transaction,
)

if TYPE_CHECKING:
    from freemarket.matching.recompute import RecomputeReport


match_app = typer.Typer(
    help="Recompute matches, show a user's matches, or retrain the notify model.",
    no_args_is_help=False,
)


@match_app.callback(invoke_without_command=True)
def match(
    ctx: typer.Context,
    recompute: bool = typer.Option(False, "--recompute", help="Rebuild every match in bulk."),
    category: list[str] = typer.Option(
        [], "--category", "-c", help="Only this category (repeatable); with --recompute."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Compute and report, change nothing."),
    user: str | None = typer.Option(None, "--user", "-u", help="Show this user's matches."),
    explain: bool = typer.Option(False, "--explain", help="With --user: show shared terms."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Recompute matches in bulk, or show one user's matches and trades."""
    if ctx.invoked_subcommand is not None:
        return
    if recompute == (user is not None):
        raise typer.BadParameter("give exactly one of --recompute or --user USERNAME")
    if recompute:
        _recompute(categories=category, dry_run=dry_run, json_output=json_output)
    else:
        _show_user(user or "", explain=explain, json_output=json_output)


@match_app.command("train")
def train(
    data: list[str] = typer.Option(
        ..., "--data", "-d", help="Labelled set(s) in the import format with truth lines."
    ),
    dismissals: bool = typer.Option(
        True, "--dismissals/--no-dismissals", help='Add "not interested" pairs as negatives.'
    ),
    out: str | None = typer.Option(
        None, "--out", "-o", help="Model file to write (default: DATA_DIR/notify-model.json)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Fit the notify model on labelled pairs; set MATCH_MODEL_PATH to the file to use it."""
    from pathlib import Path

    from freemarket.matching.training import train_model

    target = Path(out) if out else settings().data_dir / "notify-model.json"
    with transaction() as session:
        report = train_model(
            session if dismissals else None,
            [Path(p) for p in data],
            target,
            thresholds=_thresholds(),
        )
    if json_output:
        print_json(report)
        return
    print_mapping("notify model", report)
    console.print(f"set MATCH_MODEL_PATH={target} and restart the workers to use it")


def _thresholds() -> Any:
    from freemarket.matching.params import thresholds_from

    return thresholds_from(settings())


def _recompute(*, categories: list[str], dry_run: bool, json_output: bool) -> None:
    from rich.progress import Progress

    from freemarket.matching.params import thresholds_from
    from freemarket.matching.recompute import partitions, recompute

    with transaction() as session:
        chosen = categories or partitions(session)
        # No refresh thread: matching forks worker processes only from a single-threaded
        # process (vectorize.fork_pool), so a thread here would make it run on one core.
        with Progress(console=err_console, transient=True, auto_refresh=False) as bar:
            task = bar.add_task("recompute", total=None)

            def progress(phase: str, done: int, total: int) -> None:
                bar.update(
                    task,
                    description=f"recompute: {phase}",
                    completed=done,
                    total=total,
                    refresh=True,
                )

            report = recompute(
                session,
                thresholds=thresholds_from(settings()),
                categories=chosen,
                dry_run=dry_run,
                progress=progress,
            )
    _render_recompute(report, json_output=json_output)


def _render_recompute(report: RecomputeReport, *, json_output: bool) -> None:
    totals = report.totals
    rows: list[dict[str, Any]] = [
        {
            "category": p.category,
            "wants": p.wants,
            "added": p.changes.added,
            "removed": p.changes.removed,
            "kept": p.changes.kept,
            "rescored": p.changes.rescored,
            "notified": p.changes.notified,
            "seconds": round(p.seconds, 3),
        }
        for p in report.partitions
    ]
    summary = {
        "dry_run": report.dry_run,
        "items": report.items,
        "match_seconds": round(report.match_seconds, 3),
        "added": totals.added,
        "removed": totals.removed,
        "kept": totals.kept,
        "rescored": totals.rescored,
        "notified": totals.notified,
        "seconds": round(report.seconds, 3),
    }
    if json_output:
        print_json({"summary": summary, "partitions": rows})
        return
    columns = list(rows[0]) if rows else ["category"]
    print_table("recompute by category", columns, [[r[c] for c in columns] for r in rows])
    title = "recompute (dry run: nothing written)" if report.dry_run else "recompute"
    print_mapping(title, summary)


def _show_user(username: str, *, explain: bool, json_output: bool) -> None:
    from sqlalchemy import select

    from freemarket.db.models import User
    from freemarket.domain import users
    from freemarket.domain.actors import OPERATOR
    from freemarket.matching import queries

    with transaction() as session:
        user = users.get_user_by_username(session, username)
        found = queries.matches_for_user(
            session, actor=OPERATOR, user_id=user.id, min_score=settings().match_show_threshold
        )
        rows = [
            {
                "match_id": m.id,
                "score": round(m.score, 4),
                # Which side is this user's, and who is on the other one.
                "yours": "want" if m.want_item.user_id == user.id else "offer",
                "with": (
                    m.offer_item.owner.username
                    if m.want_item.user_id == user.id
                    else m.want_item.owner.username
                ),
                "want": f"#{m.want_item.id} {m.want_item.title}",
                "offer": f"#{m.offer_item.id} {m.offer_item.title}",
                "shared_terms": m.explanation.get("shared_terms", []),
            }
            for m in found
        ]
        trade_rows = queries.trades_for_user(
            session, actor=OPERATOR, user_id=user.id, min_score=settings().match_show_threshold
        )
        names = dict(
            session.execute(
                select(User.id, User.username).where(
                    User.id.in_({u for t in trade_rows for u in t.proposal.users})
                )
            ).all()
        )
        trades = [
            {
                "kind": t.proposal.kind,
                "users": [names.get(u, str(u)) for u in t.proposal.users],
                "score": t.proposal.score,
                "match_ids": t.match_ids,
                "overlaps_with_other_trades": t.proposal.overlapping,
            }
            for t in trade_rows
        ]
    if json_output:
        print_json({"user": username, "matches": rows, "trades": trades})
        return
    columns = ["match_id", "score", "yours", "with", "want", "offer"]
    table_rows = [[f"{r[c]:.2f}" if c == "score" else r[c] for c in columns] for r in rows]
    if explain:
        columns.append("why")
        for table_row, r in zip(table_rows, rows, strict=True):
            table_row.append(", ".join(f"{t['term']} {t['weight']:.2f}" for t in r["shared_terms"]))
    print_table(f"matches of {username} ({len(rows)})", columns, table_rows)
    if trades:
        trade_columns = ["kind", "users", "score", "match_ids", "overlaps_with_other_trades"]
        print_table(
            f"swaps and cycles of {username} ({len(trades)})",
            trade_columns,
            [[f"{t[c]:.2f}" if c == "score" else t[c] for c in trade_columns] for t in trades],
        )


def worker(
    once: bool = typer.Option(False, "--once", help="Drain the queue once, then exit."),
    poll: float = typer.Option(0.5, min=0.01, help="Seconds to sleep when the queue is empty."),
    metrics_port: int = typer.Option(
        9101, min=0, max=65535, help="Serve /metrics on this port (0: don't)."
    ),
    partition: str = typer.Option(
        "1/1",
        envvar="MATCH_PARTITION",
        help="I/N: index and match only partition I of N of the categories (run N workers).",
    ),
) -> None:
    """Run background jobs: matching new and changed items, writing notifications."""
    import signal
    import threading

    from freemarket.infra import wakeup
    from freemarket.matching.partition import Partition
    from freemarket.matching.worker import MatchWorker

    try:
        share = Partition.parse(partition)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--partition") from None
    settings().validate_for_startup()
    wakeup.configure(settings().redis_url)
    match_worker = MatchWorker(engine(), settings(), partition=share)
    if once:
        result = match_worker.run_until_idle()
        console.print(
            f"processed {result.processed} job(s), {result.failed} failed; "
            f"matches +{result.added} -{result.removed}; notified {result.notified}"
        )
        return
    if metrics_port:
        from freemarket.infra.metrics import start_metrics_server

        start_metrics_server(metrics_port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    console.print("worker running; Ctrl+C to stop")
    match_worker.run_forever(stop, poll_seconds=poll)
