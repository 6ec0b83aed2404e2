"""Prometheus metrics: HTTP middleware, domain metrics and the exposition endpoint.

Multiprocess mode: when ``PROMETHEUS_MULTIPROC_DIR`` is set *before this module (and
prometheus_client) is first imported*, every process writes its samples to files in that
directory and :func:`render_latest` merges them, so a scrape that lands on any one of several
uvicorn workers still reports the whole replica. The directory must exist and should be emptied
when the server starts (see :func:`prepare_multiprocess_dir`).

Labels are always drawn from small fixed sets (HTTP method, route *template*, status code,
item kind, notification status, exchange state): never user ids, chat ids or raw paths.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import Mount

# Re-exported: callers that already import this module find them here.
from freemarket.infra.multiproc import MULTIPROC_ENV as MULTIPROC_ENV
from freemarket.infra.multiproc import prepare_multiprocess_dir as prepare_multiprocess_dir
from freemarket.matching.core import ITEM_KINDS

UNMATCHED_ROUTE = "unmatched"

# Domain gauges are recomputed from the database at scrape time by whichever process serves
# the scrape. "livemostrecent" makes the merged value the one written last, so a worker that
# has not refreshed yet (still at 0) or refreshed long ago cannot mask the current figure, as
# "max" or "sum" would.
_DB_GAUGE_MODE = "livemostrecent"

# --- HTTP -----------------------------------------------------------------------------------

_HTTP_LABELS = ("method", "route", "status")

HTTP_REQUESTS = Counter(
    "freemarket_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    _HTTP_LABELS,
)
HTTP_REQUEST_DURATION = Histogram(
    "freemarket_http_request_duration_seconds",
    "HTTP request duration in seconds, by method, route template and status code.",
    _HTTP_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# --- Domain ---------------------------------------------------------------------------------

USERS = Gauge(
    "freemarket_users",
    "Registered users.",
    multiprocess_mode=_DB_GAUGE_MODE,
)
ITEMS_ACTIVE = Gauge(
    "freemarket_items_active",
    "Active items, by kind (offer or want).",
    ["kind"],
    multiprocess_mode=_DB_GAUGE_MODE,
)
MATCHES_CREATED = Counter(
    "freemarket_matches_created_total",
    "Matches written by the matching worker or a recompute.",
)
MATCHING_JOB_LATENCY = Histogram(
    "freemarket_matching_job_latency_seconds",
    "Seconds from a matching job being enqueued to it being finished.",
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
MATCHING_BACKLOG = Gauge(
    "freemarket_matching_backlog_jobs",
    "Matching jobs waiting to be processed.",
    multiprocess_mode=_DB_GAUGE_MODE,
)
RECOMPUTE_DURATION = Histogram(
    "freemarket_matching_recompute_duration_seconds",
    "Duration of a bulk match recompute (one partition or the whole run).",
    buckets=(1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0),
)
NOTIFICATIONS = Gauge(
    "freemarket_notifications",
    "Notifications in the outbox, by status (pending, sent, failed, dead).",
    ["status"],
    multiprocess_mode=_DB_GAUGE_MODE,
)
NOTIFICATIONS_SENT = Counter(
    "freemarket_notifications_sent_total",
    "Notifications delivered.",
)
NOTIFICATIONS_FAILED = Counter(
    "freemarket_notifications_failed_total",
    "Notification delivery attempts that failed (each retry counts).",
)
TELEGRAM_API_ERRORS = Counter(
    "freemarket_telegram_api_errors_total",
    "Errors returned by the Telegram Bot API, by exception class name.",
    ["error"],
)
EXCHANGES = Gauge(
    "freemarket_exchanges",
    "Exchanges, by state.",
    ["state"],
    multiprocess_mode=_DB_GAUGE_MODE,
)
BACKUP_LAST_SUCCESS = Gauge(
    "freemarket_backup_last_success_timestamp_seconds",
    "Unix time of the newest good backup (0: none known).",
    multiprocess_mode=_DB_GAUGE_MODE,
)
TLS_CERT_EXPIRY = Gauge(
    "freemarket_tls_certificate_expiry_timestamp_seconds",
    "Unix time when the served TLS certificate expires (0: no certificate configured).",
    multiprocess_mode=_DB_GAUGE_MODE,
)
BUILD_INFO = Gauge(
    "freemarket_build_info",
    "Always 1; the version label carries the running application version.",
    ["version"],
    multiprocess_mode="max",
)


def _app_version() -> str:
    try:
        return version("freemarket")
    except PackageNotFoundError:
        return "unknown"


BUILD_INFO.labels(version=_app_version()).set(1)

# Label values known up front are always exported (as 0 when a refresh has no row for them).
# They are not set at import: in multiprocess mode a freshly started process writing 0 would
# be "most recent" and hide the figure another process refreshed a moment ago.
NOTIFICATION_STATUSES = ("pending", "sent", "failed", "dead")
_KNOWN_LABEL_VALUES: dict[str, tuple[str, ...]] = {
    "items_active": ITEM_KINDS,
    "notifications": NOTIFICATION_STATUSES,
    "exchanges": (),
}

# Key of refresh_domain_gauges() -> (gauge, label name or None for an unlabelled gauge).
_DOMAIN_GAUGES: dict[str, tuple[Gauge, str | None]] = {
    "users": (USERS, None),
    "items_active": (ITEMS_ACTIVE, "kind"),
    "matching_backlog": (MATCHING_BACKLOG, None),
    "notifications": (NOTIFICATIONS, "status"),
    "exchanges": (EXCHANGES, "state"),
    "backup_last_success_timestamp": (BACKUP_LAST_SUCCESS, None),
    "tls_certificate_expiry_timestamp": (TLS_CERT_EXPIRY, None),
}
DOMAIN_GAUGE_KEYS = frozenset(_DOMAIN_GAUGES)

# Label values this process has exported per labelled gauge: a value absent from a later
# refresh (a GROUP BY returns no row for a count of zero) is reset to 0 instead of keeping
# its stale figure.
_seen_labels: dict[str, set[str]] = {key: set(vals) for key, vals in _KNOWN_LABEL_VALUES.items()}


def refresh_domain_gauges(values: Mapping[str, float | Mapping[str, float]]) -> None:
    """Set the database-derived gauges from plain numbers; absent keys are left unchanged.

    Keys: ``users``, ``matching_backlog``, ``backup_last_success_timestamp``,
    ``tls_certificate_expiry_timestamp`` (numbers) and ``items_active`` (by kind),
    ``notifications`` (by status), ``exchanges`` (by state) (mappings of label value to number).
    """
    unknown = set(values) - DOMAIN_GAUGE_KEYS
    if unknown:
        raise KeyError(f"unknown domain gauge(s): {', '.join(sorted(unknown))}")
    for key, value in values.items():
        gauge, label = _DOMAIN_GAUGES[key]
        if label is None:
            if isinstance(value, Mapping):
                raise TypeError(f"{key} takes a number, not a mapping")
            gauge.set(value)
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"{key} takes a mapping of {label} to number")
        seen = _seen_labels.setdefault(key, set())
        seen.update(value)
        for label_value in seen:
            gauge.labels(label_value).set(value.get(label_value, 0))


# --- HTTP middleware ------------------------------------------------------------------------

Scope = dict[str, Any]
Message = dict[str, Any]


def route_label(scope: Scope, root_path_before: str = "") -> str:
    """Return the route template a routed request matched, or UNMATCHED_ROUTE."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if route is None or not isinstance(path, str):
        return UNMATCHED_ROUTE
    # Inside a mounted sub-application the route path is relative to the mount point, and
    # the router has appended the mount prefix to root_path, so the prefix is the difference.
    root_path = scope.get("root_path", "")
    prefix = root_path[len(root_path_before) :] if root_path.startswith(root_path_before) else ""
    if isinstance(route, Mount):
        # A bare mount (static files, SPA fallback) serves arbitrary paths below it: collapse
        # them into one label.
        return f"{prefix or path}/{{path}}"
    return f"{prefix}{path}" or "/"


