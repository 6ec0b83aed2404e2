"""The troubleshooting section of the seed document as diagnostics returning check outcomes."""

from __future__ import annotations

import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from freemarket.errors import FreeMarketError
from freemarket.infra.settings import Settings
from freemarket.ops.checks import (
    EMBEDDED,
    FAIL,
    PASS,
    SKIP,
    WARN,
    CheckResult,
    check_bot_token,
    check_bot_updates,
    check_migrations_local,
    connect_engine,
    deployment_configured,
    describe_database_error,
    http_get,
    load_settings,
    missing_sqlite_file,
    telegram_call,
)
from freemarket.ops.compose import DEFAULT_COMPOSE_FILE, Compose, first_line
from freemarket.ops.process import which

DURATION_METRIC = "freemarket_http_request_duration_seconds"
REQUESTS_METRIC = "freemarket_http_requests"
# The alert rules' thresholds (monitoring/alert_rules.yml), so doctor and Prometheus agree.
SLOW_P95_SECONDS = 1.0
ERROR_RATE_FAIL = 0.05
ERROR_RATE_WARN = 0.01
MIN_REQUESTS_FOR_RATE = 20
PENDING_BACKLOG_WARN = 100
PENDING_AGE_WARN = timedelta(minutes=15)
# Scrapes and probes are not load; counting them would hide the routes people use.
IGNORED_ROUTES = frozenset({"/metrics", "/health", "/health/ready"})


@dataclass(slots=True)
class DoctorOptions:
    """Where the diagnostics look; every path and URL has the production default."""

    env_file: Path = Path(".env")
    base_url: str | None = None
    metrics_url: str | None = None
    static_dir: Path | None = None  # default: WEB_DIST_DIR, else the checkout's frontend/dist
    nginx_config: Path | None = None
    compose_file: Path = DEFAULT_COMPOSE_FILE
    telegram_api_url: str | None = None
    timeout: float = 5.0
    docker: str = "docker"
    project_dir: Path = field(default_factory=Path.cwd)


# --- backend will not start -----------------------------------------------------------------


def diagnose_database_url(url: str) -> CheckResult:
    """DATABASE_URL parses and its driver is installed."""
    name = "backend: DATABASE_URL"
    fix = "set DATABASE_URL=postgresql+psycopg2://USER:PASSWORD@HOST:5432/DB"
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError as exc:  # a subclass of ArgumentError: test it first
        return CheckResult(name, FAIL, f"unknown driver: {first_line(str(exc))}", fix)
    except ArgumentError as exc:
        return CheckResult(name, FAIL, f"cannot parse: {first_line(str(exc))}", fix)
    except ImportError as exc:
        return CheckResult(name, FAIL, f"driver not installed: {exc}", "pip install the driver")
    return CheckResult(name, PASS, parsed.render_as_string(hide_password=True))


def diagnose_connection(url: str, timeout: float) -> CheckResult:
    """The database accepts a connection (refused, bad credentials, missing database differ)."""
    name = "backend: database connection"
    missing = missing_sqlite_file(url)
    if missing is not None:
        return CheckResult(name, FAIL, f"{missing} does not exist", "freemarket migrate")
    engine = connect_engine(url, timeout)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        detail, fix = describe_database_error(exc, url)
        if make_url(url).host == "db":
            fix += "; or diagnose from inside: docker compose run --rm backend doctor"
        return CheckResult(name, FAIL, detail, fix)
    finally:
        engine.dispose()
    return CheckResult(name, PASS, "connected")


def diagnose_startup(settings: Settings) -> CheckResult:
    """The settings pass the service's own startup validation."""
    name = "backend: settings"
    try:
        settings.validate_for_startup()
    except FreeMarketError as exc:
        return CheckResult(name, FAIL, exc.message, "fix it in .env")
    return CheckResult(name, PASS, f"{settings.environment.value} settings accepted")


# --- web UI will not load -------------------------------------------------------------------


def diagnose_static(static_dir: Path) -> CheckResult:
    """The web UI build exists."""
    index = static_dir / "index.html"
    if index.is_file():
        return CheckResult("web: build", PASS, f"{index} present")
    return CheckResult(
        "web: build",
        FAIL,
        f"{index} missing",
        "cd frontend && npm ci && npm run build (the image build does this too)",
    )


