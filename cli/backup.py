"""`freemarket backup`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.common import console, print_json, print_mapping, print_table, settings

if TYPE_CHECKING:
    from freemarket.ops.backup import BackupManifest

app = typer.Typer(help="Create, verify, restore, prune and schedule backups.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON instead of a table.")
KEY_FILE = typer.Option(
    None,
    "--key-file",
    help="File holding the encryption key (default: BACKUP_ENCRYPTION_KEY).",
    dir_okay=False,
)
BACKUP_ID = typer.Argument(..., help="Backup id, or `latest`.")


def _backup_dir() -> Path:
    return settings().backup_dir


def _database_url() -> str:
    return settings().effective_database_url


def _key(key_file: Path | None) -> bytes | None:
    from freemarket.ops.backup import load_key

    return load_key(
        settings().backup_encryption_key, key_file or settings().backup_encryption_key_file
    )


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _when(manifest_time: Any) -> str:
    return manifest_time.strftime("%Y-%m-%d %H:%M:%S") if manifest_time else ""


def _show(title: str, manifest: BackupManifest) -> None:
    print_mapping(
        title,
        {
            "id": manifest.id,
            "file": str(_backup_dir() / manifest.file),
            "backend": f"{manifest.backend} {manifest.server_version}",
            "database": manifest.database,
            "kind": manifest.kind,
            "created (UTC)": _when(manifest.created_at),
            "app version": manifest.app_version,
            "revision": manifest.revision,
            "size": _size(manifest.size),
            "sha256": manifest.sha256,
            "rows": sum(manifest.row_counts.values()),
            "encrypted": "yes" if manifest.encrypted else "no",
            "status": manifest.status,
            "verified (UTC)": _when(manifest.verified_at),
            "offsite": manifest.offsite,
        },
    )


@app.command()
def create(
    encrypt: bool = typer.Option(False, "--encrypt", help="Encrypt with AES-256-GCM."),
    key_file: Path | None = KEY_FILE,
    offsite: str | None = typer.Option(
        None, "--offsite", help="Also copy to an rclone target REMOTE:PATH (or BACKUP_OFFSITE)."
    ),
    verify: bool = typer.Option(False, "--verify", help="Verify the new backup right away."),
    as_json: bool = JSON,
) -> None:
    """Back up the configured database into BACKUP_DIR."""
    from freemarket.ops.backup import BackupError, create_backup, verify_backup

    key = _key(key_file) if encrypt else None
    if encrypt and key is None:
        raise BackupError("--encrypt needs a key: set BACKUP_ENCRYPTION_KEY or pass --key-file")
    manifest = create_backup(
        _database_url(),
        _backup_dir(),
        key=key,
        offsite=offsite or settings().backup_offsite,
    )
    if verify:
        manifest = verify_backup(_database_url(), _backup_dir(), manifest.id, key=key)
    if as_json:
        print_json({"id": manifest.id, "manifest": manifest.to_dict()})
        return
    _show("Backup created", manifest)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List the backups in BACKUP_DIR, newest first."""
    from freemarket.ops.backup import list_backups

    backups = list_backups(_backup_dir())
    if as_json:
        print_json([m.to_dict() for m in backups])
        return
    print_table(
        f"Backups in {_backup_dir()}",
        ["id", "created (UTC)", "kind", "backend", "revision", "size", "status", "offsite"],
        [
            (
                m.id,
                _when(m.created_at),
                m.kind + (", encrypted" if m.encrypted else ""),
                m.backend,
                m.revision,
                _size(m.size),
                m.status,
                m.offsite,
            )
            for m in backups
        ],
    )


@app.command()
def verify(
    backup_id: str = BACKUP_ID, key_file: Path | None = KEY_FILE, as_json: bool = JSON
) -> None:
    """Restore a backup into a scratch database and check it against its manifest."""
    from freemarket.ops.backup import verify_backup

    manifest = verify_backup(_database_url(), _backup_dir(), backup_id, key=_key(key_file))
    if as_json:
        print_json(manifest.to_dict())
        return
    console.print(
        f"Backup {manifest.id} verified: revision {manifest.revision}, "
        f"{sum(manifest.row_counts.values())} rows in {len(manifest.row_counts)} tables match."
    )


