"""The pre-deploy checklist of the seed document as functions returning check outcomes."""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import json
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from freemarket.errors import FreeMarketError
from freemarket.infra.settings import Environment, Settings
from freemarket.ops.compose import (
    DEFAULT_COMPOSE_FILE,
    Compose,
    ContainerEngine,
    DockerEngine,
    first_line,
)

Status = Literal["pass", "warn", "fail", "skip"]
PASS: Status = "pass"
WARN: Status = "warn"
FAIL: Status = "fail"
SKIP: Status = "skip"

DEFAULT_CERT_DIRS = (Path("deploy/certs"), Path("/etc/letsencrypt/live"))
MIN_CERT_DAYS = 14
# Below this the certificate is as good as expired: nobody renews it before clients break.
CRITICAL_CERT_DAYS = 3
# More queued updates than this means nobody is consuming them (bot down or webhook failing).
MAX_PENDING_UPDATES = 100


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of a checklist: what was checked, the verdict, what was seen, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """The result as plain JSON-ready data."""
        return asdict(self)


def failed(results: Iterable[CheckResult]) -> bool:
    """True when any result is a fail."""
    return any(result.status == FAIL for result in results)


@dataclass(slots=True)
class CheckOptions:
    """Where to look: every path, address and URL a check uses, with production defaults."""

    env_file: Path = Path(".env")
    domain: str | None = None
    compose_file: Path = DEFAULT_COMPOSE_FILE
    base_url: str | None = None
    cert_dirs: Sequence[Path] = DEFAULT_CERT_DIRS
    telegram_api_url: str | None = None
    host_ips: Sequence[str] = ()
    timeout: float = 5.0
    min_cert_days: int = MIN_CERT_DAYS
    docker: str = "docker"
    project_dir: Path = field(default_factory=Path.cwd)
    engine: ContainerEngine = field(default_factory=DockerEngine)


# --- settings -------------------------------------------------------------------------------


def load_settings(env_file: Path) -> Settings:
    """Settings as a process started here would see them, reading `env_file` if it exists."""
    return Settings(_env_file=env_file if env_file.is_file() else None)  # type: ignore[call-arg]


def compose_database_url(password: str | None) -> str:
    """The DATABASE_URL docker-compose.prod.yml gives the services."""
    return f"postgresql+psycopg2://freemarket:{password or ''}@db:5432/freemarket"


def check_env(
    env_file: Path, settings: Settings, *, production: bool, compose: bool = False
) -> CheckResult:
    """`.env` exists and holds real secrets (the service's own startup validation decides).

    With `compose`, DATABASE_URL is the one docker-compose.prod.yml sets for the containers.
    """
    name = ".env secrets"
    fix = f"copy .env.example to {env_file} and set DB_PASSWORD, TELEGRAM_BOT_TOKEN, SECRET_KEY"
    if not env_file.is_file():
        status = FAIL if production else WARN
        return CheckResult(name, status, f"{env_file} not found", fix)
    # The check is about production readiness whatever ENVIRONMENT says. The compose file
    # builds DATABASE_URL from DB_PASSWORD (validated on its own), so .env need not carry it:
    # stand in the compose URL with a neutral password, or a weak DB_PASSWORD would be
    # blamed on DATABASE_URL.
    update: dict[str, Any] = {"environment": Environment.production}
    if compose or not settings.database_url:
        update["database_url"] = compose_database_url("from-db-password")
    try:
        settings.model_copy(update=update).validate_for_startup()
    except FreeMarketError as exc:
        status = FAIL if production else WARN
        suffix = "" if production else " (fine for the embedded default, not for production)"
        return CheckResult(name, status, exc.message + suffix, fix)
    return CheckResult(name, PASS, f"{env_file}: secrets set and not placeholders")


# --- DNS ------------------------------------------------------------------------------------


