"""The matching parameters as configured: settings are their one source."""

from __future__ import annotations

from freemarket.infra.settings import Settings
from freemarket.matching.core.rules import Thresholds


def thresholds_from(settings: Settings) -> Thresholds:
    """The matching thresholds, top-k and radius configured in settings."""
    return Thresholds(
        show=settings.match_show_threshold,
        notify=settings.match_notify_threshold,
        top_k=settings.match_top_k,
        radius_km=settings.match_radius_km,
        model_path=str(settings.match_model_path) if settings.match_model_path else None,
    )


def default_thresholds() -> Thresholds:
    """The defaults of settings, without reading the environment (benchmarks, evaluations)."""
    return thresholds_from(Settings.model_construct())
