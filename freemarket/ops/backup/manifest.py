"""Backup manifests (what a backup holds and how to check it) and the backup errors."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from freemarket.infra import ops_status
from freemarket.ops.process import (
    OperationFailed,
    write_atomically,
)

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class BackupError(OperationFailed):
    """A backup request that cannot be carried out."""


class VerificationFailed(BackupError):
    """A backup does not restore to what its manifest promises."""


# --- manifest ---------------------------------------------------------------------------------


@dataclass(slots=True)
class BackupManifest:
    """What a backup holds and how to check it: written as `<id>.json` beside the dump."""

    id: str
    backend: str
    file: str
    created_at: datetime
    app_version: str
    revision: str | None
    server_version: str
    size: int
    sha256: str
    row_counts: dict[str, int]
    database: str
    kind: str = "manual"
    encrypted: bool = False
    verified_at: datetime | None = None
    verify_error: str | None = None
    offsite: str | None = None
    manifest_version: int = MANIFEST_VERSION

    @property
    def status(self) -> str:
        """`failed` after a failed verification, else `verified` or `unverified`."""
        if self.verify_error:
            return "failed"
        return "verified" if self.verified_at else "unverified"

    @property
    def is_good(self) -> bool:
        """True unless its latest verification failed."""
        return self.verify_error is None

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data (timestamps in ISO 8601, UTC)."""
        data = asdict(self)
        for key in ("created_at", "verified_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        data["status"] = self.status
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BackupManifest:
        """Read a manifest written by `to_dict` (unknown keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("created_at", "verified_at"):
            if values.get(key):
                values[key] = datetime.fromisoformat(values[key])
        return cls(**values)


def _now() -> datetime:
    return datetime.now(UTC)


def _manifest_path(backup_dir: Path, backup_id: str) -> Path:
    return backup_dir / f"{backup_id}.json"


def save_manifest(backup_dir: Path, manifest: BackupManifest) -> None:
    """Write (or rewrite) a manifest atomically, and the status /metrics reads."""
    text_data = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_atomically(_manifest_path(backup_dir, manifest.id), text_data)
    record_status(backup_dir)


def record_status(backup_dir: Path) -> None:
    """Record the last good backup for /metrics (after any manifest was written or removed)."""
    ops_status.record_last_good_backup(backup_dir, last_good_backup_time(backup_dir))


def list_backups(backup_dir: Path) -> list[BackupManifest]:
    """Every complete backup in `backup_dir`, newest first; unreadable manifests are skipped."""
    if not backup_dir.is_dir():
        return []
    manifests = []
    for path in backup_dir.glob("*.json"):
        if path.name.startswith("."):
            continue
        try:
            manifests.append(BackupManifest.from_dict(json.loads(path.read_text("utf-8"))))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("skipping unreadable backup manifest %s: %s", path, exc)
    return sorted(manifests, key=lambda m: m.created_at, reverse=True)


def load_manifest(backup_dir: Path, backup_id: str) -> BackupManifest:
    """The manifest of `backup_id` (or of the newest backup for `latest`)."""
    if backup_id == "latest":
        backups = list_backups(backup_dir)
        if not backups:
            raise BackupError(f"there are no backups in {backup_dir}")
        return backups[0]
    if not _ID_PATTERN.match(backup_id):
        raise BackupError(f"{backup_id!r} is not a backup id")
    path = _manifest_path(backup_dir, backup_id)
    if not path.is_file():
        raise BackupError(f"no backup {backup_id} in {backup_dir}")
    try:
        return BackupManifest.from_dict(json.loads(path.read_text("utf-8")))
    except (ValueError, TypeError, KeyError) as exc:
        raise BackupError(f"the manifest of backup {backup_id} is unreadable: {exc}") from exc


def last_good_backup_time(backup_dir: Path) -> datetime | None:
    """When the newest backup that was created (and did not fail verification) was taken."""
    good = [m for m in list_backups(backup_dir) if m.is_good]
    return good[0].created_at if good else None
