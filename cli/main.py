"""The `freemarket` command: parses arguments, calls freemarket.*, renders results."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import typer

# Name -> (module, attribute, is a group), in the order `--help` lists them. Each module is
# imported only when its command runs (or for the full `--help`): building every command's
# parameters and importing every cli module cost each simple command ~0.05 s (issue 12).
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "serve": ("cli.serve", "serve", False),
    "up": ("cli.serve", "up", False),
    "migrate": ("cli.migrate", "app", True),
    "user": ("cli.users", "app", True),
    "report": ("cli.reports", "app", True),
    "stats": ("cli.stats", "stats", False),
    "import": ("cli.data", "import_file", False),
    "demo": ("cli.data", "demo", False),
    "match": ("cli.matching", "match_app", True),
    "worker": ("cli.matching", "worker", False),
    "bot": ("cli.bot", "app", True),
    "notifications": ("cli.notifications", "app", True),
    "backup": ("cli.backup", "app", True),
    "tls": ("cli.tls", "app", True),
    "deploy": ("cli.deploy", "app", True),
    "check": ("cli.ops", "check", False),
    "doctor": ("cli.ops", "doctor", False),
    "scale": ("cli.ops", "scale", False),
    "maintenance": ("cli.ops", "maintenance", False),
}


def _version(value: bool) -> None:
    if value:
        from freemarket import __version__

        print(f"freemarket {__version__}")
        raise typer.Exit()


def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """FreeMarket operator's toolkit."""


def build(only: str | None = None) -> typer.Typer:
    """The `freemarket` application with every command, or with just the command `only`."""
    application = typer.Typer(
        name="freemarket",
        help="FreeMarket: run, migrate, import, and administer the barter marketplace.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    application.callback()(main)
    for name, (module, attribute, group) in COMMANDS.items():
        if only is not None and name != only:
            continue
        command = getattr(importlib.import_module(module), attribute)
        if group:
            application.add_typer(command, name=name)
        else:
            application.command(name)(command)
    return application


def __getattr__(name: str) -> Any:
    # `cli.main.app`, the whole application, is built on first access only (tests, tools).
    if name == "app":
        global app
        app = build()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _command_named(argv: list[str]) -> str | None:
    """The command the arguments name, when the first one is a command (else None: all)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


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
    from cli import startup

    startup.pause()  # imports make no garbage; see cli/startup.py
    try:
        # standalone_mode=False: click hands usage errors back instead of printing a
        # multi-line usage block, so they become one line like every other error.
        result = build(only=_command_named(sys.argv[1:]))(standalone_mode=False)
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