def resolve(domain: str) -> set[str]:
    """The IPv4 and IPv6 addresses `domain` resolves to."""
    infos = socket.getaddrinfo(domain, None, proto=socket.IPPROTO_TCP)
    return {str(info[4][0]) for info in infos}


def host_addresses() -> set[str]:
    """The addresses configured on this host's interfaces (Linux /proc, else the hostname)."""
    found: set[str] = set()
    try:
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        # A local address is the leaf printed just before its "/32 host LOCAL" line.
        for previous, line in itertools.pairwise(lines):
            if "/32 host LOCAL" in line:
                found.add(previous.split()[-1])
    except OSError:
        pass
    try:
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            raw = line.split()[0]
            found.add(str(ipaddress.IPv6Address(bytes.fromhex(raw))))
    except (OSError, ValueError, IndexError):
        pass
    if not found:
        with contextlib.suppress(OSError):
            found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    return found


def check_dns(
    domain: str | None,
    *,
    resolver: Callable[[str], set[str]] = resolve,
    local: set[str] | None = None,
) -> CheckResult:
    """The domain resolves to an address of this host."""
    name = "DNS"
    if not domain:
        return CheckResult(name, SKIP, "no --domain given (embedded default)")
    try:
        addresses = resolver(domain)
    except OSError as exc:
        return CheckResult(
            name, FAIL, f"{domain} does not resolve: {exc}", f"create an A record for {domain}"
        )
    mine = host_addresses() if local is None else local
    shared = addresses & mine
    if shared:
        return CheckResult(name, PASS, f"{domain} → {', '.join(sorted(shared))} (this host)")
    public = sorted(a for a in mine if not ipaddress.ip_address(a.split("%")[0]).is_loopback)
    return CheckResult(
        name,
        FAIL,
        f"{domain} → {', '.join(sorted(addresses))}; this host has {', '.join(public) or 'none'}",
        f"point the A/AAAA record of {domain} at this host (behind NAT: pass --host-ip)",
    )


# --- TLS ------------------------------------------------------------------------------------


def find_certificate(domain: str, cert_dirs: Sequence[Path]) -> Path | None:
    """The first fullchain.pem for `domain` in `cert_dirs` (per-domain subfolder or flat)."""
    for directory in cert_dirs:
        for candidate in (directory / domain / "fullchain.pem", directory / "fullchain.pem"):
            if candidate.is_file():
                return candidate
    return None


def check_tls(
    domain: str | None,
    cert_dirs: Sequence[Path],
    *,
    min_days: int = MIN_CERT_DAYS,
    now: datetime | None = None,
) -> CheckResult:
    """A certificate for the domain exists and stays valid for more than `min_days` days."""
    from freemarket.ops.tls import certificate_info

    name = "TLS certificate"
    if not domain:
        return CheckResult(name, SKIP, "no --domain given (embedded default serves plain HTTP)")
    issue = (
        f"certbot certonly --webroot -w /var/www/certbot -d {domain}, then copy fullchain.pem "
        f"and privkey.pem into {cert_dirs[0] if cert_dirs else 'deploy/certs'}"
    )
    path = find_certificate(domain, cert_dirs)
    if path is None:
        where = ", ".join(str(d) for d in cert_dirs)
        return CheckResult(name, FAIL, f"no fullchain.pem for {domain} in {where}", issue)
    now = now or datetime.now(UTC)
    try:
        cert = certificate_info(path, now)
    except FreeMarketError as exc:
        return CheckResult(name, FAIL, exc.message, issue)
    names = cert.names or [cert.subject]
    if not any(_name_matches(pattern, domain) for pattern in names):
        return CheckResult(name, FAIL, f"{path} is for {', '.join(names)}, not {domain}", issue)
    detail = f"{path}: expires {cert.not_after:%Y-%m-%d} ({cert.days_left} days)"
    renew = "renew it: certbot renew, then copy the files and reload nginx"
    if cert.not_before > now or cert.days_left <= CRITICAL_CERT_DAYS:
        return CheckResult(name, FAIL, detail + (" — expired" if cert.expired else ""), renew)
    if cert.days_left <= min_days:
        return CheckResult(name, WARN, f"{detail}, under {min_days} days", renew)
    return CheckResult(name, PASS, detail)


