"""Request dependencies: settings, the per-request unit of work, and the signed-in user."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Literal

from fastapi import Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from freemarket.db.models import User
from freemarket.db.session import unit_of_work
from freemarket.domain import sessions
from freemarket.domain.permissions import require_admin
from freemarket.errors import Forbidden, NotConfigured, Unauthenticated
from freemarket.infra.ratelimit import RateLimiter, enforce
from freemarket.infra.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Session token from `freemarket user token`")


# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency on the
# thread pool, and each such hop costs more than the work itself (issue 14's profiles).


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: committed if the endpoint succeeds, else rolled back."""
    # Opening a session does no I/O, so it happens here; committing (or rolling back) does,
    # so unit_of_work's exit runs on the thread pool.
    work = unit_of_work(request.app.state.engine)
    session = work.__enter__()
    try:
        yield session
    except BaseException as exc:
        if not await run_in_threadpool(work.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await run_in_threadpool(work.__exit__, None, None, None)


# scope="function" commits before the response is sent, so a failed commit is never a 200.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]


SESSION_COOKIE = "fm_session"
CSRF_COOKIE = "fm_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    """The caller's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def get_limiter(request: Request) -> RateLimiter:
    """The app's rate limiter."""
    return request.app.state.rate_limiter


def signed_in(
    db: Session, request: Request, settings: Settings, bearer: HTTPAuthorizationCredentials | None
) -> User | None:
    """The signed-in user (bearer token, or session cookie with CSRF check), or None."""
    if bearer is not None:
        return sessions.authenticate(db, token=bearer.credentials)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = sessions.authenticate(db, token=token)
    if request.method not in SAFE_METHODS:
        # A cookie rides along on cross-site requests; a header a foreign page cannot read or
        # set proves the request came from our own web UI.
        sent = request.headers.get(CSRF_HEADER, "")
        expected = sessions.csrf_token(token, secret_key=settings.secret_key)
        if not hmac.compare_digest(sent, expected):
            raise Forbidden(
                f"missing or wrong {CSRF_HEADER} header for a cookie session", code="csrf"
            )
    return user


def require_user(user: User | None) -> User:
    """`user`, or 401 when nobody is signed in."""
    if user is None:
        raise _sign_in_required()
    return user


def get_optional_user(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The signed-in user (bearer token, or session cookie with CSRF check), or None."""
    return signed_in(db, request, settings, credentials)


async def get_current_user(
    request: Request,
    settings: AppSettings,
    user: Annotated[User | None, Depends(get_optional_user)],
) -> User:
    """The signed-in user (401 without a session); writes count against the rate limits."""
    # `async`: a read needs no I/O here, so it costs no hop to the thread pool; a write's
    # rate-limit counters (Redis) go to the pool explicitly.
    user = require_user(user)
    if request.method not in SAFE_METHODS:
        await run_in_threadpool(_limit_writes, request, settings, user)
    return user


def _limit_writes(request: Request, settings: Settings, user: User) -> None:
    """Count a change against the user's and the address's write limits."""
    limiter = get_limiter(request)
    per_minute = settings.rate_limit_write_per_minute
    enforce(limiter, key=f"write:user:{user.id}", limit=per_minute, what="changes")
    # Many people can share one address (a NAT, an office), so the per-address ceiling
    # is looser than the per-user one; it still stops one machine posing as many users.
    enforce(limiter, key=f"write:ip:{client_ip(request)}", limit=per_minute * 5, what="changes")


def require_bot_token(settings: Settings) -> str:
    """The bot's token; NotConfigured on a server without a bot (nothing Telegram can work)."""
    if not settings.telegram_bot_token:
        raise NotConfigured(
            "Telegram is not configured on this server (no bot)", code="telegram_not_configured"
        )
    return settings.telegram_bot_token


def limit_signin(request: Request, settings: AppSettings) -> None:
    """Count a sign-in attempt against the caller's address."""
    enforce(
        get_limiter(request),
        key=f"signin:ip:{client_ip(request)}",
        limit=settings.rate_limit_signin_per_minute,
        what="sign-in attempts",
    )


async def limit_search(request: Request, settings: AppSettings) -> None:
    """Count a text search (`q`) against the caller's address; a plain list is no search."""
    # A page of a plain list is one index scan, cheaper than the Redis round trip (and the hop
    # to the thread pool) that counting it cost (issue 14); a text search ranks many rows.
    if not request.query_params.get("q"):
        return
    await run_in_threadpool(
        enforce,
        get_limiter(request),
        key=f"search:ip:{client_ip(request)}",
        limit=settings.rate_limit_search_per_minute,
        what="searches",
    )


async def bearer_or_cookie(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> HTTPAuthorizationCredentials | None:
    """The bearer credentials, if any; 401 at once when the request carries no session at all.

    What a route that signs its caller in on the thread pool (`write_in_one_hop`) depends on:
    no I/O, so no hop; and like `CurrentUser` it answers 401 before the body is validated.
    """
    if credentials is None and not request.cookies.get(SESSION_COOKIE):
        raise _sign_in_required()
    return credentials


# A write to run in one hop: `write(db, user, *args)`, returning the rendered answer.
Write = Callable[..., Response]


async def write_in_one_hop(
    request: Request, credentials: HTTPAuthorizationCredentials | None, write: Write, *args: object
) -> Response:
    """Sign in, count the change, `write(db, user, *args)` and commit in one thread-pool call."""
    # Through CurrentUser and DbSession the same write took four hops to the thread pool (the
    # sign-in, the rate limits, the endpoint, the commit); each hop's hand-off was a quarter of
    # the event loop's CPU for POST /api/items/ (issue 14's profile).
    return await run_in_threadpool(_in_one_unit, request, "write", credentials, write, args, {})


def _sign_in_required() -> Unauthenticated:
    return Unauthenticated(
        "sign in first: send Authorization: Bearer <token>", code="sign_in_required"
    )


# A hot read runs its whole unit of work (sign-in, queries, rendering, commit) in one call on
# the thread pool. Through the dependencies above the same read took three hops (the sign-in,
# the endpoint, the commit) and FastAPI's solving of five dependencies, which together were
# 58 % of the CPU of GET /api/notifications (issue 14's py-spy profile); the read function
# gets the same session and user those dependencies would give it.
Read = Callable[..., Response]
Auth = Literal["none", "optional", "required"]


async def read_in_one_hop(
    request: Request, auth: Auth, read: Read, *args: object, **kwargs: object
) -> Response:
    """`read(db, user, ...)` in one unit of work on the thread pool, signed in as `auth` says."""
    bearer = await _bearer(request) if auth != "none" else None
    return await run_in_threadpool(_in_one_unit, request, auth, bearer, read, args, kwargs)


def _in_one_unit(
    request: Request,
    auth: Auth | Literal["write"],
    bearer: HTTPAuthorizationCredentials | None,
    work: Callable[..., Response],
    args: tuple[object, ...],
    kwargs: dict[str, object],
) -> Response:
    """Sign in as `auth` says (a write also counts against the write limits), then `work`."""
    settings: Settings = request.app.state.settings
    with unit_of_work(request.app.state.engine) as db:
        user = None if auth == "none" else signed_in(db, request, settings, bearer)
        if auth in ("required", "write"):
            user = require_user(user)
            if auth == "write":
                _limit_writes(request, settings, user)
        return work(db, user, *args, **kwargs)


async def get_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The signed-in user if an admin; 403 otherwise."""
    require_admin(user)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
# A route taking OptionalUser answers anyone; a token only changes what it shows. OpenAPI says
# so with an empty requirement beside the bearer one, which FastAPI declares (as if required):
# openapi_extra's list is appended to FastAPI's own.
OPTIONAL_AUTH: dict[str, object] = {"security": [{}]}
# A route that reads in one hop depends on no security scheme, so it declares the bearer
# requirement FastAPI would have declared for it (optional: with the empty one beside it).
READ_AUTH: dict[Auth, dict[str, object]] = {
    "none": {},
    "optional": {"security": [{_bearer.scheme_name: []}, {}]},
    "required": {"security": [{_bearer.scheme_name: []}]},
}
CurrentUser = Annotated[User, Depends(get_current_user)]
SessionCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_or_cookie)]
AdminUser = Annotated[User, Depends(get_admin)]
