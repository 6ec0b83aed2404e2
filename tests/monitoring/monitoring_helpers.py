"""Helpers for the monitoring tests: where the configs live and how to find and run the tools."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from freemarket.ops.process import which

MONITORING_DIR = Path(__file__).resolve().parents[2] / "monitoring"
INSTALL_HINT = "run `make test-tools` (Debian: prometheus, prometheus-alertmanager)"


def require_tool(*names: str) -> str:
    """Return the path of the first tool found; fail under CI=true, else skip, if none is."""
    for name in names:
        path = which(name)
        if path:
            return path
    reason = f"{' / '.join(names)} not installed: {INSTALL_HINT}"
    # CI must prove the configs valid: a missing tool there is a broken setup, not a skip.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a command, returning its result; stdout and stderr are kept for assertion messages."""
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, check=False
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    """Assert a command exited 0, showing its output otherwise."""
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
