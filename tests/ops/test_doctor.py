"""`freemarket doctor`: the seed's troubleshooting section, on real databases and fake servers."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from freemarket.db.models import Notification
from freemarket.infra.settings import Settings
from freemarket.ops import doctor
from freemarket.ops.checks import describe_database_error
from freemarket.ops.doctor import DoctorOptions, run_doctor
from tests.conftest import MakeUser
from tests.ops.conftest import OpsRun, free_port
from tests.ops.fakes.servers import GOOD_TOKEN, FakeServer, Route, serve

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# --- backend will not start -----------------------------------------------------------------


def test_database_url_that_does_not_parse() -> None:
    result = doctor.diagnose_database_url("postgres//nonsense")
    assert result.status == "fail" and result.detail.startswith("cannot parse")


def test_database_url_with_unknown_driver() -> None:
    result = doctor.diagnose_database_url("postgresql+nosuchdriver://u:p@h/db")
    assert result.status == "fail" and "unknown driver" in result.detail


def test_database_url_hides_the_password() -> None:
    result = doctor.diagnose_database_url("postgresql+psycopg2://fm:s3cret@db:5432/freemarket")
    assert result.status == "pass"
    assert "s3cret" not in result.detail and "db:5432/freemarket" in result.detail


def test_connection_refused() -> None:
    port = free_port()
    result = doctor.diagnose_connection(f"postgresql+psycopg2://fm:pw@127.0.0.1:{port}/fm", 3)
    assert result.status == "fail"
    assert result.detail == f"connection refused by 127.0.0.1:{port}: no PostgreSQL listens there"


def test_authentication_failed_is_told_apart(pg_database: str) -> None:
    url = make_url(pg_database).set(username="fm_no_such_role", password="wrong")
    result = doctor.diagnose_connection(url.render_as_string(hide_password=False), 3)
    assert result.status == "fail"
    assert result.detail.startswith("authentication failed for user 'fm_no_such_role'")
    assert "DB_PASSWORD" in result.fix


def test_missing_database_is_told_apart(pg_database: str) -> None:
    url = make_url(pg_database).set(database="fm_missing_database")
    result = doctor.diagnose_connection(url.render_as_string(hide_password=False), 3)
    assert result.status == "fail"
    assert result.detail.startswith("database 'fm_missing_database' does not exist")
    assert "createdb fm_missing_database" in result.fix


@pytest.mark.parametrize(
    ("message", "start"),
    [
        ('FATAL:  password authentication failed for user "fm"', "authentication failed"),
        ('could not translate host name "db" to address', "host 'db' does not resolve"),
        ("timeout expired", "no answer from db:5432"),
    ],
)
def test_driver_messages_are_classified(message: str, start: str) -> None:
    detail, fix = describe_database_error(Exception(message), "postgresql://fm:x@db:5432/fm")
    assert detail.startswith(start) and fix


def test_connection_ok_and_migrations_at_head(engine: Engine, db_url: str) -> None:
    assert doctor.diagnose_connection(db_url, 3).status == "pass"


def test_production_settings_with_placeholders_explain_the_refusal(db_url: str) -> None:
    settings = Settings(_env_file=None, environment="production", database_url=db_url,
                        secret_key="change-me")  # fmt: skip
    result = doctor.diagnose_startup(settings)
    assert result.status == "fail" and "SECRET_KEY" in result.detail


# --- web UI will not load -------------------------------------------------------------------


def test_static_build_present_or_missing(tmp_path: Path) -> None:
    assert doctor.diagnose_static(tmp_path).status == "fail"
    (tmp_path / "index.html").write_text("<!doctype html>")
    assert doctor.diagnose_static(tmp_path).status == "pass"


# --- bot does not send ----------------------------------------------------------------------


def _notification(user_id: int, key: str, status: str, error: str | None = None) -> Notification:
    return Notification(
        user_id=user_id, channel="telegram", status=status, dedupe_key=key, last_error=error
    )


def test_outbox_backlog_and_last_errors(engine: Engine, db: Session, make_user: MakeUser) -> None:
    assert doctor.diagnose_outbox(engine).status == "pass"
    anna = make_user("anna")
    db.add_all(
        [
            _notification(anna.id, "a", "pending"),
            _notification(anna.id, "b", "pending"),
            _notification(anna.id, "c", "failed", "TelegramForbiddenError: bot was blocked"),
            _notification(anna.id, "d", "sent"),
        ]
    )
    db.commit()
    result = doctor.diagnose_outbox(engine)
    assert result.status == "warn"
    assert result.detail.startswith("2 pending, 1 failed")
    assert "last errors: TelegramForbiddenError: bot was blocked" in result.detail


# --- high load ------------------------------------------------------------------------------


def metrics_text() -> str:
    """A /metrics page with one slow route and one route answering 5xx."""
    registry = CollectorRegistry()
    labels = ("method", "route", "status")
    requests = Counter("freemarket_http_requests_total", "r", labels, registry=registry)
    duration = Histogram(
        "freemarket_http_request_duration_seconds", "d", labels, buckets=BUCKETS, registry=registry
    )
    traffic = [
        ("GET", "/api/items", "200", 0.02, 80),
        ("GET", "/api/matches/{user_id}", "200", 3.0, 15),
        ("POST", "/api/items", "500", 0.05, 10),
        ("GET", "/metrics", "200", 9.0, 50),  # scrapes: ignored
    ]
    for method, route, status, seconds, count in traffic:
        for _ in range(count):
            requests.labels(method, route, status).inc()
            duration.labels(method, route, status).observe(seconds)
    return generate_latest(registry).decode()


def test_route_stats_from_exposition() -> None:
    stats = {r.label: r for r in doctor.parse_route_stats(metrics_text())}
    assert set(stats) == {"GET /api/items", "GET /api/matches/{user_id}", "POST /api/items"}
    slow = stats["GET /api/matches/{user_id}"]
    assert slow.requests == 15 and slow.average == pytest.approx(3.0)
    assert 2.5 < slow.quantile(0.95) <= 5.0
    assert stats["POST /api/items"].error_rate == 1.0


def test_high_load_diagnosis_from_metrics_endpoint() -> None:
    page = Route(200, metrics_text(), "text/plain; version=0.0.4")
    with serve(FakeServer(routes={"/metrics": page})) as server:
        latency, errors = doctor.diagnose_metrics(server.url + "/metrics", 5)
    assert latency.status == "warn"
    assert latency.detail.startswith("GET /api/matches/{user_id} p95")
    assert "freemarket scale backend=N" in latency.fix
    assert errors.status == "fail"  # 10 of 105 requests are 5xx: over the 5% alert line
    assert "POST /api/items 10×5xx" in errors.detail


def test_metrics_refused_by_nginx_is_explained() -> None:
    with serve(FakeServer(routes={"/metrics": Route(403, "forbidden")})) as server:
        [result] = doctor.diagnose_metrics(server.url + "/metrics", 5)
    assert result.status == "warn" and "internal networks only" in result.detail


# --- all of it ------------------------------------------------------------------------------


def test_doctor_end_to_end(engine: Engine, db_url: str, tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=db_url, telegram_bot_token=GOOD_TOKEN)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html>")
    page = Route(200, metrics_text(), "text/plain")
    with serve(FakeServer(routes={"/metrics": page})) as server:
        options = DoctorOptions(
            base_url=server.url,
            static_dir=tmp_path / "dist",
            telegram_api_url=server.url,
            project_dir=tmp_path,
        )
        results = {r.name: r for r in run_doctor(options, settings=settings)}
    statuses = {name: r.status for name, r in results.items()}
    assert statuses == {
        "backend: settings": "pass",
        "backend: DATABASE_URL": "pass",
        "backend: database connection": "pass",
        "backend: migrations": "pass",
        "web: build": "pass",
        "web: nginx config": "skip",
        "bot: token": "pass",
        "bot: updates": "pass",
        "bot: mode": "pass",
        "bot: outbox": "pass",
        "load: slowest routes": "warn",
        "load: error rate": "fail",
    }


def test_cli_doctor_reports_unreachable_database(tls_run: OpsRun) -> None:
    port = free_port()
    database = f"postgresql+psycopg2://fm:pw@127.0.0.1:{port}/fm"
    result = tls_run(
        "doctor",
        "--json",
        "--base-url",
        "http://127.0.0.1:9",
        "--timeout",
        "1",
        env={"DATABASE_URL": database},
    )
    assert result.code == 1
    rows = {r["name"]: r for r in result.json()["results"]}
    # The embedded default has no nginx, whether or not docker and a compose file are here.
    assert rows["web: nginx config"]["status"] == "skip"
    assert "embedded default" in rows["web: nginx config"]["detail"]
    assert rows["backend: database connection"]["detail"].startswith("connection refused")
    assert rows["backend: migrations"]["status"] == "skip"
    assert rows["bot: token"]["detail"] == "TELEGRAM_BOT_TOKEN not set: the bot is off"
    assert rows["bot: mode"]["status"] == "skip"


def test_bot_mode_must_agree_with_telegram() -> None:
    """Polling with a webhook set, or webhook mode without ours, is a failure with the fix."""
    from freemarket.ops.doctor import diagnose_bot_mode
    from tests.fakes.telegram import fake_telegram

    with fake_telegram() as telegram:
        polling = Settings(
            _env_file=None,
            telegram_bot_token=telegram.token,
            public_url="https://market.example",
        )
        assert diagnose_bot_mode(polling, telegram.url, 5).detail == (
            "long polling (`freemarket bot`)"
        )
        webhook = polling.model_copy(update={"telegram_mode": "webhook"})
        missing = diagnose_bot_mode(webhook, telegram.url, 5)
        assert (missing.status, missing.fix) == ("fail", "freemarket bot webhook set")
        telegram.webhook = {"url": "https://market.example/telegram/webhook"}
        assert diagnose_bot_mode(webhook, telegram.url, 5).status == "pass"
        stuck = diagnose_bot_mode(polling, telegram.url, 5)
        assert stuck.status == "fail" and "webhook delete" in (stuck.fix or "")
