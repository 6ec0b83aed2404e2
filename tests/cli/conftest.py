"""Fixtures for the CLI tests: run the installed `freemarket` script against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The console script installed next to the interpreter running the tests (the venv's).
FREEMARKET = str(Path(sys.executable).with_name("freemarket"))


@dataclass(frozen=True, slots=True)
class Result:
    """What a finished `freemarket` process left behind."""

    code: int
    out: str
    err: str
    seconds: float

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


Run = Callable[..., Result]


def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """A CI-safe environment: the test database, no colours, no terminal width surprises."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DATABASE_URL=db_url,
        DATA_DIR=str(tmp_path / "data"),
        BACKUP_DIR=str(tmp_path / "backups"),
        ENVIRONMENT="development",
        NO_COLOR="1",
        TERM="dumb",
        COLUMNS="200",
        PYTHONIOENCODING="utf-8",
    )
    return env


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Run:
    """Run `freemarket ARGS...` in an empty directory (no `.env`) against the test database."""
    import time

    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)
    env = cli_env(db_url, tmp_path)

    def _run(*args: str, stdin: str | None = None, timeout: float = 60) -> Result:
        started = time.perf_counter()
        done = subprocess.run(
            [FREEMARKET, *args],
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=env,
            cwd=workdir,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)

    return _run
