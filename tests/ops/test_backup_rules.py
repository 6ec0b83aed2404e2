"""Backup rules that need no database server: retention, schedule, encryption, failures."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from freemarket.infra import ops_status
from freemarket.ops import backup
from freemarket.ops.backup import crypto, lifecycle
from tests.ops.conftest import OpsRun

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _fake(
    backup_dir: Path, days_old: float, *, verified: bool = False, failed: bool = False
) -> str:
    """A manifest (and an empty dump) as if taken `days_old` days before NOW."""
    created = NOW - timedelta(days=days_old)
    backup_id = f"{created:%Y%m%dT%H%M%SZ}-fake"
    backup_dir.mkdir(parents=True, exist_ok=True)
    (backup_dir / f"{backup_id}.sqlite3").write_bytes(b"")
    backup.save_manifest(
        backup_dir,
        backup.BackupManifest(
            id=backup_id,
            backend="sqlite",
            file=f"{backup_id}.sqlite3",
            created_at=created,
            app_version="0.1.0",
            revision="0001",
            server_version="3.40.1",
            size=0,
            sha256="",
            row_counts={},
            database="freemarket.db",
            verified_at=created + timedelta(minutes=5) if verified else None,
            verify_error="sha256 mismatch" if failed else None,
        ),
    )
    return backup_id


def _ids(decisions: list[backup.PruneDecision], keep: bool) -> list[str]:
    return [d.id for d in decisions if d.keep is keep]


def test_prune_keeps_count_age_and_newest_verified(tmp_path: Path) -> None:
    ids = [_fake(tmp_path, age, verified=age == 40) for age in (0, 1, 2, 10, 40, 50)]
    # ids are oldest last: ages 0, 1, 2, 10, 40 (verified), 50

    dry = backup.prune_backups(tmp_path, keep=2, dry_run=True, now=NOW)
    assert _ids(dry, keep=True) == [ids[0], ids[1], ids[4]]
    assert next(d for d in dry if d.id == ids[4]).reason == "newest verified backup"
    assert len(backup.list_backups(tmp_path)) == 6, "a dry run deletes nothing"

    by_age = backup.prune_backups(tmp_path, max_age_days=5, now=NOW)
    assert _ids(by_age, keep=False) == [ids[3], ids[5]]
    left = backup.list_backups(tmp_path)
    assert [m.id for m in left] == [ids[0], ids[1], ids[2], ids[4]]
    assert not (tmp_path / f"{ids[5]}.sqlite3").exists()
    assert not (tmp_path / f"{ids[5]}.json").exists()

    everything_old = backup.prune_backups(tmp_path, keep=1, max_age_days=0, now=NOW)
    assert _ids(everything_old, keep=True) == [ids[0], ids[4]]


def test_prune_never_empties_the_directory(tmp_path: Path) -> None:
    newest = _fake(tmp_path, 100)
    _fake(tmp_path, 200)
    decisions = backup.prune_backups(tmp_path, max_age_days=30, now=NOW)
    assert _ids(decisions, keep=True) == [newest]


def test_prune_needs_a_rule(tmp_path: Path) -> None:
    with pytest.raises(backup.BackupError, match="retention rule"):
        backup.prune_backups(tmp_path)
    with pytest.raises(backup.BackupError, match="at least 1"):
        backup.prune_backups(tmp_path, keep=0)


def test_prune_cli_dry_run(tls_run: OpsRun, tmp_path: Path) -> None:
    backup_dir = tmp_path / "backups"
    # Ages relative to the real clock, which the CLI uses.
    ids = [
        _fake(backup_dir, (NOW - datetime.now(UTC)).total_seconds() / 86400 + age)
        for age in (0, 1, 2)
    ]
    shown = tls_run("backup", "prune", "--keep", "1", "--dry-run", "--json")
    assert shown.code == 0, shown.err
    body = shown.json()
    assert body["dry_run"] is True
    assert [d["id"] for d in body["decisions"] if not d["keep"]] == ids[1:]
    table = tls_run("backup", "prune", "--keep", "1")
    assert table.code == 0 and "Deleted 2 of 3 backups" in table.out
    assert [m.id for m in backup.list_backups(backup_dir)] == ids[:1]


def test_last_good_backup_time(tmp_path: Path) -> None:
    assert backup.last_good_backup_time(tmp_path / "missing") is None
    _fake(tmp_path, 3, verified=True)
    _fake(tmp_path, 2)
    _fake(tmp_path, 1, failed=True)
    (tmp_path / "broken.json").write_text("{not json")
    assert backup.last_good_backup_time(tmp_path) == NOW - timedelta(days=2)
    # What /metrics reads (through infra.ops_status, without importing ops) agrees.
    assert ops_status.last_good_backup(tmp_path) == NOW - timedelta(days=2)
    backup.prune_backups(tmp_path, keep=1, now=NOW)  # the 2-day-old one goes
    assert ops_status.last_good_backup(tmp_path) == NOW - timedelta(days=3)


def test_schedule_writes_cron_once(tls_run: OpsRun, tmp_path: Path) -> None:
    cron = tmp_path / "cron.d" / "freemarket-backup"
    first = tls_run("backup", "schedule", "--cron-file", str(cron), "--keep", "14")
    assert first.code == 0, first.err
    assert "written" in first.out
    content = cron.read_text()
    [line] = [raw for raw in content.splitlines() if raw.startswith("0 2 * * *")]
    assert line.startswith("0 2 * * * root cd ")
    assert "freemarket backup create --verify && " in line
    assert line.endswith("freemarket backup prune --keep 14")
    assert cron.stat().st_mode & 0o777 == 0o644

    again = tls_run("backup", "schedule", "--cron-file", str(cron), "--keep", "14")
    assert again.code == 0 and "already up to date" in again.out
    assert cron.read_text() == content

    units = tls_run("backup", "schedule", "--systemd")
    assert units.code == 0, units.err
    assert "OnCalendar=*-*-* 02:00:00" in units.out and "[Timer]" in units.out
    assert "ExecStart=" in units.out and "Type=oneshot" in units.out


def test_encryption_detects_damage_and_reordering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crypto, "_CHUNK", 1000)  # several records from a small file
    key = backup.load_key(backup.generate_key())
    assert key is not None
    plain = tmp_path / "plain"
    plain.write_bytes(os.urandom(4500))
    sealed = tmp_path / "sealed"
    crypto._encrypt_file(plain, sealed, key)
    opened = tmp_path / "opened"
    crypto._decrypt_file(sealed, opened, key, "x")
    assert opened.read_bytes() == plain.read_bytes()

    data = sealed.read_bytes()
    record = crypto._RECORD.size + 1000 + 16
    header = len(crypto._MAGIC) + 8
    truncated = data[: header + 2 * record]
    swapped = data[:header] + data[header + record : header + 2 * record]
    swapped += data[header : header + record] + data[header + 2 * record :]
    for name, damaged in (("truncated", truncated), ("swapped", swapped)):
        target = tmp_path / name
        target.write_bytes(damaged)
        with pytest.raises(backup.BackupError, match="cannot be decrypted"):
            crypto._decrypt_file(target, tmp_path / f"{name}.out", key, name)


def test_bad_keys_are_refused(tmp_path: Path) -> None:
    assert backup.load_key(None) is None
    with pytest.raises(backup.BackupError, match="not 32 bytes"):
        backup.load_key("short")
    with pytest.raises(backup.BackupError, match="cannot read key file"):
        backup.load_key(key_file=tmp_path / "absent.key")


def test_missing_pg_client_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump on PATH either
    with pytest.raises(backup.BackupError, match="install postgresql-client-99"):
        backup.pg_client_tool("pg_dump", 99, lib_dir=tmp_path)


def test_failed_backup_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "fm.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE t (x)")
    backup_dir = tmp_path / "backups"

    def broken(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(lifecycle, "_file_digest", broken)
    with pytest.raises(OSError, match="disk full"):
        backup.create_backup(f"sqlite:///{database}", backup_dir)
    assert list(backup_dir.iterdir()) == []

    with pytest.raises(backup.BackupError, match="does not exist"):
        backup.create_backup(f"sqlite:///{tmp_path / 'absent.db'}", backup_dir)
    assert list(backup_dir.iterdir()) == []
