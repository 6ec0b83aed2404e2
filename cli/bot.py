"""`freemarket bot`: the Telegram bot (conversation and notifications) and its webhook."""

from __future__ import annotations

import typer

from cli.common import JSON_OPTION, console, engine, print_json, print_mapping, settings

app = typer.Typer(
    help="Run the Telegram bot, or manage its webhook.",
    invoke_without_command=True,
    no_args_is_help=False,
)
webhook = typer.Typer(help="Point Telegram at this server's /telegram/webhook, show or remove it.")
app.add_typer(webhook, name="webhook")


@app.callback()
def bot(
    ctx: typer.Context,
    poll: float = typer.Option(1.0, min=0.05, help="Seconds between outbox polls when idle."),
    once: bool = typer.Option(False, "--once", help="Deliver what is due once, then exit."),
    metrics_port: int = typer.Option(
        9102, min=0, max=65535, help="Serve /metrics on this port (0: don't)."
    ),
) -> None:
    """Answer people (long polling, unless TELEGRAM_MODE=webhook) and deliver notifications."""
    if ctx.invoked_subcommand is not None:
        return
    import asyncio
    import signal
    import threading

    from freemarket.bot import delivery
    from freemarket.bot.runtime import make_bot, run_bot

    config = settings()
    config.validate_for_startup()
    telegram = make_bot(config)
    if once:

        async def deliver() -> delivery.DeliveryResult:
            try:
                return await delivery.deliver_once(
                    engine(), delivery.aiogram_sender(telegram), public_url=config.public_url
                )
            finally:
                await telegram.session.close()

        result = asyncio.run(deliver())
        console.print(
            f"sent {result.sent}, failed {result.failed}, dead {result.dead}, "
            f"skipped {result.skipped}, held for quiet hours {result.held}"
        )
        return
    asyncio.run(telegram.session.close())
    if metrics_port:
        from freemarket.infra.metrics import start_metrics_server

        start_metrics_server(metrics_port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    polling = config.telegram_mode == "polling"
    mode = "answering by long polling" if polling else "webhook mode: updates go to the API"
    console.print(f"bot running ({mode}), delivering notifications; Ctrl+C to stop")
    asyncio.run(run_bot(engine(), config, stop, polling=polling, poll_seconds=poll))


@webhook.command("set")
def webhook_set(
    drop_pending: bool = typer.Option(
        False, "--drop-pending", help="Forget updates Telegram is holding."
    ),
) -> None:
    """Tell Telegram to post updates to PUBLIC_URL/telegram/webhook (with the secret)."""
    import asyncio

    from freemarket.bot.runtime import set_webhook

    url = asyncio.run(set_webhook(settings(), drop_pending=drop_pending))
    console.print(f"webhook set to {url}; set TELEGRAM_MODE=webhook on the API and the bot")


@webhook.command("info")
def webhook_info(json_output: bool = JSON_OPTION) -> None:
    """What Telegram reports about the webhook: address, queued updates, last error."""
    import asyncio

    from freemarket.bot.runtime import webhook_info as fetch

    info = asyncio.run(fetch(settings()))
    if json_output:
        print_json(info)
    else:
        print_mapping("webhook", {"url": info.get("url") or "(none: long polling)", **info})


@webhook.command("delete")
def webhook_delete(
    drop_pending: bool = typer.Option(
        False, "--drop-pending", help="Forget updates Telegram is holding."
    ),
) -> None:
    """Remove the webhook: the bot gets updates by long polling again."""
    import asyncio

    from freemarket.bot.runtime import delete_webhook

    asyncio.run(delete_webhook(settings(), drop_pending=drop_pending))
    console.print("webhook removed; set TELEGRAM_MODE=polling and run `freemarket bot`")
