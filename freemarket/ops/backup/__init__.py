"""Database backups with manifests: create, list, verify, restore, prune and schedule.

One module per concern: manifest (the record of a backup, and the errors), crypto
(encryption and digests), drivers (SQLite and PostgreSQL), lifecycle (create, verify,
restore), retention (prune) and schedule (cron or systemd). This package re-exports what
the CLI uses.
"""

from freemarket.ops.backup.crypto import generate_key, load_key
from freemarket.ops.backup.drivers import pg_client_tool
from freemarket.ops.backup.lifecycle import (
    RestoreResult,
    check_restorable,
    copy_offsite,
    create_backup,
    restore_backup,
    verify_backup,
)
from freemarket.ops.backup.manifest import (
    BackupError,
    BackupManifest,
    VerificationFailed,
    last_good_backup_time,
    list_backups,
    load_manifest,
    save_manifest,
)
from freemarket.ops.backup.retention import PruneDecision, prune_backups
from freemarket.ops.backup.schedule import (
    ScheduleResult,
    freemarket_executable,
    schedule_backup,
    schedule_commands,
)

__all__ = [
    "BackupError",
    "BackupManifest",
    "PruneDecision",
    "RestoreResult",
    "ScheduleResult",
    "VerificationFailed",
    "check_restorable",
    "copy_offsite",
    "create_backup",
    "freemarket_executable",
    "generate_key",
    "last_good_backup_time",
    "list_backups",
    "load_key",
    "load_manifest",
    "pg_client_tool",
    "prune_backups",
    "restore_backup",
    "save_manifest",
    "schedule_backup",
    "schedule_commands",
    "verify_backup",
]