def _name_matches(pattern: str, domain: str) -> bool:
    if pattern.startswith("*."):
        return domain.count(".") == pattern.count(".") and domain.endswith(pattern[1:])
    return pattern.lower() == domain.lower()


# --- docker ---------------------------------------------------------------------------------


def check_docker(compose: Compose, *, production: bool) -> CheckResult:
    """docker and the compose plugin are installed and answer."""
    reason = compose.available()
    if reason is None:
        return CheckResult("docker compose", PASS, "docker and docker compose answer")
    if production:
        return CheckResult(
            "docker compose", FAIL, reason, "install Docker Engine and the compose plugin"
        )
    return CheckResult("docker compose", SKIP, f"{reason}: embedded default, compose not used")


def check_compose_config(compose: Compose) -> CheckResult:
    """`docker compose config -q` accepts the compose file."""
    name = "compose file"
    if missing := compose.missing_files():
        return CheckResult(name, FAIL, f"{missing[0]} not found", "run from the repository root")
    result = compose.execute(compose.command("config", "-q"), check=False)
    if result.returncode != 0:
        return CheckResult(
            name, FAIL, first_line(result.stderr) or "invalid", f"fix {compose.file}"
        )
    return CheckResult(name, PASS, f"{compose.file} is valid")


def check_services(compose: Compose) -> CheckResult:
    """Every service of the compose file has a running, healthy container."""
    name = "services"
    fix = f"docker compose {compose.file_args} up -d (or freemarket deploy)"
    try:
        expected = compose.services()
        containers = compose.ps()
    except FreeMarketError as exc:
        return CheckResult(name, FAIL, exc.message, fix)
    problems = []
    for service in expected:
        mine = [c for c in containers if c.service == service]
        if not any(c.state == "running" for c in mine):
            problems.append(f"{service} not running")
        elif bad := [c for c in mine if c.state == "running" and not c.healthy]:
            problems.append(f"{service} {bad[0].health}")
    if problems:
        return CheckResult(name, FAIL, "; ".join(problems), fix)
    return CheckResult(name, PASS, f"{len(expected)} services up and healthy")


# --- HTTP -----------------------------------------------------------------------------------


def http_get(url: str, timeout: float, verify: ssl.SSLContext | bool = True) -> httpx.Response:
    """GET `url`, following no redirects; raises httpx.HTTPError on network failure."""
    return httpx.get(url, timeout=timeout, follow_redirects=False, verify=verify)


def _unreachable(exc: httpx.HTTPError) -> str:
    # httpx puts the URL into some messages; the caller already names it.
    return f"{type(exc).__name__}: {first_line(str(exc)) or 'no answer'}"


def _fetch(
    name: str, url: str, fix: str, timeout: float, verify: ssl.SSLContext | bool
) -> httpx.Response | CheckResult:
    """The answer of GET `url`, or the failed check saying nothing answered."""
    try:
        return http_get(url, timeout, verify)
    except httpx.HTTPError as exc:
        return CheckResult(name, FAIL, f"{url}: {_unreachable(exc)}", fix)


def check_health(
    base_url: str, timeout: float, verify: ssl.SSLContext | bool = True
) -> CheckResult:
    """GET /health answers 200."""
    url = base_url.rstrip("/") + "/health"
    fix = "start the service (freemarket up, or docker compose up -d) and see its logs"
    response = _fetch("/health", url, fix, timeout, verify)
    if isinstance(response, CheckResult):
        return response
    if response.status_code != 200:
        return CheckResult("/health", FAIL, f"{url} answered {response.status_code}", fix)
    return CheckResult("/health", PASS, f"{url} answered 200")


