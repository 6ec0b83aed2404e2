"""Map domain and database errors to HTTP answers; never leak a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from freemarket.api.middleware import security_headers
from freemarket.api.web import RESERVED_PREFIXES
from freemarket.domain import jsonpolicy
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
    # A 4xx: the server works, it does not offer this (no bot, say). A 5xx would read as an
    # outage, be counted as one, and invite a retry that can only get the same answer.
    NotConfigured: 409,
}


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    code = next((c for t, c in STATUS_BY_ERROR.items() if isinstance(exc, t)), 400)
    headers = {"WWW-Authenticate": "Bearer"} if code == 401 else None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    body = {"detail": exc.message, "code": exc.code, "params": jsonable_encoder(exc.params)}
    return JSONResponse(body, status_code=code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's own handler echoes the offending input: a 500 when it cannot be encoded (NaN,
    # a lone surrogate, deep nesting), and an attacker's bytes reflected back. Issues say where
    # and why, never what was sent.
    assert isinstance(exc, RequestValidationError)
    issues = [{k: v for k, v in issue.items() if k != "input"} for issue in exc.errors()]
    detail = jsonpolicy.printable(jsonable_encoder(issues))
    # Each issue carries pydantic's own `type` and `ctx` (e.g. string_too_short, min_length),
    # which clients translate per field; `code` names the answer as a whole like a DomainError's.
    body = {"detail": detail, "code": "validation_failed", "params": {}}
    return JSONResponse(body, status_code=422)


# Codes of the framework's own answers (unparseable body, unknown route), like a DomainError's.
HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}
HTTP_FALLBACK_CODE = "http_error"


def allowed_methods(request: Request) -> list[str]:
    """Every method the API's routes answer at this path (the web UI's catch-all aside)."""
    methods: set[str] = set()
    for route in getattr(request.app.state, "api_routes", ()):
        if route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status, headers = exc.status_code, exc.headers
    if status in (404, 405):
        # Starlette names only the first route matching the path in Allow, and the web UI's
        # catch-all answers 404 for any GET: RFC 9110 wants 405 with every method the resource has.
        allowed = allowed_methods(request)
        if allowed and request.method not in allowed:
            status, headers = 405, {**(headers or {}), "Allow": ", ".join(allowed)}
        elif not allowed and request.url.path.lstrip("/").startswith(RESERVED_PREFIXES):
            # Only the web UI's GET-only catch-all matched: no such API resource, no method list.
            status, headers = 404, {k: v for k, v in (headers or {}).items() if k != "Allow"}
    detail = {404: "not found", 405: "Method Not Allowed"}.get(status, exc.detail)
    body = {"detail": detail, "code": HTTP_CODES.get(status, HTTP_FALLBACK_CODE), "params": {}}
    return JSONResponse(body, status_code=status, headers=headers)


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
