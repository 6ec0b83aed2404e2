"""The web UI's own unit tests (Vitest): validation, error reading, i18n, allowed actions."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.e2e.conftest import REPO_ROOT, _unavailable

FRONTEND = REPO_ROOT / "frontend"


def test_vitest_suite_passes() -> None:
    if shutil.which("npm") is None:
        _unavailable("npm is not installed")
    if not (FRONTEND / "node_modules" / ".bin" / "vitest").exists():
        # Installs the locked dependencies (and builds, which the e2e test needs anyway).
        subprocess.run(
            ["bash", str(REPO_ROOT / "scripts" / "build-frontend.sh")], check=True, timeout=600
        )
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "FORCE_COLOR": "0"}
    done = subprocess.run(
        ["npm", "test", "--silent"],
        cwd=FRONTEND,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"vitest failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    if "passed" not in done.stdout:
        pytest.fail(f"vitest reported no passing tests:\n{done.stdout[-2000:]}")
