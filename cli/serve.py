"""`freemarket serve` and `freemarket up`: run the service."""

from __future__ import annotations

import typer

from cli.common import console, engine, settings


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    workers: int = typer.Option(1, min=1, max=64, help="Worker processes."),
) -> None:
    """Serve the HTTP API (and the web UI when built)."""
    import os

    import uvicorn

    settings().validate_for_startup()
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Each worker process keeps its own counters; the multiprocess directory is how
        # /metrics adds them up. It must be set before any worker imports prometheus_client.
        from freemarket.infra.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

        directory = prepare_multiprocess_dir(settings().data_dir / "prometheus")
        os.environ[MULTIPROC_ENV] = str(directory.resolve())
    uvicorn.run(
        "freemarket.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings().log_level,
        # X-Forwarded-For is believed only from FORWARDED_ALLOW_IPS (the reverse proxy); else
        # anyone could pick the address the per-address rate limits count against.
        proxy_headers=bool(settings().forwarded_allow_ips),
        forwarded_allow_ips=settings().forwarded_allow_ips or None,
    )


def up(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
) -> None:
    """Migrate if needed, then run the API, the worker and (with a bot token) the bot here."""
    import threading

    from freemarket.db import migrate
    from freemarket.infra import wakeup
    from freemarket.matching.worker import MatchWorker

    settings().validate_for_startup()
    status = migrate.migration_status(engine())
    if not status.at_head:
        migrate.upgrade(engine())
        console.print(f"migrated database to {status.head}")
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
        from freemarket.bot.delivery import run_delivery_thread

        threads.append(
            threading.Thread(
                target=run_delivery_thread,
                args=(engine(),),
                kwargs={
                    "token": config.telegram_bot_token,
                    "api_url": config.telegram_api_url,
                    "stop": stop,
                },
                name="bot-delivery",
                daemon=True,
            )
        )
        threads[-1].start()
    console.print(f"FreeMarket on http://{host}:{port}  (database: {_describe_db()})")
    try:
        serve(host=host, port=port, workers=1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def _describe_db() -> str:
    url = engine().url
    return url.render_as_string(hide_password=True)
