"""`freemarket serve` and `freemarket up`: run the service."""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
from typing import TYPE_CHECKING

import typer

from cli.common import console, engine, settings
from freemarket.errors import ConfigurationError

DEFAULT_PORT = 8000
SERVED_BY_HEADER = "X-Served-By"


def check_port_free(host: str, port: int) -> None:
    """Fail with one line naming the fix when something already listens on host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # The same option uvicorn sets: a port left in TIME_WAIT is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            nxt = port + 1
            raise ConfigurationError(
                f"port {port} on {host} is already in use (is FreeMarket already running?); "
                f"stop that process or pick another port: make run PORT={nxt} "
                f"(or freemarket up --port {nxt})"
            ) from exc


def follow_port(host: str, port: int) -> None:
    """Point PUBLIC_URL (login links) at this host and port unless it was set on purpose."""
    from freemarket.infra.settings import Settings, get_settings

    default = Settings.model_fields["public_url"].default
    if "PUBLIC_URL" in os.environ or settings().public_url != default:
        return
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    # Through the environment, so uvicorn's worker processes read the same value.
    os.environ["PUBLIC_URL"] = f"http://{shown}:{port}"
    get_settings.cache_clear()


if TYPE_CHECKING:
    from freemarket.infra.settings import Settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(DEFAULT_PORT, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the HTTP API (and the web UI when built)."""
    import uvicorn

    from freemarket.infra.multiproc import MULTIPROC_ENV, prepare_multiprocess_dir

    check_port_free(host, port)
    follow_port(host, port)
    settings().validate_for_startup()
    if os.environ.get(MULTIPROC_ENV):
        # Set by the deployment (the compose file does): the directory must exist before the
        # metrics module is imported, and stale files from a previous run must go.
        prepare_multiprocess_dir(os.environ[MULTIPROC_ENV])
    elif workers > 1:
        # Each worker process keeps its own counters; the multiprocess directory is how
        # /metrics adds them up. It must be set before any worker imports prometheus_client.
        directory = prepare_multiprocess_dir(settings().data_dir / "prometheus")
        os.environ[MULTIPROC_ENV] = str(directory.resolve())
    uvicorn.run(
        "freemarket.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings().log_level,
        access_log=settings().access_log,
        # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (the reverse proxy); else
        # anyone could pick the address the per-address rate limits count against.
        proxy_headers=bool(settings().forwarded_allow_ips),
        forwarded_allow_ips=settings().forwarded_allow_ips or None,
        # Which replica answered, on every response: behind nginx with `scale backend=N` an
        # operator (and the deploy suite) can tell replicas apart without an access log line
        # per request. The container's hostname is its short id, as `deploy status` shows it.
        headers=[(SERVED_BY_HEADER, socket.gethostname())],
    )


def up(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(DEFAULT_PORT, min=1, max=65535, help="TCP port."),
    sign_in_link: str | None = typer.Option(
        None, "--sign-in-link", metavar="USERNAME", help="Print a web sign-in link for this user."
    ),
) -> None:
    """Migrate if needed, then run the API, the worker and (with a bot token) the bot here."""
    from cli.users import issue_login_link
    from freemarket.db import migrate
    from freemarket.infra import wakeup
    from freemarket.matching.worker import MatchWorker

    check_port_free(host, port)
    follow_port(host, port)
    settings().validate_for_startup()
    status = migrate.migration_status(engine())
    if not status.at_head:
        migrate.upgrade(engine())
        console.print(f"migrated database to {status.head}")
    # Issued before the worker starts: on SQLite its first matching pass holds the write lock.
    link = issue_login_link(sign_in_link) if sign_in_link else None
    stop = threading.Event()
    wakeup.configure(settings().redis_url)
    match_worker = MatchWorker(engine(), settings())
    worker_thread = threading.Thread(
        target=match_worker.run_forever, args=(stop,), name="worker", daemon=True
    )
    worker_thread.start()
    threads = [worker_thread]
    config = settings()
    if config.telegram_bot_token:
        # The whole bot: conversation (long polling, unless in webhook mode) and delivery.
        threads.append(
            threading.Thread(target=_run_bot, args=(config, stop), name="bot", daemon=True)
        )
        threads[-1].start()
    console.print(
        f"FreeMarket on {settings().public_url}  (database: {_describe_db()})", soft_wrap=True
    )
    if link:
        minutes = settings().login_code_ttl_minutes
        console.print(
            f"Sign in as {sign_in_link}: {link}\n"
            f"  (one use, {minutes} min; another: .venv/bin/freemarket user login-link "
            f"{sign_in_link})",
            soft_wrap=True,
        )
    # Redirected to a file or a pipe, stdout is block-buffered: the link must show at once.
    sys.stdout.flush()
    try:
        serve(host=host, port=port, workers=1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def _run_bot(config: Settings, stop: threading.Event) -> None:
    # Imported in the bot's own thread: aiogram takes seconds to import, and the API need not
    # wait for it to start answering.
    from freemarket.bot.runtime import run_bot_thread

    run_bot_thread(engine(), config, stop)


def _describe_db() -> str:
    url = engine().url
    return url.render_as_string(hide_password=True)