def nginx_test(config: Path, nginx: str = "nginx", timeout: float = 30) -> tuple[bool, str]:
    """Run `nginx -t -c config`; return whether it passed and nginx's verdict line."""
    result = subprocess.run(
        [nginx, "-t", "-c", str(config.resolve())],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # nginx prints its errors as "[emerg]" lines and its verdict ("test is successful") last.
    errors = [line for line in lines if "[emerg]" in line or "[alert]" in line]
    ok = result.returncode == 0
    verdict = (lines[-1:] if ok else errors or lines) or ["no output"]
    return ok, verdict[0].removeprefix("nginx: ").strip()


def diagnose_nginx(config: Path | None, compose: Compose | None) -> CheckResult:
    """nginx accepts its configuration (locally with -c, or inside the running container)."""
    name = "web: nginx config"
    if config is not None:
        if which("nginx") is None:
            return CheckResult(name, SKIP, "nginx is not installed here", "apt-get install nginx")
        ok, verdict = nginx_test(config)
        return CheckResult(name, PASS if ok else FAIL, verdict, "" if ok else f"fix {config}")
    if compose is None:
        return CheckResult(name, SKIP, "no --nginx-config and docker compose not available")
    result = compose.execute(compose.command("exec", "-T", "nginx", "nginx", "-t"), check=False)
    verdict = first_line(result.stderr) or first_line(result.stdout) or "no output"
    if result.returncode != 0:
        return CheckResult(name, FAIL, verdict, "fix deploy/nginx/freemarket.conf and redeploy")
    return CheckResult(name, PASS, verdict)


# --- bot does not send ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutboxState:
    """The notification outbox: counts by status, the oldest pending, recent errors."""

    counts: dict[str, int]
    oldest_pending: datetime | None
    last_errors: list[str]


def outbox_state(session: Session, *, error_limit: int = 3) -> OutboxState:
    """Read the outbox: how much waits or failed, and the latest distinct delivery errors."""
    from freemarket.db.models import Notification

    counts = dict(
        session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ).all()
    )
    oldest = session.scalar(
        select(func.min(Notification.created_at)).where(Notification.status == "pending")
    )
    recent = session.scalars(
        select(Notification.last_error)
        .where(Notification.last_error.is_not(None))
        .order_by(Notification.id.desc())
        .limit(50)
    )
    errors = list(dict.fromkeys(first_line(e) for e in recent if e))[:error_limit]
    return OutboxState({k: int(v) for k, v in counts.items()}, oldest, errors)


def diagnose_outbox(engine: Engine, *, now: datetime | None = None) -> CheckResult:
    """Notifications are not piling up or failing."""
    from freemarket.db.session import session_factory

    name = "bot: outbox"
    with session_factory(engine)() as session:
        state = outbox_state(session)
    pending = state.counts.get("pending", 0)
    failed = state.counts.get("failed", 0) + state.counts.get("dead", 0)
    detail = f"{pending} pending, {failed} failed"
    now = now or datetime.now(UTC)
    age = None
    if state.oldest_pending is not None:
        oldest = state.oldest_pending
        age = now - (oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC))
        detail += f", oldest pending {_duration(age)} old"
    if state.last_errors:
        detail += "; last errors: " + " | ".join(state.last_errors)
    if failed or pending > PENDING_BACKLOG_WARN or (age is not None and age > PENDING_AGE_WARN):
        fix = "check the bot and worker logs: freemarket deploy logs bot"
        return CheckResult(name, WARN, detail, fix)
    return CheckResult(name, PASS, detail)


