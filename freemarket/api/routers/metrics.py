"""Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter, Response

from freemarket import metrics, stats
from freemarket.api.deps import DbSession

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(db: DbSession) -> Response:
    """Metrics in the Prometheus text format (nginx keeps this internal)."""
    figures = stats.domain_figures(db)
    metrics.refresh_domain_gauges(
        {
            "users": figures.users,
            "items_active": figures.items_active,
            "matching_backlog": figures.matching_backlog,
            "notifications": figures.notifications,
            "exchanges": figures.exchanges,
        }
    )
    body, content_type = metrics.render_latest()
    return Response(content=body, media_type=content_type)
