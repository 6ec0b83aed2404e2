"""Application settings: read once from the environment (and `.env`)."""

from __future__ import annotations

import ipaddress
import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from freemarket.errors import ConfigurationError

# Values that ship in .env.example or the seed document: a production server must never run
# with them, because anyone who has read our docs knows them.
PLACEHOLDER_MARKERS = ("change-me", "changeme", "your_", "placeholder", "example", "xxx")
# How hard a production secret must be to guess, as zxcvbn estimates it (log10 of guesses).
# zxcvbn sees through what a length rule does not: 32 identical characters score 2.6, an
# alphabet run 4.3, "k"*24 + 16 random characters 18.8, while secrets.token_hex(16) scores 31
# and the token_urlsafe(48) that .env.example suggests about 64. 10^24 guesses is about 80 bits.
MIN_SECRET_GUESSES_LOG10 = {"SECRET_KEY": 24.0, "DB_PASSWORD": 10.0}
# Origins that would let any site call the API with the visitor's cookies.
UNSAFE_ORIGINS = ("*", "null")


class Environment(StrEnum):
    """Where the service runs; production enforces secrets."""

    development = "development"
    production = "production"


class Settings(BaseSettings):
    """Every setting of FreeMarket; `.env.example` documents each one."""

    # env_ignore_empty: `KEY=` (as .env.example ships many) means "the default", so a copy of
    # .env.example is a valid .env; without it COOKIE_SECURE= failed to parse as a boolean.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    environment: Environment = Environment.development
    data_dir: Path = Path("data")
    database_url: str = ""
    redis_url: str | None = None
    telegram_bot_token: str | None = None
    db_password: str | None = None
    secret_key: str = "dev-insecure-secret-key"
    public_url: str = "http://127.0.0.1:8000"
    session_ttl_hours: int = Field(default=24 * 30, ge=1)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # NoDecode: the environment gives a comma-separated string, which is not JSON; the
    # validator below splits it (and still accepts a JSON array).
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # comma-separated, "*" for any). Empty: nobody's, the peer address is the client.
    forwarded_allow_ips: str = ""
    log_level: str = "info"
    access_log: bool = False
    # Per process: every request in progress is a thread competing with the event loop for one
    # GIL. Under overload /health answered with p99 208 ms at 32 and 50 ms at 8 (issue 14,
    # docs/benchmarks.md); more throughput comes from more processes, not more threads.
    max_concurrent_requests: int = Field(default=8, ge=0, le=1000)
    # Requests beyond that wait in a queue of this many, each at most max_queue_wait_ms.
    max_queued_requests: int = Field(default=64, ge=0, le=10000)
    max_queue_wait_ms: int = Field(default=250, ge=0, le=60000)
    overload_retry_after_seconds: int = Field(default=1, ge=1, le=3600)
    match_show_threshold: float = Field(default=0.08, ge=0.0, le=1.0)
    # lowest confidence of the notify model (matching/core/decide.py) that sends a push
    match_notify_threshold: float = Field(default=0.70, ge=0.0, le=1.0)
    match_model_path: Path | None = None
    match_top_k: int = Field(default=10, ge=1, le=1000)
    match_radius_km: float = Field(default=30.0, ge=0.0, le=20_000.0)
    backup_dir: Path = Path("backups")
    backup_encryption_key: str | None = None
    backup_encryption_key_file: Path | None = None
    backup_offsite: str | None = None
    backup_keep: int | None = Field(default=14, ge=1)
    backup_max_age_days: float | None = Field(default=30, gt=0)
    tls_config_dir: Path = Path("/etc/letsencrypt")
    tls_webroot: Path = Path("/var/www/certbot")
    tls_acme_server: str = "letsencrypt"
    tls_reload_command: str | None = None
    domain: str | None = None
    compose_file: Path = Path("docker-compose.prod.yml")
    certs_dir: Path | None = None
    deploy_keep_images: int = Field(default=5, ge=2)
    telegram_api_url: str = "https://api.telegram.org"
    # The bot's @name without "@": the web UI's t.me links to the bot (linking an account).
    telegram_bot_username: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_]{5,32}$")] = None
    # polling: `freemarket bot` asks Telegram for updates; webhook: Telegram posts them to
    # PUBLIC_URL/telegram/webhook with TELEGRAM_WEBHOOK_SECRET, which the API checks.
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_webhook_secret: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9_-]{1,256}$")] = None
    web_dist_dir: Path | None = None
    telegram_auth_max_age_seconds: int = Field(default=86_400, ge=60)
    login_code_ttl_minutes: int = Field(default=10, ge=1, le=60)
    cookie_secure: bool | None = None
    exchange_deadline_hours: int = Field(default=72, ge=1)
    rating_reveal_days: int = Field(default=14, ge=0)
    trust_prior_mean: float = Field(default=3.5, ge=1, le=5)
    trust_prior_weight: float = Field(default=3.0, ge=0)
    trust_window_days: int = Field(default=30, ge=0)
    rate_limit_signin_per_minute: int = Field(default=10, ge=1)
    rate_limit_write_per_minute: int = Field(default=60, ge=1)
    rate_limit_search_per_minute: int = Field(default=120, ge=1)
    photo_max_bytes: int = Field(default=10_000_000, ge=10_000)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_prefix: str = "photos/"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept a comma-separated string, as an environment variable is, or a JSON array."""
        if isinstance(value, str) and value.strip().startswith("["):
            return json.loads(value)
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        """Addresses or networks, comma-separated, or "*"; a typo must not trust nobody silently."""
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError as exc:
                    raise ValueError(
                        f"FORWARDED_ALLOW_IPS: {entry!r} is not an address or network"
                    ) from exc
        return ",".join(entries)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'freemarket.db').resolve()}"

    @property
    def effective_web_dist_dir(self) -> Path:
        """The web UI build the service serves: WEB_DIST_DIR, else this checkout's build."""
        # Defined here, not in api/web.py, so ops (doctor) and api share it without
        # importing each other.
        return self.web_dist_dir or Path(__file__).resolve().parents[2] / "frontend" / "dist"

    @property
    def secure_cookies(self) -> bool:
        """Send cookies only over HTTPS: on by default in production."""
        return self.is_production if self.cookie_secure is None else self.cookie_secure

    @property
    def is_production(self) -> bool:
        """True when running as the production service."""
        return self.environment is Environment.production

    def validate_for_startup(self) -> None:
        """Refuse to run production with a missing or placeholder secret; name the culprit."""
        if not self.is_production:
            return
        required = {
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "DB_PASSWORD": self.db_password,
            "TELEGRAM_BOT_TOKEN": self.telegram_bot_token,
        }
        for name, value in required.items():
            if not value:
                raise ConfigurationError(f"{name} is not set; production needs it")
            if _looks_like_placeholder(value) or (name == "SECRET_KEY" and len(value) < 32):
                raise ConfigurationError(
                    f"{name} is a placeholder or too weak; set a real value in .env"
                )
            if name in MIN_SECRET_GUESSES_LOG10 and _guessable(value, name):
                raise ConfigurationError(
                    f"{name} is too easy to guess (repeated or predictable characters); set a "
                    'random one: python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
                )
        if self.telegram_mode == "webhook":
            secret = self.telegram_webhook_secret or ""
            if not secret:
                raise ConfigurationError(
                    "TELEGRAM_WEBHOOK_SECRET is not set; webhook mode needs it"
                )
            if _looks_like_placeholder(secret) or len(secret) < 32:
                raise ConfigurationError(
                    "TELEGRAM_WEBHOOK_SECRET is a placeholder or too weak; set a real value in .env"
                )
            if not self.redis_url:
                # Each API replica handles some updates: a dialogue's state must be shared.
                raise ConfigurationError("TELEGRAM_MODE=webhook needs REDIS_URL for dialogue state")
        if self.database_url.startswith("sqlite"):
            raise ConfigurationError("DATABASE_URL points at SQLite; production needs PostgreSQL")
        unsafe = [o for o in self.cors_origins if o.strip().lower() in UNSAFE_ORIGINS]
        if unsafe:
            raise ConfigurationError(
                f"CORS_ORIGINS contains {unsafe[0]!r}: with cookies that lets any site act as "
                "the visitor; list the exact origins (https://app.example.org)"
            )


def _guessable(value: str, name: str) -> bool:
    # Imported here: zxcvbn loads its dictionaries (~0.2 s), needed only to start production.
    from zxcvbn import zxcvbn

    return bool(zxcvbn(value)["guesses_log10"] < MIN_SECRET_GUESSES_LOG10[name])


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return lowered.startswith("dev-") or any(m in lowered for m in PLACEHOLDER_MARKERS)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