def diagnose_bot_mode(settings: Settings, api_url: str, timeout: float) -> CheckResult:
    """TELEGRAM_MODE agrees with Telegram: polling needs no webhook, webhook mode needs ours."""
    name = "bot: mode"
    token, mode = settings.telegram_bot_token, settings.telegram_mode
    if not token:
        return CheckResult(name, SKIP, "TELEGRAM_BOT_TOKEN not set")
    reply = telegram_call(api_url, token, "getWebhookInfo", timeout)
    if not reply.ok:
        return CheckResult(name, SKIP, f"getWebhookInfo failed: {reply.description}")
    webhook = (reply.result or {}).get("url") or ""
    expected = settings.public_url.rstrip("/") + "/telegram/webhook"
    if mode == "polling" and webhook:
        return CheckResult(
            name,
            FAIL,
            f"TELEGRAM_MODE=polling but a webhook is set ({webhook}): polling gets nothing",
            "freemarket bot webhook delete, or set TELEGRAM_MODE=webhook",
        )
    if mode == "webhook" and webhook != expected:
        detail = f"TELEGRAM_MODE=webhook but the webhook is {webhook or 'not set'}"
        return CheckResult(name, FAIL, f"{detail}, not {expected}", "freemarket bot webhook set")
    if mode == "webhook":
        return CheckResult(name, PASS, f"webhook at {webhook}")
    return CheckResult(name, PASS, "long polling (`freemarket bot`)")


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400}d"
    if seconds >= 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


# --- high load ------------------------------------------------------------------------------


