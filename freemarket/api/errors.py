"""Map domain and database errors to HTTP answers; never leak a stack trace."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from freemarket.api.middleware import security_headers
from freemarket.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotConfigured,
    NotFound,
    RateLimited,
    Unauthenticated,
)

log = logging.getLogger("freemarket.api")

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Unauthenticated: 401,
    InvalidInput: 422,
    RateLimited: 429,
    NotConfigured: 503,
}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    body = {"detail": exc.message, "code": exc.code, "params": jsonable_encoder(exc.params)}
    return JSONResponse(body, status_code=code, headers=headers)


def _printable(value: Any) -> Any:
    """A JSON-encodable copy: NaN/Infinity and lone surrogates become plain strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own handler echoes the offending input, which fails to encode (a 500) when it
    # is NaN, Infinity or a lone surrogate; the same answer, with such values made printable.
    assert isinstance(exc, RequestValidationError)
    detail = _printable(jsonable_encoder(exc.errors()))
    # Each issue carries pydantic's own `type` and `ctx` (e.g. string_too_short, min_length),
    # which clients translate per field; `code` names the answer as a whole like a DomainError's.
    body = {"detail": detail, "code": "validation_failed", "params": {}}
    return JSONResponse(body, status_code=422)


# Codes of the framework's own answers (unparseable body, unknown route), like a DomainError's.
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
HTTP_FALLBACK_CODE = "http_error"


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {
        "detail": exc.detail,
        "code": HTTP_CODES.get(exc.status_code, HTTP_FALLBACK_CODE),
        "params": {},
    }
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # Two concurrent requests can both pass a uniqueness pre-check; the database decides.
    log.info("integrity error: %s", type(exc).__name__)
    body = {"detail": "conflicts with existing data", "code": "conflict", "params": {}}
    return JSONResponse(body, status_code=409)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    # Starlette answers unhandled errors outside every middleware, SecurityHeaders included.
    hsts = request.app.state.settings.secure_cookies
    headers = {k.decode(): v.decode() for k, v in security_headers(hsts=hsts)}
    body = {"detail": "internal error", "code": "internal_error", "params": {}}
    return JSONResponse(body, status_code=500, headers=headers)


def install(app: FastAPI) -> None:
    """Register the error handlers on an app."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(Exception, _unexpected)
