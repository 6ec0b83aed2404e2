"""`freemarket bot`: the Telegram side of FreeMarket."""

from __future__ import annotations

import typer

from cli.common import console, engine, settings


def bot(
    poll: float = typer.Option(1.0, min=0.05, help="Seconds between outbox polls when idle."),
    once: bool = typer.Option(False, "--once", help="Deliver what is due once, then exit."),
    metrics_port: int = typer.Option(
        9102, min=0, max=65535, help="Serve /metrics on this port (0: don't)."
    ),
) -> None:
    """Deliver pending notifications to Telegram (retries with backoff, never twice)."""
    import asyncio
    import signal
    import threading

    from freemarket.bot.delivery import aiogram_sender, deliver_once, make_bot, run_delivery
    from freemarket.errors import NotConfigured

    config = settings()
    config.validate_for_startup()
    if not config.telegram_bot_token:
        raise NotConfigured("TELEGRAM_BOT_TOKEN is not set; the bot has nothing to sign in with")

    async def main() -> None:
        telegram = make_bot(config.telegram_bot_token or "", config.telegram_api_url)
        send = aiogram_sender(telegram)
        try:
            if once:
                result = await deliver_once(engine(), send)
                console.print(f"sent {result.sent}, failed {result.failed}, dead {result.dead}")
                return
            stop = threading.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            console.print("bot delivering notifications; Ctrl+C to stop")
            await run_delivery(engine(), send, stop, poll_seconds=poll)
        finally:
            await telegram.session.close()  # type: ignore[attr-defined]

    if metrics_port and not once:
        from freemarket.infra.metrics import start_metrics_server

        start_metrics_server(metrics_port)
    asyncio.run(main())
