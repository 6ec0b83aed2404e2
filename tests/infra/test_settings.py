"""Settings: production refuses missing or placeholder secrets, development runs on defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from freemarket.api.app import create_app
from freemarket.errors import ConfigurationError
from freemarket.infra.settings import Environment, Settings

GOOD_PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "secret_key": "Wq3v8Lr0PzX2nM6tB9kY4cH7dJ1sF5gA",
    "database_url": "postgresql+psycopg2://freemarket:s3cr3t@db:5432/freemarket",
    "db_password": "Tq9-rW2v-Lk5x",
    "telegram_bot_token": "123456789:AAHk3-real-looking-token-Zx",
}
REQUIRED = ("SECRET_KEY", "DATABASE_URL", "DB_PASSWORD", "TELEGRAM_BOT_TOKEN")


def _production(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **{**GOOD_PRODUCTION, **overrides})  # type: ignore[arg-type]


def test_good_production_settings_start() -> None:
    settings = _production()
    assert settings.is_production
    settings.validate_for_startup()


@pytest.mark.parametrize("name", REQUIRED)
def test_production_refuses_missing_value(name: str) -> None:
    settings = _production(**{name.lower(): ""})
    with pytest.raises(ConfigurationError) as caught:
        settings.validate_for_startup()
    assert name in str(caught.value)
    with pytest.raises(ConfigurationError, match=name):
        create_app(settings)


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("placeholder", ["change-me", "CHANGEME-please", "your_value_here"])
def test_production_refuses_placeholders(name: str, placeholder: str) -> None:
    value = placeholder if name != "DATABASE_URL" else f"postgresql://u:{placeholder}@db/fm"
    if name == "SECRET_KEY":
        value = placeholder + "x" * 40
    settings = _production(**{name.lower(): value})
    with pytest.raises(ConfigurationError, match=name):
        settings.validate_for_startup()


def test_production_refuses_short_or_dev_secret_key() -> None:
    for weak in ("short-but-real", "dev-insecure-secret-key", "dev-" + "x" * 60):
        with pytest.raises(ConfigurationError, match="SECRET_KEY"):
            _production(secret_key=weak).validate_for_startup()


@pytest.mark.parametrize(
    "weak",
    [
        "a" * 32,
        " " * 32,
        "ab" * 16,
        "abcdefghijklmnopqrstuvwxyz012345",
        "k" * 24 + "Zq81nL0vT3xB7sWm",
        "password" * 4,
    ],
    ids=["same-letter", "spaces", "repeated-pair", "alphabet-run", "mostly-one-letter", "word"],
)
def test_production_refuses_a_long_but_guessable_secret_key(weak: str) -> None:
    # Finding 11: 32 identical characters (or spaces) passed the length rule.
    with pytest.raises(ConfigurationError, match="SECRET_KEY is too easy to guess"):
        _production(secret_key=weak).validate_for_startup()


def test_production_refuses_a_guessable_database_password() -> None:
    with pytest.raises(ConfigurationError, match="DB_PASSWORD is too easy to guess"):
        _production(db_password="password123").validate_for_startup()


@pytest.mark.parametrize("origins", ["*", "null", "https://app.freemarket.test, *", '["null"]'])
def test_production_refuses_cors_for_any_origin(
    origins: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Finding 11: with credentials, "*" echoed any Origin back, "null" (sandboxed pages) too.
    monkeypatch.setenv("CORS_ORIGINS", origins)
    settings = _production()
    with pytest.raises(ConfigurationError, match="CORS_ORIGINS"):
        settings.validate_for_startup()
    with pytest.raises(ConfigurationError, match="CORS_ORIGINS"):
        create_app(settings)


def test_production_takes_exact_cors_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://app.freemarket.test,https://admin.freemarket.test")
    settings = _production()
    settings.validate_for_startup()
    assert settings.cors_origins == ["https://app.freemarket.test", "https://admin.freemarket.test"]


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert Settings(_env_file=None).forwarded_allow_ips == ""  # type: ignore[call-arg]
    proxies = Settings(_env_file=None, forwarded_allow_ips=" 10.0.0.1, 172.30.0.0/24 ,::1")  # type: ignore[call-arg]
    assert proxies.forwarded_allow_ips == "10.0.0.1,172.30.0.0/24,::1"
    with pytest.raises(ValueError, match="'nginx' is not an address or network"):
        Settings(_env_file=None, forwarded_allow_ips="10.0.0.1,nginx")  # type: ignore[call-arg]


def test_production_refuses_default_secret_key() -> None:
    fields = {k: v for k, v in GOOD_PRODUCTION.items() if k != "secret_key"}
    settings = Settings(_env_file=None, **fields)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        settings.validate_for_startup()


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        _production(database_url="sqlite:////srv/freemarket.db").validate_for_startup()


def test_production_read_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GOOD_PRODUCTION.items():
        monkeypatch.setenv(key.upper(), value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "placeholder")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment is Environment.production
    with pytest.raises(ConfigurationError, match="TELEGRAM_BOT_TOKEN"):
        settings.validate_for_startup()


def test_development_starts_with_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ENVIRONMENT", "DATABASE_URL", "DATA_DIR", "SECRET_KEY", "CORS_ORIGINS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment is Environment.development
    assert not settings.is_production
    settings.validate_for_startup()
    app = create_app(settings)
    assert app.state.settings is settings
    expected = (tmp_path / "data" / "freemarket.db").resolve()
    assert settings.effective_database_url == f"sqlite:///{expected}"


def test_database_url_default_follows_data_dir(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path / "state")  # type: ignore[call-arg]
    assert settings.database_url == ""
    url = settings.effective_database_url
    assert url.startswith("sqlite:///")
    assert Path(url.removeprefix("sqlite:///")) == (tmp_path / "state" / "freemarket.db").resolve()
    explicit = Settings(_env_file=None, database_url="postgresql://x@h/db")  # type: ignore[call-arg]
    assert explicit.effective_database_url == "postgresql://x@h/db"


def test_cors_origins_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", " https://a.example.org, https://b.example.org ,,")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.cors_origins == ["https://a.example.org", "https://b.example.org"]
    direct = Settings(_env_file=None, cors_origins="http://localhost:5173")  # type: ignore[call-arg]
    assert direct.cors_origins == ["http://localhost:5173"]
    monkeypatch.setenv("CORS_ORIGINS", '["https://c.example.org"]')
    assert Settings(_env_file=None).cors_origins == ["https://c.example.org"]  # type: ignore[call-arg]
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings(_env_file=None).cors_origins == []  # type: ignore[call-arg]


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://from-env-file@h/db\n", encoding="utf-8")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.database_url == "postgresql://from-env-file@h/db"


def test_env_example_documents_every_setting() -> None:
    """Every Settings field appears in .env.example, and nothing there is unknown."""
    from freemarket.infra.settings import Settings

    example = Path(__file__).resolve().parents[2] / ".env.example"
    documented = {
        line.split("=", 1)[0].strip()
        for line in example.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#") and "=" in line
    }
    fields = {name.upper() for name in Settings.model_fields}
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names settings that do not exist"


def test_a_copy_of_env_example_is_a_valid_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """`cp .env.example .env` loads: an empty value means the setting's default."""
    from freemarket.infra.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    example = Path(__file__).resolve().parents[2] / ".env.example"
    settings = Settings(_env_file=example)  # type: ignore[call-arg]
    assert settings.cookie_secure is None
    assert settings.certs_dir is None and settings.backup_encryption_key_file is None
    assert settings.database_url == ""
