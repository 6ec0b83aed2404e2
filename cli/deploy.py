"""`freemarket deploy`: rolling deploys with docker compose, rollback, status and logs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import (
    COMPOSE_FILE_OPTION,
    DOMAIN_OPTION,
    JSON_OPTION,
    console,
    print_json,
    print_mapping,
    print_table,
    settings,
)

if TYPE_CHECKING:
    from freemarket.ops.deploy import DeployOptions, DeployReport

app = typer.Typer(help="Deploy with docker compose: rolling update, rollback, status, logs.")

COMPOSE_FILE = COMPOSE_FILE_OPTION
DOMAIN = DOMAIN_OPTION
BASE_URL = typer.Option(
    None, "--base-url", help="Health gate address (default https://DOMAIN, else PUBLIC_URL)."
)
DRY_RUN = typer.Option(False, "--dry-run", help="Print every step and command; run nothing.")
JSON = JSON_OPTION
STATUS_STYLE = {"planned": "cyan", "done": "green", "failed": "red", "skipped": "dim"}


def deploy_options(
    compose_file: Path | None,
    *,
    domain: str | None = None,
    base_url: str | None = None,
    **overrides: object,
) -> DeployOptions:
    """DeployOptions from the command line and the settings (DATA_DIR, PUBLIC_URL)."""
    from freemarket.ops.deploy import DeployOptions

    current = settings()
    domain = domain or current.domain
    gate = base_url or (f"https://{domain}" if domain else current.public_url)
    certs = current.certs_dir or Path("deploy/certs")
    return DeployOptions(
        compose_file=compose_file or current.compose_file,
        data_dir=current.data_dir,
        base_url=gate,
        domain=domain,
        certificate=certs / "fullchain.pem",
        **overrides,  # type: ignore[arg-type]
    )


def _render(report: DeployReport, json_output: bool, dry_run: bool) -> None:
    if json_output:
        print_json(report.as_dict())
    else:
        # A list rather than a table: commands are long and must stay copyable.
        heading = f"{report.action} {report.tag}" + (" (dry run)" if dry_run else "")
        console.print(f"[bold]{heading}[/bold]", highlight=False)
        for number, step in enumerate(report.steps, 1):
            detail = f" — {step.detail}" if step.detail else ""
            console.print(
                f"{number}. {step.name} [{STATUS_STYLE[step.status]}]{step.status}[/]{detail}",
                highlight=False,
            )
            for command in step.commands:
                console.print(f"   $ {command}", highlight=False, markup=False, soft_wrap=True)
        if not dry_run:
            colour = "green" if report.outcome == "deployed" else "red"
            reason = f": {report.reason}" if report.reason else ""
            console.print(f"[{colour}]{report.outcome}[/{colour}]{reason}", highlight=False)
    if not dry_run and report.outcome != "deployed":
        raise typer.Exit(1)


@app.callback(invoke_without_command=True)
def deploy(
    ctx: typer.Context,
    dry_run: bool = DRY_RUN,
    tag: str | None = typer.Option(None, "--tag", help="Image tag (default: git short commit)."),
    domain: str | None = DOMAIN,
    base_url: str | None = BASE_URL,
    compose_file: Path | None = COMPOSE_FILE,
    env_file: Path = typer.Option(Path(".env"), "--env-file", help="The .env to check."),
    replicas: int | None = typer.Option(
        None, "--replicas", min=1, help="Backend replicas (default: as many as run now, or 1)."
    ),
    pull: bool = typer.Option(False, "--pull", help="Pull images instead of building them."),
    keep: int | None = typer.Option(
        None, "--keep", min=2, help="Image tags to keep (default: DEPLOY_KEEP_IMAGES)."
    ),
    no_backup: bool = typer.Option(False, "--no-backup", help="Skip the pre-deploy backup."),
    json_output: bool = JSON,
) -> None:
    """Deploy this checkout: lock, check, backup, build, migrate, rolling update, health gate."""
    if ctx.invoked_subcommand is not None:
        return
    from freemarket.ops.deploy import deploy as run_deploy

    options = deploy_options(
        compose_file,
        domain=domain,
        base_url=base_url,
        env_file=env_file,
        replicas=replicas,
        pull=pull,
        keep_images=keep or settings().deploy_keep_images,
    )
    backup = (lambda: "skipped (--no-backup)") if no_backup else None
    report = run_deploy(options, settings(), tag=tag, dry_run=dry_run, backup=backup)
    _render(report, json_output, dry_run)


@app.command()
def rollback(
    to: str | None = typer.Option(None, "--to", help="Tag to go back to (default: previous)."),
    domain: str | None = DOMAIN,
    base_url: str | None = BASE_URL,
    compose_file: Path | None = COMPOSE_FILE,
    dry_run: bool = DRY_RUN,
    json_output: bool = JSON,
) -> None:
    """Put a previous release back (schema included) with a rolling update."""
    from freemarket.ops.deploy import rollback as run_rollback

    options = deploy_options(compose_file, domain=domain, base_url=base_url)
    _render(run_rollback(options, to=to, dry_run=dry_run), json_output, dry_run)


@app.command()
def status(compose_file: Path | None = COMPOSE_FILE, json_output: bool = JSON) -> None:
    """Show the current and previous release, the containers and their health."""
    from freemarket.ops.deploy import status as deploy_status

    data = deploy_status(deploy_options(compose_file))
    if json_output:
        print_json(data)
        return
    print_mapping(
        "release",
        {
            "current": data["current"] or "none",
            "previous": data["previous"] or "none",
            "maintenance": "on" if data["maintenance"] else "off",
            "docker": data["docker"],
        },
    )
    # The id first (never wrapped): the replica's hostname, what it names itself in X-Served-By.
    columns = ["id", "service", "name", "state", "health", "tag"]
    print_table("containers", columns, [[c[k] for k in columns] for c in data["containers"]])
    history = [
        (h["finished_at"], h["action"], h["tag"], h["outcome"], h["reason"])
        for h in data["history"]
    ]
    print_table("history", ["finished", "action", "tag", "outcome", "reason"], history)


@app.command()
def logs(
    service: str = typer.Argument(..., help="backend, worker, bot, nginx, db, redis, ..."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    tail: int = typer.Option(200, "--tail", min=0, help="Lines of history to show first."),
    compose_file: Path | None = COMPOSE_FILE,
) -> None:
    """Show a service's logs (all its replicas)."""
    from freemarket.ops.deploy import logs as service_logs

    code = service_logs(deploy_options(compose_file), service, follow=follow, tail=tail)
    if code:
        raise typer.Exit(code)


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run_command(
    ctx: typer.Context,
    compose_file: Path | None = COMPOSE_FILE,
) -> None:
    """Run a freemarket command inside the stack, e.g. `deploy run backup create`."""
    from freemarket.ops.deploy import run_in_stack

    code = run_in_stack(deploy_options(compose_file), list(ctx.args))
    if code:
        raise typer.Exit(code)
