"""Demo listings that make a fresh install show something real."""

from __future__ import annotations

from pathlib import Path

# JSON Lines in the `freemarket import` format; loaded by `freemarket demo` and `make run`.
DEMO_FILE = Path(__file__).resolve().parents[1] / "data" / "demo.jsonl"