@app.command()
def restore(
    backup_id: str = BACKUP_ID,
    yes: bool = typer.Option(False, "--yes", help="Really replace the database's content."),
    key_file: Path | None = KEY_FILE,
    as_json: bool = JSON,
) -> None:
    """Replace the database with a backup (a safety backup is taken first)."""
    from freemarket.ops.backup import restore_backup

    result = restore_backup(
        _database_url(), _backup_dir(), backup_id, confirmed=yes, key=_key(key_file)
    )
    if as_json:
        print_json(asdict(result))
        return
    previous = (
        f"the previous data is in safety backup {result.safety_backup_id}"
        if result.safety_backup_id
        else "there was no database before (restored on a new server)"
    )
    console.print(
        f"Restored backup {result.id} (revision {result.revision}, "
        f"{sum(result.row_counts.values())} rows); {previous}."
    )
    if result.needs_migration:
        console.print("The backup predates this version's schema: run `freemarket migrate`.")


@app.command()
def prune(
    keep: int | None = typer.Option(None, "--keep", help="Keep the newest N (or BACKUP_KEEP)."),
    max_age: float | None = typer.Option(
        None, "--max-age", help="Keep those younger than DAYS (or BACKUP_MAX_AGE_DAYS)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would go; delete nothing."),
    as_json: bool = JSON,
) -> None:
    """Delete old backups; the newest and the newest verified one always stay."""
    from freemarket.ops.backup import prune_backups

    if keep is None and max_age is None:
        keep, max_age = settings().backup_keep, settings().backup_max_age_days
    decisions = prune_backups(_backup_dir(), keep=keep, max_age_days=max_age, dry_run=dry_run)
    if as_json:
        print_json({"dry_run": dry_run, "decisions": [asdict(d) for d in decisions]})
        return
    print_table(
        "Retention" + (" (dry run)" if dry_run else ""),
        ["id", "created (UTC)", "action", "reason"],
        [
            (
                d.id,
                _when(d.created_at),
                "keep" if d.keep else ("would delete" if dry_run else "deleted"),
                d.reason,
            )
            for d in decisions
        ],
    )
    gone = sum(not d.keep for d in decisions)
    console.print(f"{'Would delete' if dry_run else 'Deleted'} {gone} of {len(decisions)} backups.")


@app.command()
def schedule(
    cron_file: Path = typer.Option(
        Path("/etc/cron.d/freemarket-backup"), "--cron-file", help="Cron file to write."
    ),
    systemd: bool = typer.Option(
        False, "--systemd", help="Print a systemd service and timer instead of writing cron."
    ),
    user: str = typer.Option("root", "--user", help="User the backup runs as."),
    workdir: Path = typer.Option(
        Path("."), "--workdir", help="Directory holding .env (default: the current one)."
    ),
    encrypt: bool = typer.Option(False, "--encrypt", help="Encrypt the scheduled backups."),
    offsite: str | None = typer.Option(None, "--offsite", help="rclone target REMOTE:PATH."),
    keep: int | None = typer.Option(None, "--keep", help="Prune to the newest N after."),
    max_age: float | None = typer.Option(None, "--max-age", help="Prune older than DAYS after."),
    as_json: bool = JSON,
) -> None:
    """Install the daily 02:00 backup (`0 2 * * *`) as a cron file or systemd timer."""
    from freemarket.ops.backup import freemarket_executable, schedule_backup, schedule_commands

    commands = schedule_commands(
        executable=freemarket_executable(),
        encrypt=encrypt,
        offsite=offsite,
        keep=keep,
        max_age_days=max_age,
    )
    result = schedule_backup(
        workdir=workdir, commands=commands, cron_file=cron_file, systemd=systemd, user=user
    )
    if as_json:
        print_json(asdict(result))
    elif systemd:
        # Plain print: rich would take "[Unit]" for markup.
        for name, content in result.files.items():
            print(f"# /etc/systemd/system/{name}\n{content}")
        print("# then: systemctl daemon-reload && systemctl enable --now freemarket-backup.timer")
    else:
        path = next(iter(result.files))
        state = "written" if result.changed else "already up to date"
        console.print(f"Cron file {path} {state}: daily at 02:00.", highlight=False)


@app.command()
def keygen() -> None:
    """Print a new random key for BACKUP_ENCRYPTION_KEY."""
    from freemarket.ops.backup import generate_key

    print(generate_key())