@dataclass(slots=True)
class RouteStats:
    """What the metrics say about one method and route since the process started."""

    method: str
    route: str
    requests: float = 0.0
    errors: float = 0.0
    duration_sum: float = 0.0
    duration_count: float = 0.0
    buckets: dict[float, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """METHOD route."""
        return f"{self.method} {self.route}"

    @property
    def average(self) -> float:
        """Mean duration in seconds."""
        return self.duration_sum / self.duration_count if self.duration_count else 0.0

    @property
    def error_rate(self) -> float:
        """Share of 5xx answers."""
        return self.errors / self.requests if self.requests else 0.0

    def quantile(self, q: float) -> float:
        """The q-quantile of durations, interpolated in buckets as Prometheus does."""
        bounds = sorted(self.buckets)
        total = self.buckets.get(float("inf"), self.duration_count)
        if not bounds or not total:
            return 0.0
        rank = q * total
        lower, below = 0.0, 0.0
        for bound in bounds:
            count = self.buckets[bound]
            if count >= rank:
                if bound == float("inf"):
                    return lower  # beyond the largest finite bucket: its bound is all we know
                share = (rank - below) / (count - below) if count > below else 1.0
                return lower + (bound - lower) * share
            lower, below = bound, count
        return lower


def parse_route_stats(exposition: str) -> list[RouteStats]:
    """Per-route request counts, 5xx counts and duration buckets from a /metrics text."""
    from prometheus_client.parser import text_string_to_metric_families

    stats: dict[tuple[str, str], RouteStats] = {}

    def entry(labels: dict[str, str]) -> RouteStats:
        key = (labels.get("method", ""), labels.get("route", ""))
        return stats.setdefault(key, RouteStats(*key))

    for family in text_string_to_metric_families(exposition):
        if family.name not in (DURATION_METRIC, REQUESTS_METRIC):
            continue
        for sample in family.samples:
            if sample.labels.get("route") in IGNORED_ROUTES:
                continue
            row = entry(sample.labels)
            if sample.name == f"{REQUESTS_METRIC}_total":
                row.requests += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    row.errors += sample.value
            elif sample.name == f"{DURATION_METRIC}_sum":
                row.duration_sum += sample.value
            elif sample.name == f"{DURATION_METRIC}_count":
                row.duration_count += sample.value
            elif sample.name == f"{DURATION_METRIC}_bucket":
                bound = float(sample.labels["le"])
                row.buckets[bound] = row.buckets.get(bound, 0.0) + sample.value
    return [row for row in stats.values() if row.requests or row.duration_count]


def diagnose_load(routes: list[RouteStats], *, top: int = 3) -> list[CheckResult]:
    """The slowest routes by p95 and the routes answering 5xx, against the alert thresholds."""
    if not routes:
        return [CheckResult("load: routes", SKIP, "no HTTP requests recorded yet")]
    slowest = sorted(routes, key=lambda r: r.quantile(0.95), reverse=True)[:top]
    detail = "; ".join(
        f"{r.label} p95 {r.quantile(0.95):.2f}s avg {r.average:.2f}s ({r.requests:.0f} req)"
        for r in slowest
    )
    slow = [r for r in slowest if r.quantile(0.95) > SLOW_P95_SECONDS]
    latency = CheckResult(
        "load: slowest routes",
        WARN if slow else PASS,
        detail,
        f"optimise {slow[0].label} (queries, indexes) or scale: freemarket scale backend=N"
        if slow
        else "",
    )
    total = sum(r.requests for r in routes)
    errors = sum(r.errors for r in routes)
    rate = errors / total if total else 0.0
    worst = sorted((r for r in routes if r.errors), key=lambda r: r.errors, reverse=True)[:top]
    detail = f"{rate:.1%} 5xx of {total:.0f} requests since start"
    if worst:
        detail += "; " + ", ".join(f"{r.label} {r.errors:.0f}×5xx" for r in worst)
    status = PASS
    if total >= MIN_REQUESTS_FOR_RATE and rate > ERROR_RATE_FAIL:
        status = FAIL
    elif errors and rate > ERROR_RATE_WARN:
        status = WARN
    fix = "read the backend logs: freemarket deploy logs backend" if status != PASS else ""
    return [latency, CheckResult("load: error rate", status, detail, fix)]


def diagnose_metrics(metrics_url: str, timeout: float) -> list[CheckResult]:
    """Fetch /metrics and diagnose latency and errors from it."""
    name = "load: metrics"
    try:
        response = http_get(metrics_url, timeout)
    except httpx.HTTPError as exc:
        return [CheckResult(name, WARN, f"{metrics_url}: {type(exc).__name__}", "pass --base-url")]
    if response.status_code == 403:
        return [
            CheckResult(
                name,
                WARN,
                f"{metrics_url} answered 403: nginx serves /metrics to internal networks only",
                "use --metrics-url of a backend replica or ask Prometheus",
            )
        ]
    if response.status_code != 200:
        return [CheckResult(name, WARN, f"{metrics_url} answered {response.status_code}")]
    try:
        routes = parse_route_stats(response.text)
    except ValueError as exc:
        return [CheckResult(name, FAIL, f"{metrics_url} is not a Prometheus text: {exc}")]
    return diagnose_load(routes)


# --- all of it ------------------------------------------------------------------------------


def run_doctor(options: DoctorOptions, *, settings: Settings | None = None) -> list[CheckResult]:
    """Every troubleshooting diagnosis of the seed, in its order."""
    settings = settings or load_settings(options.env_file)
    url = settings.effective_database_url
    results = [diagnose_startup(settings), diagnose_database_url(url)]
    connected = False
    if results[-1].status == PASS:
        results.append(diagnose_connection(url, options.timeout))
        connected = results[-1].status == PASS
    engine = connect_engine(url, options.timeout) if connected else None
    try:
        if engine is not None:
            migrations = check_migrations_local(engine)
            results.append(replace(migrations, name="backend: migrations"))
        else:
            results.append(CheckResult("backend: migrations", SKIP, "no database connection"))

        compose = Compose(
            file=options.compose_file, project_dir=options.project_dir, docker=options.docker
        )
        results.append(diagnose_static(options.static_dir or settings.effective_web_dist_dir))
        if options.nginx_config is None and not deployment_configured(settings):
            # The embedded default serves the web UI itself: there is no nginx to diagnose.
            results.append(CheckResult("web: nginx config", SKIP, EMBEDDED))
        else:
            running = compose.available() is None and not compose.missing_files()
            results.append(diagnose_nginx(options.nginx_config, compose if running else None))

        api_url = options.telegram_api_url or settings.telegram_api_url
        token = settings.telegram_bot_token
        # Without a token in development the bot is simply off, which is no fault.
        production = settings.is_production
        me = check_bot_token(token, api_url, options.timeout, production=production)
        results.append(replace(me, name="bot: token"))
        updates = check_bot_updates(token, api_url, options.timeout)
        results.append(replace(updates, name="bot: updates"))
        results.append(diagnose_bot_mode(settings, api_url, options.timeout))
        if engine is not None:
            results.append(diagnose_outbox(engine))
        else:
            results.append(CheckResult("bot: outbox", SKIP, "no database connection"))
    finally:
        if engine is not None:
            engine.dispose()

    base = options.base_url or settings.public_url
    metrics_url = options.metrics_url or base.rstrip("/") + "/metrics"
    results += diagnose_metrics(metrics_url, options.timeout)
    return results


def summarize(results: Iterable[CheckResult]) -> dict[str, int]:
    """How many results have each status."""
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        counts[result.status] += 1
    return dict(counts)
