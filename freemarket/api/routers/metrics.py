"""Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter, Response

from freemarket.api.deps import AppSettings, DbSession
from freemarket.domain import stats
from freemarket.infra import metrics, ops_status

router = APIRouter(tags=["monitoring"])


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(db: DbSession, settings: AppSettings) -> Response:
    """Metrics in the Prometheus text format (nginx keeps this internal)."""
    figures = stats.domain_figures(db)
    last_backup = ops_status.last_good_backup(settings.backup_dir)
    certificate = settings.certs_dir / "fullchain.pem" if settings.certs_dir else None
    expiry = ops_status.earliest_certificate_expiry(settings.tls_config_dir, certificate)
    metrics.refresh_domain_gauges(
        {
            "users": figures.users,
            "items_active": figures.items_active,
            "matching_backlog": figures.matching_backlog,
            "notifications": figures.notifications,
            "exchanges": figures.exchanges,
            # 0 means "none": the alert rules read a missing backup as the oldest possible one
            # and a missing certificate as nothing to warn about.
            "backup_last_success_timestamp": last_backup.timestamp() if last_backup else 0,
            "tls_certificate_expiry_timestamp": expiry.timestamp() if expiry else 0,
        }
    )
    body, content_type = metrics.render_latest()
    return Response(content=body, media_type=content_type)
