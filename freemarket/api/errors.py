"""Map domain and database errors to HTTP answers; never leak a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from freemarket.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)

log = logging.getLogger("freemarket.api")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    InvalidInput: 422,
}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    return JSONResponse({"detail": exc.message}, status_code=code, headers=headers)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # Two concurrent requests can both pass a uniqueness pre-check; the database decides.
    log.info("integrity error: %s", type(exc).__name__)
    return JSONResponse({"detail": "conflicts with existing data"}, status_code=409)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI) -> None:
    """Register the error handlers on an app."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected)