def check_web_ui(
    base_url: str, timeout: float, verify: ssl.SSLContext | bool = True
) -> CheckResult:
    """GET / returns an HTML page (the web UI)."""
    url = base_url.rstrip("/") + "/"
    fix = "build the web UI (cd frontend && npm ci && npm run build) and check nginx"
    response = _fetch("web UI", url, fix, timeout, verify)
    if isinstance(response, CheckResult):
        return response
    kind = response.headers.get("content-type", "")
    if response.status_code != 200 or "html" not in kind:
        return CheckResult(
            "web UI", FAIL, f"{url} answered {response.status_code} {kind or 'no type'}", fix
        )
    return CheckResult("web UI", PASS, f"{url} serves HTML")


# --- database -------------------------------------------------------------------------------


def describe_database_error(exc: BaseException, url: str) -> tuple[str, str]:
    """Why a database connection failed and how to fix it, telling the usual causes apart."""
    message = str(getattr(exc, "orig", None) or exc)
    lowered = message.lower()
    parsed = make_url(url)
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "connection refused" in lowered:
        return (
            f"connection refused by {where}: no PostgreSQL listens there",
            "start PostgreSQL (docker compose up -d db) or fix host and port in DATABASE_URL",
        )
    if (
        "authentication failed" in lowered
        or "no pg_hba.conf entry" in lowered
        or ("role" in lowered and "does not exist" in lowered)
    ):
        return (
            f"authentication failed for user {parsed.username!r} at {where}",
            "fix the user or password in DATABASE_URL; the db container keeps the DB_PASSWORD "
            "it was first initialised with",
        )
    if "database" in lowered and "does not exist" in lowered:
        return (
            f"database {parsed.database!r} does not exist on {where}",
            f"create it (createdb {parsed.database}) or fix the name in DATABASE_URL",
        )
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return (
            f"host {parsed.host!r} does not resolve",
            "`db` resolves only inside the compose network; use a reachable host",
        )
    if "timeout" in lowered or "timed out" in lowered:
        return (f"no answer from {where} (timeout)", "check the firewall and the host")
    if "unable to open database file" in lowered:
        return (
            f"cannot open SQLite file {parsed.database}",
            "check DATA_DIR exists and is writable",
        )
    return first_line(message) or type(exc).__name__, "check DATABASE_URL and the database server"


def connect_engine(url: str, timeout: float) -> Engine:
    """An engine that gives up connecting after `timeout` seconds (PostgreSQL)."""
    from sqlalchemy import create_engine

    args = {"connect_timeout": max(1, int(timeout))} if url.startswith("postgresql") else {}
    return create_engine(url, connect_args=args)


def missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file `url` names when it does not exist yet (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def check_migrations_local(engine: Engine) -> CheckResult:
    """The database answers and its schema is at the shipped head."""
    from sqlalchemy.exc import SQLAlchemyError

    from freemarket.db import migrate

    name = "database migrations"
    missing = missing_sqlite_file(engine.url.render_as_string(hide_password=False))
    if missing is not None:
        return CheckResult(name, FAIL, f"no database yet ({missing})", "freemarket migrate")
    try:
        status = migrate.migration_status(engine)
    except SQLAlchemyError as exc:
        url = engine.url.render_as_string(hide_password=False)
        detail, fix = describe_database_error(exc, url)
        return CheckResult(name, FAIL, detail, fix)
    return _migration_result(status.current, status.head, "freemarket migrate")


def check_migrations_compose(compose: Compose) -> CheckResult:
    """The production database is at head, asked from a one-off backend container."""
    name = "database migrations"
    args = ("run", "--rm", "-T", "--no-deps", "backend", "migrate", "status", "--json")
    result = compose.execute(compose.command(*args), check=False)
    try:
        status = json.loads(result.stdout)
        return _migration_result(
            status.get("current"),
            status["head"],
            f"docker compose {compose.file_args} run --rm backend migrate",
        )
    except (ValueError, KeyError, TypeError):
        reason = first_line(result.stderr) or first_line(result.stdout) or "no output"
        return CheckResult(name, FAIL, reason, "see freemarket doctor")


def _migration_result(current: str | None, head: str, command: str) -> CheckResult:
    name = "database migrations"
    if current == head:
        return CheckResult(name, PASS, f"at head {head}")
    return CheckResult(name, FAIL, f"at {current or 'empty database'}, head is {head}", command)


# --- Telegram -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TelegramReply:
    """The answer of one Bot API call (ok with a result, or an error description)."""

    ok: bool
    result: Any
    description: str


def telegram_call(api_url: str, token: str, method: str, timeout: float) -> TelegramReply:
    """Call a Bot API method; network failures come back as a not-ok reply, never the token."""
    url = f"{api_url.rstrip('/')}/bot{token}/{method}"
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        # The URL holds the token: report only the kind of failure and the API host.
        return TelegramReply(False, None, f"{type(exc).__name__} reaching {api_url}")
    try:
        body = response.json()
    except ValueError:
        return TelegramReply(False, None, f"{api_url} answered {response.status_code}, not JSON")
    if not body.get("ok"):
        code = body.get("error_code", response.status_code)
        return TelegramReply(False, None, f"{code} {body.get('description', 'error')}")
    return TelegramReply(True, body.get("result"), "")


def check_bot_token(
    token: str | None, api_url: str, timeout: float, *, production: bool
) -> CheckResult:
    """The bot token is set and the Bot API accepts it (getMe)."""
    name = "bot token"
    if not token:
        if production:
            return CheckResult(name, FAIL, "TELEGRAM_BOT_TOKEN is not set", "set it in .env")
        return CheckResult(name, SKIP, "TELEGRAM_BOT_TOKEN not set: the bot is off")
    reply = telegram_call(api_url, token, "getMe", timeout)
    if not reply.ok:
        fix = "get a valid token from @BotFather and set TELEGRAM_BOT_TOKEN"
        if reply.description.startswith(("401", "404")):
            return CheckResult(name, FAIL, f"token rejected: {reply.description}", fix)
        return CheckResult(name, FAIL, f"getMe failed: {reply.description}", "check egress")
    me = reply.result or {}
    return CheckResult(name, PASS, f"@{me.get('username')} (id {me.get('id')})")


def check_bot_updates(
    token: str | None, api_url: str, timeout: float, *, domain: str | None = None
) -> CheckResult:
    """How the bot receives updates (webhook or polling) and whether they flow (getWebhookInfo)."""
    name = "bot updates"
    if not token:
        return CheckResult(name, SKIP, "TELEGRAM_BOT_TOKEN not set")
    reply = telegram_call(api_url, token, "getWebhookInfo", timeout)
    if not reply.ok:
        return CheckResult(name, FAIL, f"getWebhookInfo failed: {reply.description}")
    info = reply.result or {}
    pending = int(info.get("pending_update_count", 0))
    webhook = info.get("url") or ""
    if not webhook:
        detail = f"polling (no webhook), {pending} updates queued"
        if pending > MAX_PENDING_UPDATES:
            return CheckResult(name, WARN, detail, "start the bot: docker compose up -d bot")
        return CheckResult(name, PASS, detail)
    detail = f"webhook {webhook}, {pending} updates queued"
    if info.get("last_error_message"):
        when = info.get("last_error_date")
        at = f" at {datetime.fromtimestamp(when, UTC):%Y-%m-%d %H:%M}Z" if when else ""
        return CheckResult(
            name,
            WARN,
            f"{detail}; last error{at}: {info['last_error_message']}",
            "check nginx routes /telegram/webhook to the backend and the certificate is valid",
        )
    if domain and not webhook.startswith(f"https://{domain}/"):
        return CheckResult(
            name, WARN, f"{detail}, not on {domain}", "set the webhook again (setWebhook)"
        )
    if pending > MAX_PENDING_UPDATES:
        return CheckResult(name, WARN, detail, "the webhook endpoint is not keeping up")
    return CheckResult(name, PASS, detail)


# --- the checklist --------------------------------------------------------------------------


def deployment_configured(settings: Settings, domain: str | None = None) -> bool:
    """Whether this host runs a deployment (production settings or a public domain).

    Otherwise it is the embedded default (`freemarket up` on SQLite, plain HTTP), where
    compose, nginx and TLS do not apply, whatever happens to be installed on the machine.
    """
    return settings.is_production or bool(domain or settings.domain)


EMBEDDED = "embedded default: no deployment configured (set DOMAIN or ENVIRONMENT=production)"


def is_production(settings: Settings, options: CheckOptions) -> bool:
    """A check is strict when the settings say production or a public domain is named."""
    return deployment_configured(settings, options.domain)


def base_url(settings: Settings, options: CheckOptions) -> str:
    """Where the service answers: --base-url, else https://DOMAIN, else PUBLIC_URL."""
    if options.base_url:
        return options.base_url
    if options.domain:
        return f"https://{options.domain}"
    return settings.public_url


def preflight(options: CheckOptions, compose: Compose) -> list[CheckResult]:
    """What must hold before a deploy can start: secrets, TLS, docker, a valid compose file."""
    # The .env compose hands the containers, not this process's settings, is what must hold.
    settings = load_settings(options.env_file)
    results = [
        check_env(options.env_file, settings, production=True, compose=True),
        check_tls(options.domain, options.cert_dirs, min_days=options.min_cert_days),
        check_docker(compose, production=True),
    ]
    if results[-1].status == PASS:
        results.append(check_compose_config(compose))
    return results


def run_checks(
    options: CheckOptions,
    *,
    settings: Settings | None = None,
    resolver: Callable[[str], set[str]] = resolve,
) -> list[CheckResult]:
    """The whole pre-deploy checklist; what does not apply here is marked skip with why."""
    settings = settings or load_settings(options.env_file)
    production = is_production(settings, options)
    compose = Compose(
        file=options.compose_file,
        project_dir=options.project_dir,
        docker=options.docker,
        engine=options.engine,
    )
    local = host_addresses() | set(options.host_ips)
    results = [
        check_env(options.env_file, settings, production=production),
        check_dns(options.domain, resolver=resolver, local=local),
        check_tls(options.domain, options.cert_dirs, min_days=options.min_cert_days),
    ]
    if production:
        docker = check_docker(compose, production=production)
        results.append(docker)
        use_compose = docker.status == PASS
        why = "docker compose not available"
    else:
        # The embedded default uses no compose, whether or not docker is installed here.
        use_compose, why = False, EMBEDDED
        results.append(CheckResult("docker compose", SKIP, why))
    if use_compose:
        results += [check_compose_config(compose), check_services(compose)]
    else:
        results += [
            CheckResult("compose file", SKIP, why),
            CheckResult("services", SKIP, why),
        ]
    url = base_url(settings, options)
    # Our own stack may run on a self-signed certificate (tls selfsigned): trust exactly it.
    from freemarket.ops.tls import stack_trust

    served = find_certificate(options.domain, options.cert_dirs) if options.domain else None
    verify = stack_trust(served)
    results.append(check_health(url, options.timeout, verify))
    if use_compose:
        results.append(check_migrations_compose(compose))
    else:
        engine = connect_engine(settings.effective_database_url, options.timeout)
        try:
            results.append(check_migrations_local(engine))
        finally:
            engine.dispose()
    results.append(check_web_ui(url, options.timeout, verify))
    api_url = options.telegram_api_url or settings.telegram_api_url
    token = settings.telegram_bot_token
    results.append(check_bot_token(token, api_url, options.timeout, production=production))
    results.append(check_bot_updates(token, api_url, options.timeout, domain=options.domain))
    return results
