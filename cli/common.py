"""Shared CLI plumbing: settings, the command's unit of work, and rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from freemarket.infra.settings import Settings

console = Console()
err_console = Console(stderr=True)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON.")
# No "-f" short form: `deploy logs -f` follows, as in docker, and one letter means one thing.
COMPOSE_FILE_OPTION = typer.Option(
    None,
    "--compose-file",
    help="The compose file; several separated by ':' (default: COMPOSE_FILE).",
)
DOMAIN_OPTION = typer.Option(None, "--domain", help="The public domain (default: DOMAIN).")


def settings() -> Settings:
    """The settings of this process (environment and `.env`)."""
    from freemarket.infra.settings import get_settings

    return get_settings()


def engine() -> Engine:
    """The engine for the configured database."""
    from cli import startup
    from freemarket.db.session import get_engine

    configured = get_engine(settings().effective_database_url)
    startup.resume()  # the command's imports are done: collect garbage again
    return configured


@contextmanager
def transaction() -> Iterator[Session]:
    """The command's unit of work: one transaction, committed when the command succeeds."""
    from freemarket.db.session import unit_of_work

    with unit_of_work(engine()) as session:
        yield session


def print_json(data: Any) -> None:
    """Print data as JSON on stdout (dates as ISO strings), for scripts."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a rich table."""
    table = Table(title=title)
    for index, column in enumerate(columns):
        # The first column is the row's id: never cut or wrapped, so it can be copied.
        table.add_column(column, no_wrap=index == 0)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def print_mapping(title: str, data: dict[str, Any]) -> None:
    """Print one record as a two-column table."""
    print_table(title, ["field", "value"], list(data.items()))
