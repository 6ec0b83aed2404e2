"""Fixtures locating promtool, amtool and Alertmanager (skipped locally, failed in CI if absent)."""

from __future__ import annotations

import pytest

from tests.monitoring.monitoring_helpers import require_tool


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path to promtool."""
    return require_tool("promtool")


@pytest.fixture(scope="session")
def amtool() -> str:
    """Path to amtool."""
    return require_tool("amtool")


@pytest.fixture(scope="session")
def alertmanager_bin() -> str:
    """Path to the Alertmanager server (Debian names it prometheus-alertmanager)."""
    return require_tool("alertmanager", "prometheus-alertmanager")