class PrometheusMiddleware:
    """Pure ASGI middleware timing HTTP requests by method, route template and status."""

    def __init__(self, app: Any, *, skip_routes: Iterable[str] = ()) -> None:
        self.app = app
        self.skip_routes = frozenset(skip_routes)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Handle one ASGI call, recording HTTP requests and passing everything else through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        status = 500  # what the client sees if the app raises before starting a response
        root_path_before = scope.get("root_path", "")
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_label(scope, root_path_before)
            if route not in self.skip_routes:
                record_http(scope["method"], route, status, time.perf_counter() - start)


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    """Count one HTTP answer and its duration."""
    labels = (method, route, str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_REQUEST_DURATION.labels(*labels).observe(seconds)


def record_refusal(scope: Scope, seconds: float) -> None:
    """Count a request admission control refused (503) before any route was matched."""
    record_http(scope["method"], UNMATCHED_ROUTE, 503, seconds)


# --- Exposition -----------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    """Return the multiprocess directory if multiprocess mode is on, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


@cache
def _multiprocess_registry(path: str) -> CollectorRegistry:
    # The collector re-reads the files on every collect, so one registry per path is enough.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def exposition_registry() -> CollectorRegistry:
    """Return the registry to expose: the merged multiprocess view, or the default registry."""
    path = multiprocess_dir()
    return _multiprocess_registry(path) if path else REGISTRY


def render_latest() -> tuple[bytes, str]:
    """Render all metrics in the Prometheus text format as (body, content type)."""
    return generate_latest(exposition_registry()), CONTENT_TYPE_LATEST


def start_metrics_server(port: int, addr: str = "0.0.0.0") -> None:
    """Serve /metrics on a background thread (for the worker on 9101 and the bot on 9102)."""
    start_http_server(port, addr=addr, registry=exposition_registry())
