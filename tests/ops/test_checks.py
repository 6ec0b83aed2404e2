"""`freemarket check`: the seed's pre-deploy checklist against fakes of Telegram, docker, HTTP."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from freemarket.ops import checks
from freemarket.ops.checks import CheckOptions, CheckResult, run_checks
from freemarket.ops.compose import Compose
from tests.fakes.telegram import BOT_USER
from tests.ops.conftest import OpsRun
from tests.ops.fakes import REAL_SECRETS
from tests.ops.fakes.certs import write_self_signed
from tests.ops.fakes.docker_cli import FakeDocker, FakeEngine, container
from tests.ops.fakes.servers import GOOD_TOKEN, FakeServer, Route, serve

REPO = Path(__file__).resolve().parents[2]
SETTING_VARS = ("ENVIRONMENT", "DATABASE_URL", "DB_PASSWORD", "TELEGRAM_BOT_TOKEN", "SECRET_KEY",
                "TELEGRAM_API_URL", "PUBLIC_URL", "DATA_DIR")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come only from the .env files the tests write."""
    for name in SETTING_VARS:
        monkeypatch.delenv(name, raising=False)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    """Results keyed by check name."""
    return {r.name: r for r in results}


def app_server() -> FakeServer:
    """FreeMarket as nginx serves it: /health, the web UI, and the Bot API for the bot checks."""
    return FakeServer(
        routes={
            "/health": Route(200, '{"status":"ok"}', "application/json"),
            "/": Route(200, "<!doctype html><title>FreeMarket</title>", "text/html; charset=utf-8"),
        }
    )


# --- .env -----------------------------------------------------------------------------------


def test_env_missing_warns_in_development_and_fails_for_production(tmp_path: Path) -> None:
    missing = tmp_path / ".env"
    settings = checks.load_settings(missing)
    assert checks.check_env(missing, settings, production=False).status == "warn"
    result = checks.check_env(missing, settings, production=True)
    assert result.status == "fail"
    assert "not found" in result.detail and "DB_PASSWORD" in result.fix


