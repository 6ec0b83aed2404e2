"""Backup retention: which backups to keep, and deleting the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from freemarket.ops.backup.manifest import (
    BackupError,
    _manifest_path,
    _now,
    list_backups,
    record_status,
)


@dataclass(frozen=True, slots=True)
class PruneDecision:
    """Whether retention keeps or deletes one backup, and why."""

    id: str
    created_at: datetime
    keep: bool
    reason: str


# --- retention ------------------------------------------------------------------------------


def prune_backups(
    backup_dir: Path,
    *,
    keep: int | None = None,
    max_age_days: float | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> list[PruneDecision]:
    """Apply retention (newest first); a backup stays if any rule keeps it."""
    # Rules: among the newest `keep`; younger than `max_age_days`; the newest verified backup;
    # the newest of all, so that pruning never leaves the directory without a backup.
    if keep is None and max_age_days is None:
        raise BackupError("give a retention rule: --keep N and/or --max-age DAYS")
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    moment = now or _now()
    backups = list_backups(backup_dir)
    newest_verified = next((m.id for m in backups if m.status == "verified"), None)
    decisions = []
    for index, manifest in enumerate(backups):
        age = moment - manifest.created_at
        if index == 0:
            decision = (True, "newest backup")
        elif manifest.id == newest_verified:
            decision = (True, "newest verified backup")
        elif keep is not None and index < keep:
            decision = (True, f"among the newest {keep}")
        elif max_age_days is not None and age <= timedelta(days=max_age_days):
            decision = (True, f"younger than {max_age_days:g} days")
        else:
            decision = (False, f"{age.days} days old, beyond retention")
        decisions.append(PruneDecision(manifest.id, manifest.created_at, *decision))
    if not dry_run:
        for decision, manifest in zip(decisions, backups, strict=True):
            if not decision.keep:
                # Manifest first: a backup without one is no longer listed or restorable.
                _manifest_path(backup_dir, manifest.id).unlink(missing_ok=True)
                (backup_dir / manifest.file).unlink(missing_ok=True)
        record_status(backup_dir)
    return decisions
