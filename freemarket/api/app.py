"""The FastAPI application factory."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from freemarket import __version__
from freemarket.api import errors, openapi
from freemarket.api.middleware import (
    BodyLimits,
    ConcurrencyLimit,
    SecurityHeaders,
    security_headers,
)
from freemarket.api.retry import RetryLostRaces
from freemarket.api.routers import (
    auth,
    categories,
    exchanges,
    health,
    items,
    matches,
    metrics,
    notifications,
    photos,
    profiles,
    ratings,
    reports,
    telegram,
    users,
)
from freemarket.api.schemas import ErrorOut, InvalidOut
from freemarket.api.web import mount_web_ui
from freemarket.db.session import get_engine
from freemarket.domain import search
from freemarket.infra import wakeup
from freemarket.infra.metrics import PrometheusMiddleware, record_refusal
from freemarket.infra.ratelimit import make_rate_limiter
from freemarket.infra.settings import Settings, get_settings
from freemarket.infra.storage import make_storage

# Every error the API answers with, declared so clients (and the schema) know its shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not parseable JSON"},
    401: {"model": ErrorOut, "description": "No valid session (or a refused sign-in)"},
    403: {"model": ErrorOut, "description": "Signed in, but not allowed (or no CSRF header)"},
    404: {"model": ErrorOut, "description": "Not found, or not yours to see"},
    409: {
        "model": ErrorOut,
        "description": "Conflicts with the current state (or with this server's configuration)",
    },
    422: {"model": InvalidOut, "description": "Invalid input"},
    429: {"model": ErrorOut, "description": "Too many requests; see Retry-After"},
}

# A request is matched against each included router in this order, at a cost per route passed
# (FastAPI's _IncludedRouter.matches was 13 % of GET /api/notifications' CPU when it came 12th
# of 14): the probes and the hot reads come first. No two routers share a path, so the order
# decides nothing else.
ROUTERS = (
    health,
    categories,
    items,
    matches,
    notifications,
    users,
    metrics,
    auth,
    profiles,
    exchanges,
    ratings,
    reports,
    telegram,
    photos,
)


def api_pool_size(settings: Settings) -> int:
    """Database connections an API process keeps: one per request it lets in, and spares.

    A request holds its connection from its first query to its commit, across several hops to
    the thread pool. With fewer connections than requests in progress, threads block waiting
    for a connection while the requests holding one wait for a thread: everything stalls until
    the pool times out (issue 14 hit this at 32 connections). Connections beyond the pool's
    size are also closed after each use, so each request would pay for a new one.
    """
    return max(10, settings.max_concurrent_requests + 4)


def api_pool_overflow(settings: Settings) -> int:
    """Connections beyond the pool: none when the request limit bounds what is needed."""
    # The pool already covers every request let in plus the (exempt) probes, so the process
    # never holds more than limit + 4 connections; without a limit, the old elastic pool.
    return 0 if settings.max_concurrent_requests else 20


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the API for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    settings.validate_for_startup()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Plain `def` endpoints and dependencies run on this thread pool. A request may hold
        # a database row lock across several hops to it; if every thread were busy waiting
        # for that lock while its holder waited for a thread, nothing would move again. So
        # there is a thread for every request let in, and spares for the probes.
        limiter = to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.max_concurrent_requests + 8)
        # Parse the lexicon now, not in the first search someone makes.
        search.warm_up()
        yield
        telegram.close_runtime(_app.state)

    app = FastAPI(
        title="FreeMarket",
        version=__version__,
        description="Barter marketplace API: items, matches, exchanges, ratings.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(
        settings.effective_database_url,
        pool_size=api_pool_size(settings),
        max_overflow=api_pool_overflow(settings),
    )
    app.state.rate_limiter = make_rate_limiter(settings.redis_url)
    app.state.photo_storage = make_storage(settings)
    if settings.redis_url:
        # Each uvicorn worker process builds its own app: this is where it learns to nudge.
        wakeup.configure(settings.redis_url)
    for module in ROUTERS:
        responses = {} if module in (health, telegram) else ERROR_RESPONSES
        app.include_router(module.router, responses=responses)  # type: ignore[arg-type]
    # Every API route with its full path, for the Allow header of a 405 (errors.allowed_methods).
    app.state.api_routes = [
        route for module in ROUTERS for route in module.router.routes if isinstance(route, APIRoute)
    ]
    errors.install(app)
    openapi.install(app)
    # Last, so that its catch-all route for client-side paths never shadows an API route.
    mount_web_ui(app, settings.effective_web_dist_dir)
    # Added innermost first: the size limit sees the raw request, metrics see every answer
    # that passed admission. Admission control is outermost, so turning a request away costs
    # no other layer's work; its pre-rendered 503 carries the security headers itself and is
    # counted in the metrics by it. CORS, when configured, is outside it, so a browser can
    # read the 503 of a cross-origin call (its preflights are then answered before the
    # metrics and security headers: they carry no content).
    app.add_middleware(RetryLostRaces)
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=max(settings.photo_max_bytes, settings.max_body_bytes),
        upload_paths=re.compile(r"/api/items/\d+/photos"),
    )
    docs = frozenset(
        path
        for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
        if path is not None
    )
    app.add_middleware(SecurityHeaders, hsts=settings.secure_cookies, docs_paths=docs)
    app.add_middleware(PrometheusMiddleware)
    if settings.max_concurrent_requests:
        app.add_middleware(
            ConcurrencyLimit,
            limit=settings.max_concurrent_requests,
            retry_after=settings.overload_retry_after_seconds,
            queue=settings.max_queued_requests,
            max_wait=settings.max_queue_wait_ms / 1000,
            headers=security_headers(hsts=settings.secure_cookies),
            on_refuse=record_refusal,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token"],
        )
    return app