def test_env_placeholder_secret_is_named(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(REAL_SECRETS.replace("Vq8xT2mP9wLr4Zs7", "change-me"))
    result = checks.check_env(env, checks.load_settings(env), production=True)
    assert result.status == "fail"
    assert result.detail.startswith("DB_PASSWORD is a placeholder")


def test_env_with_real_secrets_passes(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(REAL_SECRETS)
    result = checks.check_env(env, checks.load_settings(env), production=True)
    assert result.status == "pass", result


# --- DNS ------------------------------------------------------------------------------------


def test_dns_points_here() -> None:
    result = checks.check_dns(
        "fm.test", resolver=lambda _: {"203.0.113.7"}, local={"203.0.113.7", "127.0.0.1"}
    )
    assert result.status == "pass"
    assert "203.0.113.7" in result.detail


def test_dns_points_elsewhere_names_both_sides() -> None:
    result = checks.check_dns(
        "fm.test", resolver=lambda _: {"198.51.100.1"}, local={"203.0.113.7", "127.0.0.1"}
    )
    assert result.status == "fail"
    assert "198.51.100.1" in result.detail and "203.0.113.7" in result.detail


def test_dns_real_resolution_of_localhost_matches_this_host() -> None:
    assert checks.check_dns("localhost").status == "pass"


def test_dns_unresolvable_domain_fails() -> None:
    result = checks.check_dns("no-such-host.invalid")
    assert result.status == "fail"
    assert "does not resolve" in result.detail


def test_dns_skipped_without_domain() -> None:
    assert checks.check_dns(None).status == "skip"


# --- TLS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "status"), [(90, "pass"), (10, "warn"), (2, "fail")], ids=["ok", "soon", "critical"]
)
def test_tls_expiry(tmp_path: Path, days: int, status: str) -> None:
    write_self_signed(tmp_path / "fm.test", "fm.test", days=days)
    result = checks.check_tls("fm.test", [tmp_path])
    assert result.status == status, result
    assert "fm.test/fullchain.pem" in result.detail


def test_tls_expired(tmp_path: Path) -> None:
    write_self_signed(tmp_path, "fm.test", days=30)
    later = datetime.now(UTC) + timedelta(days=40)
    result = checks.check_tls("fm.test", [tmp_path], now=later)
    assert result.status == "fail"
    assert "expired" in result.detail


def test_tls_certificate_for_another_domain(tmp_path: Path) -> None:
    write_self_signed(tmp_path, "other.test")
    result = checks.check_tls("fm.test", [tmp_path])
    assert result.status == "fail"
    assert "other.test" in result.detail


def test_tls_missing_certificate_says_how_to_get_one(tmp_path: Path) -> None:
    result = checks.check_tls("fm.test", [tmp_path / "none"])
    assert result.status == "fail"
    assert "certbot certonly --webroot" in result.fix


# --- Telegram -------------------------------------------------------------------------------


def test_bot_token_valid_and_polling() -> None:
    with serve() as api:
        me = checks.check_bot_token(GOOD_TOKEN, api.url, 5, production=True)
        updates = checks.check_bot_updates(GOOD_TOKEN, api.url, 5)
    assert me.status == "pass" and f"@{BOT_USER['username']}" in me.detail
    assert updates.status == "pass" and "polling" in updates.detail
    assert api.requests == [f"/bot{GOOD_TOKEN}/getMe", f"/bot{GOOD_TOKEN}/getWebhookInfo"]


def test_bot_token_rejected_with_api_description() -> None:
    with serve() as api:
        result = checks.check_bot_token("123:bad", api.url, 5, production=True)
    assert result.status == "fail"
    assert result.detail == "token rejected: 401 Unauthorized"
    assert "@BotFather" in result.fix


def test_bot_api_unreachable_never_shows_the_token() -> None:
    result = checks.check_bot_token(GOOD_TOKEN, "http://127.0.0.1:9", 2, production=True)
    assert result.status == "fail"
    assert GOOD_TOKEN not in result.detail and "127.0.0.1:9" in result.detail


def test_bot_webhook_with_delivery_error_warns() -> None:
    failing = {
        "url": "https://fm.test/telegram/webhook",
        "pending_update_count": 12,
        "last_error_date": 1_700_000_000,
        "last_error_message": "Wrong response from the webhook: 502 Bad Gateway",
    }
    with serve(FakeServer(webhook=failing)) as api:
        result = checks.check_bot_updates(GOOD_TOKEN, api.url, 5, domain="fm.test")
    assert result.status == "warn"
    assert "502 Bad Gateway" in result.detail and "12 updates queued" in result.detail


def test_bot_token_missing_is_skip_in_development_fail_in_production() -> None:
    assert checks.check_bot_token(None, "http://x", 1, production=False).status == "skip"
    assert checks.check_bot_token(None, "http://x", 1, production=True).status == "fail"


# --- database -------------------------------------------------------------------------------


def test_migrations_at_head(engine: Engine) -> None:
    result = checks.check_migrations_local(engine)
    assert result.status == "pass"
    assert result.detail.startswith("at head ")


def test_migrations_pending_on_an_empty_database(tmp_path: Path) -> None:
    from freemarket.db.session import make_engine

    path = tmp_path / "empty.db"
    path.touch()
    engine = make_engine(f"sqlite:///{path}")
    result = checks.check_migrations_local(engine)
    engine.dispose()
    assert result.status == "fail"
    assert "empty database" in result.detail and result.fix == "freemarket migrate"


def test_migrations_without_a_database_file_creates_nothing(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    path = tmp_path / "missing.db"
    result = checks.check_migrations_local(create_engine(f"sqlite:///{path}"))
    assert result.status == "fail" and "no database yet" in result.detail
    assert not path.exists()


# --- docker compose -------------------------------------------------------------------------


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDocker:
    """The fake docker CLI with a compose project in tmp_path."""
    shutil.copy(REPO / "docker-compose.prod.yml", tmp_path / "docker-compose.prod.yml")
    return FakeDocker(tmp_path, monkeypatch)


def test_compose_services_healthy_and_unhealthy(tmp_path: Path, fake_docker: FakeDocker) -> None:
    services = ["db", "backend", "nginx"]
    rows = [
        container("c1", "db", "postgres:15"),
        container("c2", "backend", "freemarket:aaa"),
        container("c3", "nginx", "nginx:1.27.3-alpine"),
    ]
    fake_docker.set_state(services=services, containers=rows)
    compose = Compose(project_dir=tmp_path, docker=fake_docker.path, engine=FakeEngine(fake_docker))
    assert checks.check_compose_config(compose).status == "pass"
    assert checks.check_services(compose).status == "pass"

    rows[1]["Health"] = "unhealthy"
    fake_docker.set_state(containers=rows[:2])
    result = checks.check_services(compose)
    assert result.status == "fail"
    assert result.detail == "backend unhealthy; nginx not running"


def test_compose_config_missing_file(tmp_path: Path, fake_docker: FakeDocker) -> None:
    compose = Compose(file=Path("nope.yml"), project_dir=tmp_path, docker=fake_docker.path)
    result = checks.check_compose_config(compose)
    assert result.status == "fail" and "nope.yml not found" in result.detail


# --- the whole checklist --------------------------------------------------------------------


def test_embedded_checklist_skips_what_needs_docker(tmp_path: Path, db_url: str) -> None:
    env = tmp_path / ".env"
    env.write_text(f"DATABASE_URL={db_url}\nTELEGRAM_BOT_TOKEN={GOOD_TOKEN}\n")
    with serve(app_server()) as server:
        options = CheckOptions(
            env_file=env,
            base_url=server.url,
            telegram_api_url=server.url,
            project_dir=tmp_path,
        )
        results = by_name(run_checks(options))
    assert [r.status for r in results.values()].count("fail") == 0, results
    assert results[".env secrets"].status == "warn"  # dev defaults: fine here, not in production
    for name in ("DNS", "TLS certificate", "docker compose", "compose file", "services"):
        assert results[name].status == "skip", results[name]
    assert "embedded default" in results["services"].detail
    for name in ("/health", "database migrations", "web UI", "bot token", "bot updates"):
        assert results[name].status == "pass", results[name]


def test_production_checklist_through_compose(
    tmp_path: Path, fake_docker: FakeDocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(REAL_SECRETS)
    write_self_signed(tmp_path / "certs", "localhost")
    services = ["db", "backend"]
    rows = [container("c1", "db", "postgres:15"), container("c2", "backend", "freemarket:a")]
    fake_docker.set_state(services=services, containers=rows, revision="r2")
    with serve(app_server()) as server:
        options = CheckOptions(
            env_file=tmp_path / ".env",
            domain="localhost",
            base_url=server.url,
            cert_dirs=[tmp_path / "certs"],
            telegram_api_url=server.url,
            docker=fake_docker.path,
            engine=FakeEngine(fake_docker),
            project_dir=tmp_path,
        )
        results = by_name(run_checks(options))
    assert {name: r.status for name, r in results.items() if r.status != "pass"} == {}
    assert "run --rm -T --no-deps backend migrate status --json" in " | ".join(fake_docker.calls())

    fake_docker.set_state(revision="r1")
    result = checks.check_migrations_compose(Compose(project_dir=tmp_path, docker=fake_docker.path))
    assert result.status == "fail"
    assert result.detail == "at r1, head is r2"
    assert result.fix.endswith("run --rm backend migrate")


def test_cli_check_json_and_exit_code(ops_run: OpsRun, tmp_path: Path) -> None:
    # The embedded default: compose is skipped whether or not docker is installed here, and
    # the repository's compose file (DB_PASSWORD unset) is not judged.
    (tmp_path / "cwd").mkdir(exist_ok=True)
    shutil.copy(REPO / "docker-compose.prod.yml", tmp_path / "cwd" / "docker-compose.prod.yml")
    with serve(app_server()) as server:
        ok = ops_run("check", "--json", "--base-url", server.url)
        down = ops_run("check", "--json", "--base-url", "http://127.0.0.1:9", "--timeout", "1")
    assert ok.code == 0, ok.out + ok.err
    report = ok.json()
    assert report["ok"] is True
    assert {r["name"] for r in report["results"]} >= {".env secrets", "/health", "web UI"}
    assert down.code == 1
    health = next(r for r in json.loads(down.out)["results"] if r["name"] == "/health")
    assert health["status"] == "fail" and "start the service" in health["fix"]
