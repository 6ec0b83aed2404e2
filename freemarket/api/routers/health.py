"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from freemarket.api.schemas import HealthOut
from freemarket.db import migrate

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut)
async def health() -> HealthOut:
    """200 while the process is up."""
    # On the event loop, not the thread pool: liveness must answer even when every thread is
    # busy with database work.
    return HealthOut(status="ok")


@router.get("/health/ready", response_model=HealthOut, responses={503: {"model": HealthOut}})
def ready(request: Request) -> JSONResponse:
    """200 only when the database answers and its schema is at the shipped head."""
    engine = request.app.state.engine
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        status = migrate.migration_status(engine)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "detail": reason}, status_code=503)
    if not status.at_head:
        reason = f"migrations pending: at {status.current or 'empty'}, head {status.head}"
        return JSONResponse({"status": "unavailable", "detail": reason}, status_code=503)
    return JSONResponse({"status": "ready", "detail": f"schema {status.head}"})
