"""A backup's life: create (and copy offsite), verify, restore."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import freemarket
from freemarket.ops.backup.crypto import _decrypt_file, _encrypt_file, _file_digest
from freemarket.ops.backup.drivers import _Database, _database, _PostgresDatabase, _State
from freemarket.ops.backup.manifest import (
    BackupError,
    BackupManifest,
    VerificationFailed,
    _manifest_path,
    _now,
    load_manifest,
    save_manifest,
)
from freemarket.ops.process import (
    OperationFailed,
    require_tool,
    run,
)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did: which backup, the safety backup taken first, what is there now."""

    id: str
    safety_backup_id: str | None  # None when there was no database to save (a new server)
    revision: str | None
    row_counts: dict[str, int]
    needs_migration: bool


# --- create / verify / restore --------------------------------------------------------------


def _new_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _private_dir(path: Path) -> Path:
    # Backups hold every user's contacts: readable by the operator only.
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def create_backup(
    database_url: str,
    backup_dir: Path,
    *,
    key: bytes | None = None,
    offsite: str | None = None,
    kind: str = "manual",
) -> BackupManifest:
    """Back up the database into `backup_dir`; optionally encrypt and copy it offsite."""
    database = _database(database_url)
    created_at = _now()
    backup_id = _new_id(created_at)
    _private_dir(backup_dir)
    # Everything is staged in a private folder and renamed into place only when complete,
    # the manifest last: a backup is listed only once its dump is whole.
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{backup_id}-", dir=backup_dir))
    try:
        plain = staging / f"plain.{database.extension}"
        state = database.dump(plain)
        name = f"{backup_id}.{database.extension}" + (".enc" if key else "")
        stored = staging / name
        if key:
            _encrypt_file(plain, stored, key)
        else:
            plain.rename(stored)
        os.chmod(stored, 0o600)
        size, sha256 = _file_digest(stored)
        manifest = BackupManifest(
            id=backup_id,
            backend=database.backend,
            file=name,
            created_at=created_at,
            app_version=freemarket.__version__,
            revision=state.revision,
            server_version=database.server_version(),
            size=size,
            sha256=sha256,
            row_counts=state.row_counts,
            database=database.label,
            kind=kind,
            encrypted=key is not None,
        )
        os.replace(stored, backup_dir / name)
        save_manifest(backup_dir, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if offsite:
        try:
            copy_offsite(backup_dir, manifest, offsite)
        except OperationFailed as exc:
            raise BackupError(f"backup {backup_id} was created, but {exc.message}") from exc
    return manifest


def copy_offsite(backup_dir: Path, manifest: BackupManifest, target: str) -> BackupManifest:
    """Copy a backup and its manifest to an rclone target `REMOTE:PATH`; record where."""
    rclone = require_tool("rclone", "rclone")
    base = target.rstrip("/")
    what = f"offsite copy of backup {manifest.id} to {base}"
    run([rclone, "copyto", backup_dir / manifest.file, f"{base}/{manifest.file}"], what=what)
    manifest.offsite = f"{base}/{manifest.file}"
    save_manifest(backup_dir, manifest)
    manifest_name = _manifest_path(backup_dir, manifest.id).name
    run([rclone, "copyto", backup_dir / manifest_name, f"{base}/{manifest_name}"], what=what)
    return manifest


def _check_file(backup_dir: Path, manifest: BackupManifest) -> Path:
    path = backup_dir / manifest.file
    if not path.is_file():
        raise VerificationFailed(f"backup {manifest.id}: file {manifest.file} is missing")
    size, sha256 = _file_digest(path)
    if sha256 != manifest.sha256 or size != manifest.size:
        raise VerificationFailed(
            f"backup {manifest.id}: sha256 mismatch, {manifest.file} was changed or damaged "
            f"since it was made (manifest {manifest.sha256[:12]}…, file {sha256[:12]}…)"
        )
    return path


def _plaintext(path: Path, manifest: BackupManifest, key: bytes | None, workdir: Path) -> Path:
    if not manifest.encrypted:
        return path
    if key is None:
        raise BackupError(
            f"backup {manifest.id} is encrypted: set BACKUP_ENCRYPTION_KEY or pass --key-file"
        )
    plain = workdir / "plain"
    _decrypt_file(path, plain, key, manifest.id)
    return plain


def _differences(manifest: BackupManifest, state: _State) -> list[str]:
    problems = []
    if state.revision != manifest.revision:
        problems.append(f"revision is {state.revision}, manifest says {manifest.revision}")
    for table in sorted(set(manifest.row_counts) | set(state.row_counts)):
        expected, found = manifest.row_counts.get(table), state.row_counts.get(table)
        if expected != found:
            problems.append(f"{table} has {found} rows, manifest says {expected}")
    return problems


def _same_backend(manifest: BackupManifest, database: _Database, action: str) -> None:
    if manifest.backend != database.backend:
        raise BackupError(
            f"backup {manifest.id} is a {manifest.backend} backup but DATABASE_URL is "
            f"{database.backend}: cannot {action} it here"
        )


def _scratch_state(database: _Database, plain: Path, backup_id: str) -> _State:
    try:
        return database.scratch_state(plain)
    except (OperationFailed, sqlite3.DatabaseError) as exc:
        cause = exc.message if isinstance(exc, OperationFailed) else str(exc)
        raise VerificationFailed(f"backup {backup_id} does not restore: {cause}") from exc


def verify_backup(
    database_url: str, backup_dir: Path, backup_id: str, *, key: bytes | None = None
) -> BackupManifest:
    """Restore a backup into a scratch database, compare it with its manifest, record it."""
    manifest = load_manifest(backup_dir, backup_id)
    database = _database(database_url)
    _same_backend(manifest, database, "verify")
    try:
        path = _check_file(backup_dir, manifest)
        with tempfile.TemporaryDirectory(prefix="fm-verify-") as tmp:
            # The checksum matched, so a decryption failure means a wrong key, not a bad
            # backup: it propagates without marking the backup as failed.
            plain = _plaintext(path, manifest, key, Path(tmp))
            state = _scratch_state(database, plain, manifest.id)
        problems = _differences(manifest, state)
        if problems:
            raise VerificationFailed(f"backup {manifest.id}: " + "; ".join(problems))
    except VerificationFailed as exc:
        manifest.verify_error = exc.message
        save_manifest(backup_dir, manifest)
        raise
    manifest.verified_at = _now()
    manifest.verify_error = None
    save_manifest(backup_dir, manifest)
    return manifest


def _known_revision(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from freemarket.db.migrate import MIGRATIONS_DIR

    try:
        return ScriptDirectory(str(MIGRATIONS_DIR)).get_revision(revision) is not None
    except CommandError:
        return False


def check_restorable(manifest: BackupManifest, database_url: str) -> None:
    """Refuse a backup this build or this server cannot restore (backend, revision, major)."""
    from freemarket.db.migrate import head_revision

    database = _database(database_url)
    _same_backend(manifest, database, "restore")
    if manifest.revision is not None and not _known_revision(manifest.revision):
        raise BackupError(
            f"backup {manifest.id} is at revision {manifest.revision}, which this build "
            f"does not know (its head is {head_revision()}): it was made by a newer "
            "FreeMarket; upgrade FreeMarket first"
        )
    if isinstance(database, _PostgresDatabase):
        backup_major = int(manifest.server_version.split(".")[0])
        if backup_major > database.server_major():
            raise BackupError(
                f"backup {manifest.id} comes from PostgreSQL {backup_major}; this server is "
                f"PostgreSQL {database.server_major()} and cannot load it"
            )


def restore_backup(
    database_url: str,
    backup_dir: Path,
    backup_id: str,
    *,
    confirmed: bool,
    key: bytes | None = None,
) -> RestoreResult:
    """Replace the database with a backup: checks, safety backup, restore, verify after."""
    manifest = load_manifest(backup_dir, backup_id)
    check_restorable(manifest, database_url)
    database = _database(database_url)
    if not confirmed:
        raise BackupError(
            f"restoring {manifest.id} (taken {manifest.created_at:%Y-%m-%d %H:%M} UTC) replaces "
            f"every row in {database.label}; stop the service and run again with --yes"
        )
    path = _check_file(backup_dir, manifest)
    with tempfile.TemporaryDirectory(prefix="fm-restore-") as tmp:
        plain = _plaintext(path, manifest, key, Path(tmp))
        # Disaster recovery on a new server: no database yet, nothing to keep a copy of.
        safety = (
            create_backup(database_url, backup_dir, key=key, kind="safety")
            if database.exists()
            else None
        )
        kept = f"safety backup {safety.id}" if safety else "no database existed before"
        try:
            database.restore(plain)
        except BackupError as exc:
            raise BackupError(f"{exc.message}; the database is unchanged ({kept})") from exc
    state = database.state()
    problems = _differences(manifest, state)
    if problems:
        raise BackupError(
            f"restored {manifest.id}, but the result differs from its manifest: "
            f"{'; '.join(problems)}; {kept}"
        )
    from freemarket.db.migrate import head_revision

    return RestoreResult(
        id=manifest.id,
        safety_backup_id=safety.id if safety else None,
        revision=state.revision,
        row_counts=state.row_counts,
        needs_migration=state.revision != head_revision(),
    )
