"""The README's operator guide as commands: the engine suite runs them word for word.

Each guide block in README.md is a ```bash fence preceded by `<!-- guide: NAME -->`. The
suite substitutes its own domain for the example one and placeholders it knows (BACKUP_ID).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[3] / "README.md"
EXAMPLE_DOMAIN = "freemarket.example"


def block(name: str) -> list[str]:
    """The lines of guide block `name` (comments included, blank lines dropped)."""
    text = README.read_text("utf-8")
    found = re.search(rf"<!-- guide: {re.escape(name)} -->\s*```bash\n(.*?)```", text, re.S)
    if found is None:
        raise AssertionError(f"README.md has no guide block {name!r}")
    return [line.strip() for line in found.group(1).splitlines() if line.strip()]


def commands(name: str) -> list[str]:
    """The command lines of guide block `name` (comments dropped)."""
    lines = [line.split(" #", 1)[0].strip() for line in block(name)]
    return [line for line in lines if line and not line.startswith("#")]


def line(name: str, prefix: str) -> str:
    """The command line of block `name` that starts with `prefix`."""
    for code in commands(name):
        if code.startswith(prefix):
            return code
    raise AssertionError(f"README guide block {name!r} has no line starting {prefix!r}")


def command(name: str, prefix: str, domain: str, **placeholders: str) -> list[str]:
    """The argv of the guide line in block `name` that starts with `prefix`."""
    code = line(name, prefix).replace(EXAMPLE_DOMAIN, domain)
    for key, value in placeholders.items():
        code = code.replace(key, value)
    return shlex.split(code)
