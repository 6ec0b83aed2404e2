"""The `freemarket` command: parses arguments, calls freemarket.*, renders results."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from cli import (
    backup,
    bot,
    data,
    deploy,
    matching,
    migrate,
    notifications,
    ops,
    reports,
    serve,
    stats,
    tls,
    users,
)


def _version(value: bool) -> None:
    if value:
        from freemarket import __version__

        print(f"freemarket {__version__}")
        raise typer.Exit()


app = typer.Typer(
    name="freemarket",
    help="FreeMarket: run, migrate, import, and administer the barter marketplace.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """FreeMarket operator's toolkit."""


app.command()(serve.serve)
app.command()(serve.up)
app.add_typer(migrate.app, name="migrate")
app.add_typer(users.app, name="user")
app.add_typer(reports.app, name="report")
app.command()(stats.stats)
app.command("import")(data.import_file)
app.command()(data.demo)
app.add_typer(matching.match_app, name="match")
app.command()(matching.worker)
app.add_typer(bot.app, name="bot")
app.add_typer(notifications.app, name="notifications")
app.add_typer(backup.app, name="backup")
app.add_typer(tls.app, name="tls")
app.add_typer(deploy.app, name="deploy")
app.command()(ops.check)
app.command()(ops.doctor)
app.command()(ops.scale)
app.command()(ops.maintenance)


def _one_line(exc: BaseException) -> str:
    from freemarket.errors import FreeMarketError

    if isinstance(exc, FreeMarketError):
        return exc.message
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        # Driver errors span many lines (SQL, parameters, a link); the first one says it.
        cause = getattr(exc, "orig", None) or exc
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return f"database error: {first}"
    return f"unexpected error: {type(exc).__name__}: {exc}"


def _is(exc: BaseException, name: str) -> bool:
    # Typer ships its own copy of click (typer._click), so its exceptions are matched by
    # class name rather than imported from a private module.
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def _usage_error(exc: Any) -> str:
    """A usage error as one line that says how to get it right."""
    command = exc.ctx.command_path if exc.ctx is not None else "freemarket"
    return f"error: {exc.format_message()} (see `{command} --help`)"


def run() -> None:
    """Console-script entry point: errors become one line on stderr and a non-zero exit."""
    try:
        # standalone_mode=False: click hands usage errors back instead of printing a
        # multi-line usage block, so they become one line like every other error.
        result = app(standalone_mode=False)
    except Exception as exc:  # the last line of defence: no stack traces for operators
        if _is(exc, "NoArgsIsHelpError"):
            print(exc.ctx.get_help())  # type: ignore[attr-defined]
            sys.exit(2)
        if _is(exc, "UsageError"):
            print(_usage_error(exc), file=sys.stderr)
            sys.exit(2)
        if _is(exc, "Abort"):
            print("error: aborted", file=sys.stderr)
            sys.exit(1)
        if os.environ.get("FREEMARKET_DEBUG"):
            raise
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(1)
    # A command that raised typer.Exit(code) returns the code in this mode.
    sys.exit(result if isinstance(result, int) else 0)
