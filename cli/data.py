"""`freemarket import` and `freemarket demo`: load listings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress

from cli.common import console, err_console, print_json, print_table, transaction

if TYPE_CHECKING:
    from freemarket.domain.importer import ImportReport


def _run_import(lines: list[str], *, label: str) -> ImportReport:
    from freemarket.domain.importer import import_lines

    with Progress(console=err_console, transient=True) as progress, transaction() as session:
        task = progress.add_task(label, total=len(lines))
        return import_lines(session, lines, progress=lambda n: progress.update(task, completed=n))


def _render(report: ImportReport, *, json_output: bool) -> None:
    if json_output:
        print_json(report.as_dict())
        return
    rows = [
        [kind, report.created[kind], report.updated[kind], report.skipped[kind]]
        for kind in ("user", "item")
    ]
    print_table("import", ["record", "created", "updated", "skipped"], rows)
    if report.ignored:
        console.print(f"ignored {report.ignored} line(s) of other record types (truth)")
    for rejected in report.rejected:
        console.print(f"[red]line {rejected.line}:[/red] {rejected.reason}")
    if report.rejected:
        console.print(f"[red]rejected {len(report.rejected)} line(s)[/red]")


def _read_lines(path: Path) -> list[str]:
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a JSON Lines file")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise typer.BadParameter(f"no such file: {path}") from exc
    except UnicodeDecodeError as exc:
        raise typer.BadParameter(f"{path} is not UTF-8 text") from exc
    if text.lstrip().startswith("["):
        # A JSON array would otherwise be rejected line by line with confusing reasons.
        raise typer.BadParameter(
            f"{path} is a JSON array; the import reads JSON Lines, one object per line "
            "(convert with: jq -c '.[]' FILE)"
        )
    return text.splitlines()


def import_file(
    file: Path = typer.Argument(..., help="JSON Lines of users and items (`-` for stdin)."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 if any line is rejected."),
) -> None:
    """Import users and items from JSON Lines; idempotent on username and external_id."""
    import sys

    lines: Iterable[str] = sys.stdin.read().splitlines() if str(file) == "-" else _read_lines(file)
    report = _run_import(list(lines), label=f"importing {file.name}")
    _render(report, json_output=json_output)
    if strict and report.rejected:
        raise typer.Exit(1)


def demo(
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Load demo users and items (safe to run again)."""
    from freemarket.domain.demo import DEMO_FILE

    report = _run_import(DEMO_FILE.read_text(encoding="utf-8").splitlines(), label="demo data")
    _render(report, json_output=json_output)
