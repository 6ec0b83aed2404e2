"""Simple commands start fast: they import only what they need (issue 12's 0.6 s target).

Wall time on a shared machine is too noisy to assert on; what a command imports is not. The
figures themselves come from `benchmarks/cli.py` (docs/benchmarks.md, "CLI start-up").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run, cli_env

SIMPLE_COMMANDS = (
    ["user", "list"],
    ["stats"],
    ["match", "--user", "demo_anna"],
    ["report", "list"],
)
# The web server, the bot, migrations, the numeric stack and the Docker SDK: none is needed to
# read a few rows and print them, and each costs tenths of a second to import.
HEAVY_LIBRARIES = {
    "fastapi",
    "starlette",
    "uvicorn",
    "aiogram",
    "alembic",
    "numpy",
    "scipy",
    "sklearn",
    "docker",
    "httpx",
    "pymorphy3",
}
# Our own modules that only writes, the API, the bot or operations need: the item and exchange
# rules (they pull in search and the text pipeline), pydantic bodies, every other cli module.
NOT_NEEDED_PREFIXES = (
    "freemarket.api",
    "freemarket.bot",
    "freemarket.ops",
    "freemarket.domain.items",
    "freemarket.domain.exchanges",
    "freemarket.domain.search",
    "freemarket.domain.fields",
    "freemarket.domain.item_fields",
    "freemarket.domain.telegram_auth",
    "freemarket.domain.sessions",
    "freemarket.matching.recompute",
    "freemarket.matching.core.engine",
)

PROBE = """
import sys
sys.argv = ['freemarket', *{command!r}]
import cli.main
try:
    cli.main.run()
except SystemExit as done:
    code = done.code
import gc
print('CODE:%s GC:%s' % (code, gc.isenabled()), file=sys.stderr)
print('MODULES:' + ','.join(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(command: list[str], db_url: str, tmp_path: Path) -> set[str]:
    """Run one command in a fresh interpreter; the modules it had imported when it finished."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(command=command)],
        capture_output=True,
        text=True,
        env=cli_env(db_url, tmp_path),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    # Garbage collection was paused for start-up only: on again once the database was opened.
    assert "CODE:0 GC:True" in done.stderr, (command, done.stderr[-2000:])
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES:"))
    return set(line.removeprefix("MODULES:").split(","))


@pytest.mark.parametrize("command", SIMPLE_COMMANDS, ids=" ".join)
def test_simple_commands_import_only_what_they_need(
    command: list[str], run: Run, db_url: str, tmp_path: Path
) -> None:
    assert run("demo").code == 0  # rows to list, a user whose matches to show
    modules = _modules_after(command, db_url, tmp_path)
    heavy = HEAVY_LIBRARIES & {m.split(".")[0] for m in modules}
    assert not heavy, f"freemarket {' '.join(command)} imported {sorted(heavy)}"
    ours = sorted(m for m in modules if m.startswith(NOT_NEEDED_PREFIXES))
    assert not ours, f"freemarket {' '.join(command)} imported {ours}"
    # Only the invoked command's module is imported, not the other fourteen.
    cli_modules = {m for m in modules if m.startswith("cli.")} - {
        "cli.main",
        "cli.common",
        "cli.startup",
    }
    assert len(cli_modules) == 1, sorted(cli_modules)


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    """Commands are registered lazily; the full `--help` still names each one."""
    from cli.main import COMMANDS

    done = subprocess.run(
        [sys.executable, "-c", "from cli.main import run; run()", "--help"],
        capture_output=True,
        text=True,
        env=cli_env("sqlite:///" + str(tmp_path / "unused.db"), tmp_path),
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line}
    assert listed == set(COMMANDS)


def test_garbage_collection_resumes_by_itself_when_no_database_is_opened() -> None:
    """A command that never opens the database (bot, deploy) collects again after a moment."""
    probe = (
        "import gc, time\n"
        "from cli import startup\n"
        "startup.pause()\n"
        "paused = not gc.isenabled()\n"
        "time.sleep(startup.RESUME_AFTER_SECONDS + 1)\n"
        "print(f'PAUSED:{paused} RESUMED:{gc.isenabled()}')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert "PAUSED:True RESUMED:True" in done.stdout, done.stderr
