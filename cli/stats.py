"""`freemarket stats`: the key numbers in the terminal."""

from __future__ import annotations

import typer

from cli.common import print_json, print_table, transaction


def stats(json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show users, items, matches, backlog, notifications and exchanges at a glance."""
    from freemarket.domain.notifications import counts_by_channel
    from freemarket.domain.stats import domain_figures

    with transaction() as session:
        figures = domain_figures(session).as_dict()
        deliveries = counts_by_channel(session)
    if json_output:
        print_json({**figures, "notifications_by_channel": deliveries})
        return
    rows: list[list[object]] = []
    for name, value in figures.items():
        if isinstance(value, dict):
            rows.extend([f"{name}.{key}", count] for key, count in sorted(value.items()))
            if not value:
                rows.append([name, 0])
        else:
            rows.append([name, value])
    # The web inbox copy is "sent" the moment it is written; Telegram's is what the bot did.
    for channel, label in (("web", "web inbox"), ("telegram", "Telegram")):
        for status, count in sorted(deliveries.get(channel, {}).items()):
            rows.append([f"notifications ({label}) {status}", count])
    print_table("FreeMarket", ["figure", "value"], rows)
