"""The Prometheus multiprocess directory, prepared before prometheus_client is imported.

Kept apart from :mod:`freemarket.infra.metrics` because importing that module creates the
metrics, and in multiprocess mode creating a metric opens a file in this directory: a server
must make the directory before the import, or it dies with FileNotFoundError (as the shipped
image did, where the compose file sets the variable and nothing created the directory).
"""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> Path:
    """Create `path` and delete stale metric files in it; call once before workers start."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    # Files left by a previous run would be merged into the new one (old counters, and gauges
    # of processes that no longer exist). Only prometheus_client's *.db files are removed, in
    # case the variable points somewhere shared.
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory
