"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from freemarket import __version__
from freemarket.api import errors
from freemarket.api.middleware import BodySizeLimit
from freemarket.api.routers import categories, health, items, matches, profiles, ratings, users
from freemarket.db import get_engine
from freemarket.settings import Settings, get_settings

ROUTERS = (health, categories, users, profiles, items, matches, ratings)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """Build the API for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    settings.validate_for_startup()
    app = FastAPI(
        title="FreeMarket",
        version=__version__,
        description="Barter marketplace API: items, matches, exchanges, ratings.",
    )
    app.state.settings = settings
    app.state.engine = engine or get_engine(settings.effective_database_url)
    for module in ROUTERS:
        app.include_router(module.router)
    errors.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
