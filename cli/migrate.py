"""`freemarket migrate`: schema migrations."""

from __future__ import annotations

import typer

from cli.common import console, engine, print_json

app = typer.Typer(help="Upgrade, inspect or downgrade the database schema.")


@app.callback(invoke_without_command=True)
def migrate(ctx: typer.Context) -> None:
    """Upgrade the database to the newest schema (run with no subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from freemarket.db import migrate

    before = migrate.current_revision(engine())
    status = migrate.upgrade(engine())
    if before == status.current:
        console.print(f"database already at head ({status.head})")
    else:
        console.print(f"upgraded {before or 'empty database'} → {status.current}")


@app.command()
def status(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the current revision, the head, and pending migrations."""
    from freemarket.db import migrate

    state = migrate.migration_status(engine())
    if json_output:
        print_json(
            {
                "current": state.current,
                "head": state.head,
                "pending": state.pending,
                "at_head": state.at_head,
            }
        )
        return
    console.print(f"current: {state.current or 'empty database'}")
    console.print(f"head:    {state.head}")
    console.print(f"pending: {', '.join(state.pending) or 'none'}")


@app.command()
def check() -> None:
    """Exit 1 when the database is behind head or the models differ from the migrations."""
    from freemarket.db import migrate

    problems = migrate.check(engine())
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/red] {problem}")
        raise typer.Exit(1)
    console.print("[green]✓[/green] database schema is at head and matches the models")


@app.command()
def downgrade(
    revision: str = typer.Argument(..., help="Target revision id, 'base', or '-1'."),
) -> None:
    """Downgrade the database to REVISION."""
    from freemarket.db import migrate

    state = migrate.downgrade(engine(), revision)
    console.print(f"database now at {state.current or 'base (empty)'}")
