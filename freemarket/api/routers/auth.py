"""Sign-in (Telegram Login Widget, Telegram Mini App, one-time login links) and sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi import APIRouter, Depends, Request, Response

from freemarket.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AppSettings,
    CurrentUser,
    DbSession,
    limit_signin,
    require_bot_token,
)
from freemarket.api.schemas import (
    CodeLogin,
    Message,
    SessionOut,
    TelegramWidgetLogin,
    UserPrivate,
    WebAppLogin,
)
from freemarket.db.models import User, utcnow
from freemarket.domain import sessions, telegram_auth, users
from freemarket.infra.settings import Settings

router = APIRouter(prefix="/api/auth", tags=["auth"])


def browser_language(header: str | None) -> str | None:
    """The first language we speak among an Accept-Language header's, by preference (q)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue  # a malformed weight: ignore that entry, not the whole header
        ranked.append((-quality, position, tag))
    for quality, _, tag in sorted(ranked):
        language = users.supported_language(tag)
        if quality < 0 and language is not None:
            return language
    return None


def _start_session(
    db: DbSession,
    response: Response,
    settings: Settings,
    user: User,
    origin: str,
    request: Request,
) -> SessionOut:
    """Issue a session, set it as an HttpOnly cookie, and return it for API clients too."""
    # An account nobody chose a language for speaks the browser's from now on (the bot too).
    users.adopt_language(user, browser_language(request.headers.get("accept-language")))
    issued = sessions.issue_token(
        db, user=user, ttl=timedelta(hours=settings.session_ttl_hours), origin=origin
    )
    csrf = sessions.csrf_token(issued.token, secret_key=settings.secret_key)
    max_age = settings.session_ttl_hours * 3600
    common = {"max_age": max_age, "secure": settings.secure_cookies, "samesite": "lax"}
    response.set_cookie(SESSION_COOKIE, issued.token, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by our own scripts, which echo it in X-CSRF-Token on writes.
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
    return SessionOut(
        token=issued.token,
        csrf_token=csrf,
        expires_at=issued.session.expires_at,
        user=UserPrivate.model_validate(user),
    )


def _telegram_session(
    db: DbSession,
    response: Response,
    settings: Settings,
    verify: Callable[..., telegram_auth.TelegramIdentity],
    payload: object,
    origin: str,
    request: Request,
) -> SessionOut:
    """Verify a Telegram payload once, find or create its user, and start a session."""
    identity = verify(
        payload,
        bot_token=require_bot_token(settings),
        now=utcnow(),
        max_age_seconds=settings.telegram_auth_max_age_seconds,
    )
    # A signed payload stays valid for the whole max-age window; remember it so that a copy
    # captured from a log or a proxy cannot sign in a second time.
    expires = identity.auth_date + timedelta(seconds=settings.telegram_auth_max_age_seconds)
    sessions.spend_nonce(db, nonce=f"tg:{identity.signature}", expires_at=expires)
    user = users.sign_in_telegram(db, identity=identity)
    return _start_session(db, response, settings, user, origin, request)


@router.post("/telegram", response_model=SessionOut, dependencies=[Depends(limit_signin)])
def telegram_widget(
    body: TelegramWidgetLogin,
    db: DbSession,
    settings: AppSettings,
    request: Request,
    response: Response,
) -> SessionOut:
    """Sign in with the Telegram Login Widget's payload."""
    # The fields exactly as sent (strict model: nothing converted), for the signature check.
    fields = body.model_dump(exclude_unset=True)
    return _telegram_session(
        db,
        response,
        settings,
        telegram_auth.verify_login_widget,
        fields,
        "telegram-widget",
        request,
    )


@router.post("/webapp", response_model=SessionOut, dependencies=[Depends(limit_signin)])
def telegram_webapp(
    body: WebAppLogin, db: DbSession, settings: AppSettings, request: Request, response: Response
) -> SessionOut:
    """Sign in from a Telegram Mini App with its `initData`."""
    return _telegram_session(
        db,
        response,
        settings,
        telegram_auth.verify_webapp_init_data,
        body.init_data,
        "telegram-webapp",
        request,
    )


@router.post("/code", response_model=SessionOut, dependencies=[Depends(limit_signin)])
def login_code(
    body: CodeLogin, db: DbSession, settings: AppSettings, request: Request, response: Response
) -> SessionOut:
    """Sign in with a one-time code from a login link (`freemarket user login-link`, bot /login)."""
    user = sessions.redeem_login_code(db, code=body.code)
    return _start_session(db, response, settings, user, "login-link", request)


@router.post("/logout", response_model=Message)
def logout(request: Request, response: Response, db: DbSession, user: CurrentUser) -> Message:
    """End the current session (the token or cookie used for this request)."""
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    sessions.revoke(db, token=token or request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return Message(detail=f"signed out {user.username}")
