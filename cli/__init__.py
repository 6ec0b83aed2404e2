"""The `freemarket` command line (Typer)."""

import os

# Plain click help and errors instead of Typer's rich panels: help without type tags on
# flags (`--json <bool>`), usage errors that cli.main.run turns into one line, and a faster
# `--help` (rich's help renderer is not imported). Must be set before typer is imported.
os.environ.setdefault("TYPER_USE_RICH", "0")
