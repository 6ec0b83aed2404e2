"""`freemarket check`, `doctor`, `scale` and `maintenance`: checklists and switches."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import (
    COMPOSE_FILE_OPTION,
    DOMAIN_OPTION,
    JSON_OPTION,
    console,
    print_json,
    print_table,
    settings,
)

if TYPE_CHECKING:
    from freemarket.ops.checks import CheckResult

STYLES = {
    "pass": "[green]pass[/green]",
    "warn": "[yellow]warn[/yellow]",
    "fail": "[red]fail[/red]",
    "skip": "[dim]skip[/dim]",
}

JSON = JSON_OPTION
ENV_FILE = typer.Option(Path(".env"), "--env-file", help="The .env file to read.")
COMPOSE_FILE = COMPOSE_FILE_OPTION
BASE_URL = typer.Option(
    None, "--base-url", help="Where the service answers (default https://DOMAIN, else PUBLIC_URL)."
)
TELEGRAM_API = typer.Option(
    None, "--telegram-api-url", help="Bot API base URL (default: TELEGRAM_API_URL)."
)
TIMEOUT = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait for each answer.")


def render_checks(title: str, results: list[CheckResult], json_output: bool) -> None:
    """Print check results as a table (or JSON) and exit 1 when any failed."""
    from freemarket.ops.checks import failed

    if json_output:
        print_json({"ok": not failed(results), "results": [r.as_dict() for r in results]})
    else:
        rows = [(r.name, STYLES[r.status], r.detail, r.fix) for r in results]
        print_table(title, ["check", "status", "detail", "fix"], rows)
    if failed(results):
        raise typer.Exit(1)


def check(
    json_output: bool = JSON,
    domain: str | None = DOMAIN_OPTION,
    compose_file: Path | None = COMPOSE_FILE,
    env_file: Path = ENV_FILE,
    base_url: str | None = BASE_URL,
    cert_dir: list[Path] | None = typer.Option(
        None,
        "--cert-dir",
        help="Where fullchain.pem lives (repeatable; default CERTS_DIR, else deploy/certs and "
        "/etc/letsencrypt/live).",
    ),
    host_ip: list[str] | None = typer.Option(
        None, "--host-ip", help="A public address of this host not on its interfaces (NAT)."
    ),
    telegram_api_url: str | None = TELEGRAM_API,
    timeout: float = TIMEOUT,
) -> None:
    """Run the pre-deploy checklist: secrets, DNS, TLS, docker, services, health, DB, UI, bot."""
    from freemarket.ops.checks import DEFAULT_CERT_DIRS, CheckOptions, run_checks

    config = settings()
    default_certs = (config.certs_dir,) if config.certs_dir else DEFAULT_CERT_DIRS
    options = CheckOptions(
        env_file=env_file,
        domain=domain or config.domain,
        compose_file=compose_file or config.compose_file,
        base_url=base_url,
        cert_dirs=tuple(cert_dir or default_certs),
        telegram_api_url=telegram_api_url,
        host_ips=tuple(host_ip or ()),
        timeout=timeout,
    )
    render_checks("freemarket check", run_checks(options), json_output)


def doctor(
    json_output: bool = JSON,
    env_file: Path = ENV_FILE,
    base_url: str | None = BASE_URL,
    metrics_url: str | None = typer.Option(
        None, "--metrics-url", help="Prometheus text to read (default BASE_URL/metrics)."
    ),
    static_dir: Path | None = typer.Option(
        None, "--static-dir", help="The web UI build (default: WEB_DIST_DIR, else frontend/dist)."
    ),
    nginx_config: Path | None = typer.Option(
        None, "--nginx-config", help="A full nginx.conf to test with `nginx -t -c`."
    ),
    compose_file: Path | None = COMPOSE_FILE,
    telegram_api_url: str | None = TELEGRAM_API,
    timeout: float = TIMEOUT,
) -> None:
    """Diagnose why the backend, the web UI or the bot fail, and where the load goes."""
    from freemarket.ops.doctor import DoctorOptions, run_doctor

    options = DoctorOptions(
        env_file=env_file,
        base_url=base_url,
        metrics_url=metrics_url,
        static_dir=static_dir,
        nginx_config=nginx_config,
        compose_file=compose_file or settings().compose_file,
        telegram_api_url=telegram_api_url,
        timeout=timeout,
    )
    render_checks("freemarket doctor", run_doctor(options), json_output)


def scale(
    replicas: list[str] = typer.Argument(..., help="SERVICE=N, e.g. backend=3."),
    compose_file: Path | None = COMPOSE_FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the command only."),
) -> None:
    """Run N replicas of a service (backend, worker) on the current release."""
    from cli.deploy import deploy_options
    from freemarket.ops.deploy import scale as scale_services

    for command in scale_services(deploy_options(compose_file), replicas, dry_run=dry_run):
        console.print(("would run: " if dry_run else "ran: ") + command, highlight=False)


class Switch(StrEnum):
    """on or off."""

    on = "on"
    off = "off"


def maintenance(
    state: Switch = typer.Argument(..., help="on: serve the maintenance page; off: back."),
    compose_file: Path | None = COMPOSE_FILE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the steps only."),
) -> None:
    """Switch nginx's maintenance page on or off."""
    from cli.deploy import deploy_options
    from freemarket.ops.deploy import maintenance as switch

    commands = switch(deploy_options(compose_file), state is Switch.on, dry_run=dry_run)
    for command in commands:
        console.print(("would run: " if dry_run else "ran: ") + command, highlight=False)
    if not dry_run:
        console.print(f"maintenance {state.value}")
