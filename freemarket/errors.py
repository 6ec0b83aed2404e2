"""Domain errors: raised by services, mapped to HTTP codes by the API and exit codes by the CLI."""

from __future__ import annotations


class FreeMarketError(Exception):
    """Base of every error whose message is meant for a person: safe to show, one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(FreeMarketError):
    """The settings cannot run the service (for example a missing secret)."""


class DomainError(FreeMarketError):
    """Base of every error a client or operator can cause by what they ask for."""


class NotFound(DomainError):
    """The object does not exist (or the caller may not know that it does)."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, wrong state)."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class Unauthenticated(DomainError):
    """No valid session was presented."""


class InvalidInput(DomainError):
    """The input is well-formed but not acceptable (unknown category, bad reference)."""


class RateLimited(DomainError):
    """Too many requests; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotConfigured(DomainError):
    """The feature needs a setting this server does not have (for example the bot token)."""
