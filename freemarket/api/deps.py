"""Request dependencies: settings, the per-request unit of work, and the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from freemarket import auth
from freemarket.db import session_factory
from freemarket.errors import Forbidden, Unauthenticated
from freemarket.models import User
from freemarket.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="Session token from `freemarket user token`")


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed if the endpoint succeeds, else rolled back."""
    session = session_factory(request.app.state.engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function" commits before the response is sent, so a failed commit is never a 200.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings)]


def get_optional_user(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The signed-in user, or None for an anonymous request."""
    if credentials is None:
        return None
    return auth.authenticate(db, token=credentials.credentials)


def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in user; 401 without a valid session."""
    if user is None:
        raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
    return user


def get_admin(user: Annotated[User, Depends(get_current_user)]) -> User:
    """The signed-in user if an admin; 403 otherwise."""
    if not user.is_admin:
        raise Forbidden("this action needs an admin")
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin)]
