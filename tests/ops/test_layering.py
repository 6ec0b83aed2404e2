"""api and ops never import each other; /metrics gets ops facts through infra.ops_status."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "freemarket"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names), anywhere in it (function bodies too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(("side", "forbidden"), [("api", "ops"), ("ops", "api")])
def test_api_and_ops_do_not_import_each_other(side: str, forbidden: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in (PACKAGE / side).rglob("*.py")
        for name in imported_modules(path)
        if name == f"freemarket.{forbidden}" or name.startswith(f"freemarket.{forbidden}.")
    }
    assert offenders == set()


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from freemarket.ops.backup import list_backups\n")
    assert "freemarket.ops.backup" in imported_modules(sample)
