"""Imports go one way (docs/architecture.md, "What may import what"), checked on the source.

cli -> api, bot, ops -> matching (service side) -> domain -> db, infra; the pure matching core
(`freemarket/matching/core`) imports nothing of the application, and any layer may use it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ("api", "bot", "ops", "matching", "domain", "db", "infra", "errors", "cli")

# layer -> the layers it must not import. The core is a library; nothing below cli imports cli.
FORBIDDEN: dict[str, set[str]] = {
    "matching.core": set(APP),
    "api": {"ops", "cli"},
    "ops": {"api", "bot", "cli"},
    "bot": {"api", "ops", "cli"},
    "matching": {"api", "bot", "ops", "cli"},
    "domain": {"api", "bot", "ops", "cli", "matching"},
    "db": {"api", "bot", "ops", "cli", "matching", "domain"},
    "infra": {"api", "bot", "ops", "cli", "matching", "domain", "db"},
    "errors": set(APP) - {"errors"},
}


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (None: not the application's)."""
    parts = module.split(".")
    if parts[0] == "cli":
        return "cli"
    if parts[0] != "freemarket" or len(parts) < 2:
        return None
    if parts[1:3] == ["matching", "core"]:
        return "matching.core"
    return parts[1] if parts[1] in APP else None


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports (absolute names), anywhere in it (function bodies too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            # A relative import would slip past the layer names, so it is refused outright.
            found.add(f"<relative import in {path.name}>")
    return found


def violations(root: Path) -> set[str]:
    """`file imports module` for every import the layer rules forbid, below `root`."""
    found = set()
    for path in [*(root / "freemarket").rglob("*.py"), *(root / "cli").rglob("*.py")]:
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        source = layer_of(name)
        for module in imported_modules(path):
            target = layer_of(module)
            if module.startswith("<relative") or (
                source is not None and target in FORBIDDEN.get(source, set())
            ):
                found.add(f"{path.relative_to(root)} imports {module}")
    return found


def test_imports_follow_the_layers() -> None:
    assert violations(ROOT) == set()


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("freemarket/matching/core/engine.py", "from freemarket.db import models"),
        ("freemarket/matching/core/engine.py", "import freemarket.matching.store"),
        ("freemarket/api/routers/metrics.py", "from freemarket.ops.backup import list_backups"),
        ("freemarket/ops/doctor.py", "from freemarket.api import web"),
        ("freemarket/domain/items.py", "from cli.main import app"),
        ("freemarket/bot/views.py", "import cli.users"),
        ("freemarket/domain/items.py", "from freemarket.api.schemas import ItemOut"),
        ("freemarket/domain/items.py", "from freemarket.matching.store import to_listing"),
        ("freemarket/db/models.py", "from freemarket.domain.categories import x"),
        ("freemarket/infra/metrics.py", "from freemarket.domain import items"),
    ],
)
def test_each_rule_catches_its_violation(tmp_path: Path, where: str, line: str) -> None:
    """A forbidden import, even one inside a function, is reported; the allowed ones are not."""
    target = tmp_path / where
    target.parent.mkdir(parents=True)
    target.write_text(f"def f():\n    {line}\n    from freemarket.matching.core import OFFER\n")
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "main.py").write_text("from freemarket.api import app\n")
    found = violations(tmp_path)
    module = line.split()[1]
    assert f"{where} imports {module}" in found
    assert all(v.startswith(f"{where} imports {module}") for v in found), found


def test_importing_the_domain_loads_no_numerical_stack() -> None:
    """The domain, the matching package and the core's shared names stay light to import.

    Every CLI command, the API and the bot import the domain; numpy, scipy and scikit-learn
    cost about a second, paid only by what computes matches.
    """
    probe = (
        "import importlib, pkgutil, sys\n"
        "import freemarket.domain as domain\n"
        "for m in pkgutil.iter_modules(domain.__path__):\n"
        "    importlib.import_module('freemarket.domain.' + m.name)\n"
        "import freemarket.matching, freemarket.matching.core\n"
        "heavy = {'numpy', 'scipy', 'sklearn'} & {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
