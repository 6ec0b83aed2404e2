"""Every error code the API can answer with has a message in each of the web UI's catalogs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCALES = REPO / "frontend" / "src" / "locales"


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def codes_in_source() -> dict[str, str]:
    """code -> where it is raised: code="..." arguments, "code": "..." bodies, default codes."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "freemarket").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = str(path.relative_to(REPO))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "code":
                value = _string(node.value)
            elif isinstance(node, ast.Dict):
                pairs = dict(zip([_string(k) for k in node.keys], node.values, strict=True))
                value = _string(pairs.get("code"))
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id in ("default_code", "HTTP_FALLBACK_CODE")
                for t in node.targets
            ):
                value = _string(node.value)
            else:
                continue
            if value:
                found.setdefault(value, f"{where}:{node.lineno}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HTTP_CODES" for t in node.targets
            ):
                assert isinstance(node.value, ast.Dict)
                for v in node.value.values:
                    if (code := _string(v)) is not None:
                        found.setdefault(code, where)
    return found


def test_the_scan_finds_codes_of_every_kind() -> None:
    codes = codes_in_source()
    # A raise-site code, a class default, a framework answer, a middleware body.
    for code in ("item_not_found", "not_found", "bad_request", "body_too_large", "http_error"):
        assert code in codes, code


def test_every_error_code_has_a_message_in_every_language() -> None:
    codes = codes_in_source()
    assert len(codes) > 60
    for catalog in sorted(LOCALES.glob("*.json")):
        messages = json.loads(catalog.read_text(encoding="utf-8"))
        missing = {c: w for c, w in codes.items() if f"error.{c}" not in messages}
        assert not missing, f"{catalog.name} has no error.<code> message for {missing}"
