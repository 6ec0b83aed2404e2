"""Domain errors: raised by services, mapped to HTTP codes by the API and exit codes by the CLI."""

from __future__ import annotations

from typing import Any


class FreeMarketError(Exception):
    """Base of every error whose message is meant for a person: safe to show, one line.

    `message` is English for operators and logs; `code` (a stable snake_case key) and `params`
    let every client (web UI, bot) render the error in the person's own language from its
    catalogs. The code defaults to one per error class.
    """

    default_code = "error"

    def __init__(self, message: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = params


class ConfigurationError(FreeMarketError):
    """The settings cannot run the service (for example a missing secret)."""

    default_code = "configuration"


class DomainError(FreeMarketError):
    """Base of every error a client or operator can cause by what they ask for."""

    default_code = "invalid_request"


class NotFound(DomainError):
    """The object does not exist (or the caller may not know that it does)."""

    default_code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, wrong state)."""

    default_code = "conflict"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    default_code = "forbidden"


class Unauthenticated(DomainError):
    """No valid session was presented."""

    default_code = "unauthenticated"


class InvalidInput(DomainError):
    """The input is well-formed but not acceptable (unknown category, bad reference)."""

    default_code = "invalid_input"


class RateLimited(DomainError):
    """Too many requests; try again after `retry_after` seconds."""

    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, **kwargs: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


class NotConfigured(DomainError):
    """The feature needs a setting this server does not have (for example the bot token)."""

    default_code = "not_configured"
