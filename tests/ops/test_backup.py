"""`freemarket backup` on SQLite and PostgreSQL: through the real entry point, and ops directly."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

import freemarket
from freemarket.db import migrate
from freemarket.db.models import User
from freemarket.infra.settings import Settings
from freemarket.ops import backup
from tests.conftest import MakeUser
from tests.ops.conftest import OpsRun, require_pg_clients, require_tool


@pytest.fixture(autouse=True)
def _clients(db_url: str) -> None:
    require_pg_clients(db_url)


@pytest.fixture
def three_users(make_user: MakeUser, db: Session) -> None:
    for name in ("anna", "boris", "vera"):
        make_user(name, city="Москва")
    db.close()  # hold no transaction: a PostgreSQL restore must be able to take its locks


def _users(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(User)) or 0)


def _delete_users(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(User))


def _manifest_file(settings: Settings, backup_id: str) -> Path:
    return settings.backup_dir / f"{backup_id}.json"


def _edit_manifest(settings: Settings, backup_id: str, **changes: object) -> None:
    path = _manifest_file(settings, backup_id)
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_create_writes_dump_and_manifest(
    ops_run: OpsRun, settings: Settings, db_url: str, three_users: None
) -> None:
    created = ops_run("backup", "create", "--json")
    assert created.code == 0, created.err
    body = created.json()
    manifest = body["manifest"]
    assert body["id"] == manifest["id"]
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    assert manifest["backend"] == backend
    assert manifest["app_version"] == freemarket.__version__
    assert manifest["revision"] == migrate.head_revision()
    assert manifest["server_version"][0].isdigit()
    assert manifest["row_counts"]["users"] == 3
    assert manifest["row_counts"]["categories"] > 0
    assert manifest["row_counts"]["alembic_version"] == 1
    assert manifest["created_at"].endswith("+00:00")
    assert manifest["encrypted"] is False and manifest["status"] == "unverified"

    dump = settings.backup_dir / manifest["file"]
    assert manifest["size"] == dump.stat().st_size
    assert manifest["sha256"] == hashlib.sha256(dump.read_bytes()).hexdigest()
    assert dump.stat().st_mode & 0o777 == 0o600
    assert dump.read_bytes().startswith(b"SQLite format 3" if backend == "sqlite" else b"PGDMP")
    # The dump, its manifest, and the status /metrics reads (infra.ops_status): nothing else.
    assert sorted(p.name for p in settings.backup_dir.iterdir()) == sorted(
        [manifest["file"], f"{manifest['id']}.json", ".status.json"]
    ), "no staging leftovers"

    listed = ops_run("backup", "list", "--json")
    assert listed.code == 0, listed.err
    assert [m["id"] for m in listed.json()] == [manifest["id"]]
    table = ops_run("backup", "list")
    assert manifest["id"] in table.out


def test_verify_passes_then_catches_tampering(
    ops_run: OpsRun, settings: Settings, three_users: None
) -> None:
    backup_id = ops_run("backup", "create", "--json").json()["id"]

    verified = ops_run("backup", "verify", backup_id)
    assert verified.code == 0, verified.err
    assert "verified" in verified.out
    recorded = json.loads(_manifest_file(settings, backup_id).read_text())
    assert recorded["verified_at"] and recorded["status"] == "verified"

    dump = settings.backup_dir / recorded["file"]
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    tampered = ops_run("backup", "verify", backup_id)
    assert tampered.code == 1
    assert tampered.err.count("\n") == 1, "one line"
    assert "sha256 mismatch" in tampered.err and backup_id in tampered.err
    after = json.loads(_manifest_file(settings, backup_id).read_text())
    assert after["status"] == "failed" and "sha256 mismatch" in after["verify_error"]
    assert backup.last_good_backup_time(settings.backup_dir) is None


def test_verify_compares_restored_rows_with_manifest(
    settings: Settings, db_url: str, three_users: None
) -> None:
    made = backup.create_backup(db_url, settings.backup_dir)
    _edit_manifest(settings, made.id, row_counts={**made.row_counts, "users": 4})
    with pytest.raises(backup.VerificationFailed, match="users has 3 rows, manifest says 4"):
        backup.verify_backup(db_url, settings.backup_dir, made.id)


def test_restore_needs_yes_then_brings_rows_back(
    ops_run: OpsRun, settings: Settings, engine: Engine, three_users: None
) -> None:
    backup_id = ops_run("backup", "create", "--json").json()["id"]
    _delete_users(engine)

    refused = ops_run("backup", "restore", backup_id)
    assert refused.code == 1
    assert "--yes" in refused.err and refused.err.count("\n") == 1
    assert _users(engine) == 0

    restored = ops_run("backup", "restore", backup_id, "--yes", "--json")
    assert restored.code == 0, restored.err
    result = restored.json()
    assert result["id"] == backup_id and result["row_counts"]["users"] == 3
    engine.dispose()
    assert _users(engine) == 3

    safety = backup.load_manifest(settings.backup_dir, result["safety_backup_id"])
    assert safety.kind == "safety" and safety.row_counts["users"] == 0
    assert (settings.backup_dir / safety.file).is_file()


def test_restore_refuses_what_does_not_fit(
    settings: Settings, db_url: str, engine: Engine, three_users: None
) -> None:
    made = backup.create_backup(db_url, settings.backup_dir)
    _delete_users(engine)

    _edit_manifest(settings, made.id, revision="9999_from_the_future")
    with pytest.raises(backup.BackupError, match="newer FreeMarket"):
        backup.restore_backup(db_url, settings.backup_dir, made.id, confirmed=True)

    other = "postgresql" if db_url.startswith("sqlite") else "sqlite"
    _edit_manifest(settings, made.id, revision=made.revision, backend=other)
    with pytest.raises(backup.BackupError, match=f"is a {other} backup"):
        backup.restore_backup(db_url, settings.backup_dir, made.id, confirmed=True)

    if other == "sqlite":  # a PostgreSQL backup from a newer major than this server
        _edit_manifest(settings, made.id, backend="postgresql", server_version="99.1")
        with pytest.raises(backup.BackupError, match="PostgreSQL 99"):
            backup.restore_backup(db_url, settings.backup_dir, made.id, confirmed=True)

    assert _users(engine) == 0, "nothing was restored"
    assert [m.id for m in backup.list_backups(settings.backup_dir)] == [made.id], "no safety"


def test_encrypted_round_trip(
    ops_run: OpsRun, settings: Settings, engine: Engine, tmp_path: Path, three_users: None
) -> None:
    key_file = tmp_path / "backup.key"
    key = ops_run("backup", "keygen").out.strip()
    key_file.write_text(key + "\n")

    no_key = ops_run("backup", "create", "--encrypt")
    assert no_key.code == 1 and "needs a key" in no_key.err

    created = ops_run("backup", "create", "--encrypt", "--key-file", str(key_file), "--json")
    assert created.code == 0, created.err
    manifest = created.json()["manifest"]
    assert manifest["encrypted"] is True and manifest["file"].endswith(".enc")
    stored = (settings.backup_dir / manifest["file"]).read_bytes()
    assert b"SQLite format" not in stored[:64] and b"PGDMP" not in stored[:64]
    assert b"anna" not in stored

    missing = ops_run("backup", "verify", manifest["id"])
    assert missing.code == 1 and "is encrypted" in missing.err
    wrong = tmp_path / "wrong.key"
    wrong.write_text(backup.generate_key())
    bad = ops_run("backup", "verify", manifest["id"], "--key-file", str(wrong))
    assert bad.code == 1 and "wrong key" in bad.err
    assert backup.load_manifest(settings.backup_dir, manifest["id"]).status == "unverified"

    good = ops_run("backup", "verify", manifest["id"], "--key-file", str(key_file))
    assert good.code == 0, good.err

    _delete_users(engine)
    restored = ops_run("backup", "restore", "latest", "--yes", "--key-file", str(key_file))
    assert restored.code == 0, restored.err
    engine.dispose()
    assert _users(engine) == 3


def test_offsite_copy_to_local_rclone_remote(
    ops_run: OpsRun, settings: Settings, tmp_path: Path, three_users: None
) -> None:
    require_tool("rclone")
    remote_dir = tmp_path / "offsite"
    config = tmp_path / "rclone.conf"
    config.write_text("[vault]\ntype = local\n")

    created = ops_run(
        "backup", "create", "--offsite", f"vault:{remote_dir}/daily", "--json",
        env={"RCLONE_CONFIG": str(config)},
    )  # fmt: skip
    assert created.code == 0, created.err
    manifest = created.json()["manifest"]
    assert manifest["offsite"] == f"vault:{remote_dir}/daily/{manifest['file']}"
    copied = remote_dir / "daily" / manifest["file"]
    assert hashlib.sha256(copied.read_bytes()).hexdigest() == manifest["sha256"]
    remote_manifest = json.loads((remote_dir / "daily" / f"{manifest['id']}.json").read_text())
    assert remote_manifest["sha256"] == manifest["sha256"]

    broken = ops_run(
        "backup", "create", "--offsite", "nosuchremote:x", env={"RCLONE_CONFIG": str(config)}
    )
    assert broken.code == 1 and "offsite copy" in broken.err and broken.err.count("\n") == 1


def test_restore_on_a_new_server_recreates_the_database(
    ops_run: OpsRun, settings: Settings, engine: Engine, db_url: str, three_users: None
) -> None:
    """Disaster recovery: the SQLite file is gone, or PostgreSQL's schema is empty."""
    backup_id = ops_run("backup", "create", "--json").json()["id"]
    engine.dispose()
    if db_url.startswith("sqlite"):
        Path(db_url.removeprefix("sqlite:///")).unlink()
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    restored = ops_run("backup", "restore", backup_id, "--yes")
    assert restored.code == 0, restored.err
    if db_url.startswith("sqlite"):
        assert "there was no database before (restored on a new server)" in restored.out
    else:
        assert "the previous data is in safety backup" in restored.out
    engine.dispose()
    assert _users(engine) == 3
    assert migrate.migration_status(engine).at_head
