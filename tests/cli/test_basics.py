"""`freemarket --version` and `--help`: fast, and without importing the heavy libraries."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from freemarket import __version__
from tests.cli.conftest import FREEMARKET, cli_env


def _quick(*args: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [FREEMARKET, *args],
        capture_output=True,
        text=True,
        env=cli_env("sqlite:///" + str(tmp_path / "unused.db"), tmp_path),
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    return done, time.perf_counter() - started


def test_version(tmp_path: Path) -> None:
    done, _ = _quick("--version", tmp_path=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"freemarket {__version__}"


def test_help_is_fast_and_lists_commands(tmp_path: Path) -> None:
    _quick("--version", tmp_path=tmp_path)  # warm the bytecode cache
    done, seconds = _quick("--help", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("serve", "migrate", "user", "import", "demo"):
        assert command in done.stdout
    assert seconds < 1.5, f"freemarket --help took {seconds:.2f}s"
    assert not (tmp_path / "unused.db").exists(), "--help must not touch the database"


def test_help_of_subcommands(tmp_path: Path) -> None:
    for group in ("migrate", "user"):
        done, _ = _quick(group, "--help", tmp_path=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['freemarket', '--help']\n"
        "import cli.main\n"
        "try:\n"
        "    cli.main.app()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'sqlalchemy', 'fastapi', 'alembic', 'uvicorn', 'numpy', 'sklearn', 'scipy'}\n"
        "heavy &= {m.split('.')[0] for m in sys.modules}\n"
        "print('HEAVY:' + ','.join(sorted(heavy)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=30,
        check=False,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("HEAVY:"))
    heavy = {m for m in line.removeprefix("HEAVY:").split(",") if m}
    assert not heavy & {"sqlalchemy", "fastapi"}, heavy
    assert not heavy, f"--help imported {sorted(heavy)}"


def test_usage_errors_are_one_line_with_the_way_out(tmp_path: Path) -> None:
    """No box, no usage block: the error, and which --help tells the right way."""
    for args, message in [
        (("user", "list", "--bogus"), "error: No such option: --bogus"),
        (("deploy", "logs"), "error: Missing argument 'service'."),
        (("maintenance", "maybe"), "error: Invalid value for 'state'"),
    ]:
        done, _ = _quick(*args, tmp_path=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith(message), done.stderr
        command = " ".join(args[:2] if args[0] in ("user", "deploy") else args[:1])
        assert done.stderr.rstrip().endswith(f"(see `freemarket {command} --help`)")
        assert "╭" not in done.stderr


def test_option_help_has_no_type_tags_on_flags(tmp_path: Path) -> None:
    done, _ = _quick("deploy", "logs", "--help", tmp_path=tmp_path)
    assert done.returncode == 0
    assert "<bool>" not in done.stdout
    follow = next(line for line in done.stdout.splitlines() if "--follow" in line)
    assert follow.split()[:2] == ["-f,", "--follow"], follow
    assert "--compose-file" in done.stdout and "-f, --compose-file" not in done.stdout


def test_simple_commands_leave_the_morphology_dictionary_unread(
    db_url: str, tmp_path: Path
) -> None:
    """Listing users or reports analyses no text: pymorphy3's dictionary (~0.1 s) stays unread."""
    for command in (["user", "list"], ["report", "list"]):
        probe = (
            "import sys\n"
            f"sys.argv = ['freemarket', *{command!r}]\n"
            "import cli.main\n"
            "try:\n"
            "    cli.main.run()\n"
            "except SystemExit as done:\n"
            "    code = done.code\n"
            "print(f'CODE:{code} MORPH:{\"pymorphy3\" in sys.modules}', file=sys.stderr)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe],
            capture_output=True,
            text=True,
            env=cli_env(db_url, tmp_path),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert "CODE:0 MORPH:False" in done.stderr, (command, done.stderr[-2000:])


def test_the_dictionary_loads_on_first_use() -> None:
    from freemarket.matching.core.text import morph, word_key

    assert word_key("чехлы") == "чехол"  # a noun's lemma: the dictionary was read
    assert morph() is morph()  # once per process
