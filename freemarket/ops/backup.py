"""Database backups with manifests: create, list, verify, restore, prune and schedule."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import sqlite3
import struct
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

import freemarket
from freemarket.ops.process import (
    OperationFailed,
    require_tool,
    run,
    run_pipe,
    write_atomically,
)

log = logging.getLogger(__name__)

MANIFEST_VERSION = 1
PG_LIB_DIR = Path("/usr/lib/postgresql")
DEFAULT_CRON_FILE = Path("/etc/cron.d/freemarket-backup")
# The seed's schedule: every day at 02:00.
CRON_SCHEDULE = "0 2 * * *"
SYSTEMD_CALENDAR = "*-*-* 02:00:00"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")


class BackupError(OperationFailed):
    """A backup request that cannot be carried out."""


class VerificationFailed(BackupError):
    """A backup does not restore to what its manifest promises."""


# --- manifest -------------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """What a restore did: which backup, the safety backup taken first, what is there now."""

    id: str
    safety_backup_id: str
    revision: str | None
    row_counts: dict[str, int]
    needs_migration: bool


@dataclass(frozen=True, slots=True)
class PruneDecision:
    """Whether retention keeps or deletes one backup, and why."""

    id: str
    created_at: datetime
    keep: bool
    reason: str


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    """The schedule written (cron) or to install (systemd): file name → content."""

    kind: str
    files: dict[str, str]
    changed: bool
    command: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def _manifest_path(backup_dir: Path, backup_id: str) -> Path:
    return backup_dir / f"{backup_id}.json"


def save_manifest(backup_dir: Path, manifest: BackupManifest) -> None:
    """Write (or rewrite) a manifest atomically."""
    text_data = json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"
    write_atomically(_manifest_path(backup_dir, manifest.id), text_data)


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


# --- encryption: AES-256-GCM in 1 MiB records, so a large dump never sits in memory ----------

_MAGIC = b"FMBACKUP-AESGCM1\n"
_RECORD = struct.Struct(">BI")  # final flag, ciphertext length
_CHUNK = 1 << 20


def generate_key() -> str:
    """A new random encryption key, base64 (url-safe) of 32 bytes."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def load_key(key: str | None = None, key_file: Path | None = None) -> bytes | None:
    """The 32-byte key from a base64 string or a file holding one; None when neither is given."""
    source = "BACKUP_ENCRYPTION_KEY"
    if key_file is not None:
        try:
            key = key_file.read_text("utf-8").strip()
        except OSError as exc:
            raise BackupError(f"cannot read key file {key_file}: {exc.strerror}") from exc
        source = str(key_file)
    if not key:
        return None
    try:
        raw = base64.urlsafe_b64decode(key.strip() + "=" * (-len(key.strip()) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BackupError(
            f"the key in {source} is not 32 bytes of base64; "
            "make one with `freemarket backup keygen`"
        )
    return raw


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as exc:  # a declared dependency, but say so plainly if it is missing
        raise BackupError("encryption needs the `cryptography` package") from exc
    return AESGCM(key)


def _nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + counter.to_bytes(4, "big")


def _encrypt_file(src: Path, dst: Path, key: bytes) -> None:
    # Each record's nonce carries its position and its header (final flag, length) is
    # authenticated, so reordering, truncating or extending the file is detected.
    aead = _aesgcm(key)
    prefix = os.urandom(8)
    with src.open("rb") as reader, dst.open("xb") as writer:
        writer.write(_MAGIC + prefix)
        counter = 0
        chunk = reader.read(_CHUNK)
        while True:
            following = reader.read(_CHUNK) if chunk else b""
            final = not following
            header_flag = 1 if final else 0
            sealed = aead.encrypt(_nonce(prefix, counter), chunk, _MAGIC + bytes([header_flag]))
            writer.write(_RECORD.pack(header_flag, len(sealed)) + sealed)
            if final:
                return
            chunk, counter = following, counter + 1


def _decrypt_file(src: Path, dst: Path, key: bytes, label: str) -> None:
    from cryptography.exceptions import InvalidTag

    aead = _aesgcm(key)
    damaged = BackupError(f"backup {label} cannot be decrypted: the file is damaged")
    with src.open("rb") as reader, dst.open("xb") as writer:
        if reader.read(len(_MAGIC)) != _MAGIC:
            raise BackupError(f"backup {label} is not an encrypted FreeMarket backup")
        prefix = reader.read(8)
        counter = 0
        while True:
            header = reader.read(_RECORD.size)
            if len(header) != _RECORD.size:
                raise damaged
            final, length = _RECORD.unpack(header)
            if length > _CHUNK + 16:
                raise damaged
            sealed = reader.read(length)
            try:
                writer.write(aead.decrypt(_nonce(prefix, counter), sealed, _MAGIC + bytes([final])))
            except InvalidTag as exc:
                raise BackupError(
                    f"backup {label} cannot be decrypted: wrong key, or the file is damaged"
                ) from exc
            if final:
                if reader.read(1):
                    raise damaged
                return
            counter += 1


def _file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


# --- databases ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _State:
    revision: str | None
    row_counts: dict[str, int]


class _Database(Protocol):
    """One backend's way to dump, inspect, test-restore and restore its database."""

    backend: str
    extension: str
    label: str

    def server_version(self) -> str: ...

    def dump(self, dest: Path) -> _State: ...

    def state(self) -> _State: ...

    def scratch_state(self, dump: Path) -> _State: ...

    def restore(self, dump: Path) -> None: ...


def _database(database_url: str) -> _Database:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _SQLiteDatabase(url)
    if backend == "postgresql":
        return _PostgresDatabase(url)
    raise BackupError(f"backups support PostgreSQL and SQLite, not {backend}")


def _sqlite_state(conn: sqlite3.Connection) -> _State:
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    revision = None
    if "alembic_version" in counts:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    return _State(revision=revision, row_counts=counts)


class _SQLiteDatabase:
    """SQLite through its online backup API: consistent even while the service writes."""

    backend = "sqlite"
    extension = "sqlite3"

    def __init__(self, url: URL) -> None:
        if not url.database or url.database == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        self.path = Path(url.database)
        self.label = self.path.name

    @staticmethod
    def _connect(path: Path) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(path, timeout=30, isolation_level=None))

    def _existing(self) -> Path:
        if not self.path.is_file():
            raise BackupError(f"the SQLite database {self.path} does not exist")
        return self.path

    def server_version(self) -> str:
        """The SQLite library version."""
        return sqlite3.sqlite_version

    def dump(self, dest: Path) -> _State:
        """Copy the live database into `dest`; return what the copy holds."""
        with self._connect(self._existing()) as src, self._connect(dest) as dst:
            src.backup(dst)
            # A self-contained file: no -wal/-shm companions to lose when copying it around.
            dst.execute("PRAGMA journal_mode=DELETE")
            return _sqlite_state(dst)

    def state(self) -> _State:
        """Revision and row counts of the live database."""
        with self._connect(self._existing()) as conn:
            return _sqlite_state(conn)

    def scratch_state(self, dump: Path) -> _State:
        """Restore `dump` into a temporary file and return what it holds."""
        with tempfile.TemporaryDirectory(prefix="fm-verify-") as tmp:
            scratch = Path(tmp) / "scratch.db"
            with self._connect(dump) as src, self._connect(scratch) as dst:
                src.backup(dst)
                problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
                if problems != ["ok"]:
                    raise VerificationFailed(f"integrity check failed: {problems[0]}")
                return _sqlite_state(dst)

    def restore(self, dump: Path) -> None:
        """Replace the live database's content with `dump`, in one step."""
        with self._connect(dump) as src, self._connect(self._existing()) as dst:
            src.backup(dst)


def pg_client_tool(name: str, major: int, lib_dir: Path | None = None) -> Path:
    """The `name` client (pg_dump, pg_restore, psql) of PostgreSQL `major`, or a clear error."""
    candidate = (lib_dir or PG_LIB_DIR) / str(major) / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    # Not a Debian layout: a client on PATH will do if it is the same major version.
    on_path = shutil.which(name)
    if on_path:
        result = run([on_path, "--version"], what=f"{name} --version")
        found = re.search(r"(\d+)(?:\.\d+)?", result.stdout)
        if found and int(found.group(1)) == major:
            return Path(on_path)
    raise BackupError(
        f"no {name} for PostgreSQL {major} (looked for {candidate}); "
        f"install postgresql-client-{major}"
    )


def _pg_env(url: URL) -> dict[str, str]:
    # Credentials travel in the environment, never on a command line others can read.
    env = {"PGDATABASE": url.database or "", "PGAPPNAME": "freemarket-backup"}
    for var, value in (
        ("PGHOST", url.host or url.query.get("host")),
        ("PGPORT", url.port or url.query.get("port")),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGSSLMODE", url.query.get("sslmode")),
    ):
        if value:
            # A query key given twice arrives as a tuple; libpq takes one value.
            env[var] = str(value[0] if isinstance(value, tuple) else value)
    return env


def _pg_state(conn: Connection) -> _State:
    quote = conn.dialect.identifier_preparer.quote
    tables = conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
    ).scalars()
    counts = {
        t: conn.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar_one() for t in tables
    }
    revision = None
    if "alembic_version" in counts:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return _State(revision=revision, row_counts=counts)


class _PostgresDatabase:
    """PostgreSQL through pg_dump's custom format, with clients matching the server's major."""

    backend = "postgresql"
    extension = "pgdump"

    def __init__(self, url: URL) -> None:
        self.url = url
        self.label = url.database or "postgres"
        self._major: int | None = None
        self._version: str | None = None

    @contextmanager
    def _connect(self, url: URL | None = None, autocommit: bool = False) -> Iterator[Connection]:
        options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
        engine = create_engine(url or self.url, poolclass=NullPool, **options)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def _server(self) -> tuple[str, int]:
        if self._version is None or self._major is None:
            with self._connect() as conn:
                number = int(conn.execute(text("SHOW server_version_num")).scalar_one())
                version = str(conn.execute(text("SHOW server_version")).scalar_one())
            self._version, self._major = version.split()[0], number // 10000
        return self._version, self._major

    def server_major(self) -> int:
        """The server's major version (15 for 15.4)."""
        return self._server()[1]

    def server_version(self) -> str:
        """The server's version, e.g. `15.4`."""
        return self._server()[0]

    def _tool(self, name: str) -> Path:
        return pg_client_tool(name, self.server_major())

    def dump(self, dest: Path) -> _State:
        """pg_dump the database into `dest`; counts come from the very snapshot dumped."""
        pg_dump = self._tool("pg_dump")
        with self._connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump joins this transaction's snapshot, so the manifest's row counts
                # describe exactly the rows in the dump even while the service writes.
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                state = _pg_state(conn)
                run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dest}"],
                    what="pg_dump",
                    env=_pg_env(self.url),
                )
        return state

    def state(self) -> _State:
        """Revision and row counts of the live database."""
        with self._connect() as conn:
            return _pg_state(conn)

    def _load(self, dump: Path, url: URL) -> None:
        # pg_restore turns the dump into SQL and psql replays it after recreating the schema,
        # all in one transaction: tables a newer migration added do not linger, and a failed
        # restore leaves the database exactly as it was.
        with self._connect(url) as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            quoted = conn.dialect.identifier_preparer.quote(schema)
        run_pipe(
            [self._tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", dump],
            [
                self._tool("psql"),
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                f"--command=DROP SCHEMA IF EXISTS {quoted} CASCADE",
                f"--command=CREATE SCHEMA {quoted}",
                "--file=-",
            ],
            what="pg_restore",
            env=_pg_env(url),
        )

    def scratch_state(self, dump: Path) -> _State:
        """Restore `dump` into a temporary database on the same server, inspect, drop it."""
        scratch = f"fm_verify_{secrets.token_hex(6)}"
        with self._connect(autocommit=True) as conn:
            try:
                conn.execute(text(f'CREATE DATABASE "{scratch}" TEMPLATE template0'))
            except DBAPIError as exc:
                raise BackupError(
                    f"cannot create a scratch database to verify in (the database user needs "
                    f"CREATEDB): {str(exc.orig).strip().splitlines()[0]}"
                ) from exc
        scratch_url = self.url.set(database=scratch)
        try:
            self._load(dump, scratch_url)
            with self._connect(scratch_url) as conn:
                return _pg_state(conn)
        finally:
            with self._connect(autocommit=True) as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))

    def restore(self, dump: Path) -> None:
        """Replace the configured database's schema with the dump's, atomically."""
        self._load(dump, self.url)


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
        safety = create_backup(database_url, backup_dir, key=key, kind="safety")
        try:
            database.restore(plain)
        except BackupError as exc:
            raise BackupError(
                f"{exc.message}; the database is unchanged (safety backup {safety.id})"
            ) from exc
    state = database.state()
    problems = _differences(manifest, state)
    if problems:
        raise BackupError(
            f"restored {manifest.id}, but the result differs from its manifest: "
            f"{'; '.join(problems)}; safety backup {safety.id} holds the previous data"
        )
    from freemarket.db.migrate import head_revision

    return RestoreResult(
        id=manifest.id,
        safety_backup_id=safety.id,
        revision=state.revision,
        row_counts=state.row_counts,
        needs_migration=state.revision != head_revision(),
    )


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
    return decisions


# --- schedule -------------------------------------------------------------------------------


def freemarket_executable() -> str:
    """The `freemarket` script of this installation (beside the running interpreter)."""
    beside = Path(sys.executable).parent / "freemarket"
    if beside.is_file():
        return str(beside)
    return shutil.which("freemarket") or "freemarket"


def schedule_commands(
    *,
    executable: str,
    encrypt: bool = False,
    offsite: str | None = None,
    keep: int | None = None,
    max_age_days: float | None = None,
) -> list[list[str]]:
    """The commands the daily run executes: create and verify, then prune if asked."""
    create = [executable, "backup", "create", "--verify"]
    if encrypt:
        create.append("--encrypt")
    if offsite:
        create += ["--offsite", offsite]
    commands = [create]
    if keep is not None or max_age_days is not None:
        prune = [executable, "backup", "prune"]
        if keep is not None:
            prune += ["--keep", str(keep)]
        if max_age_days is not None:
            prune += ["--max-age", f"{max_age_days:g}"]
        commands.append(prune)
    return commands


def schedule_backup(
    *,
    workdir: Path,
    commands: list[list[str]],
    cron_file: Path = DEFAULT_CRON_FILE,
    systemd: bool = False,
    user: str = "root",
) -> ScheduleResult:
    """Install the daily 02:00 backup as a cron file, or render systemd units; idempotent."""
    workdir = workdir.resolve()
    if systemd:
        service = (
            "[Unit]\nDescription=FreeMarket database backup\n"
            "Wants=network-online.target\nAfter=network-online.target\n\n"
            f"[Service]\nType=oneshot\nUser={user}\nWorkingDirectory={workdir}\n"
            + "".join(f"ExecStart={shlex.join(c)}\n" for c in commands)
        )
        timer = (
            "[Unit]\nDescription=Daily FreeMarket database backup at 02:00\n\n"
            f"[Timer]\nOnCalendar={SYSTEMD_CALENDAR}\nPersistent=true\n\n"
            "[Install]\nWantedBy=timers.target\n"
        )
        return ScheduleResult(
            kind="systemd",
            files={"freemarket-backup.service": service, "freemarket-backup.timer": timer},
            changed=False,
            command=[shlex.join(c) for c in commands],
        )
    # The working directory holds `.env`, which is where the settings come from.
    line = f"cd {shlex.quote(str(workdir))} && " + " && ".join(shlex.join(c) for c in commands)
    content = (
        "# FreeMarket: daily database backup at 02:00.\n"
        "# Written by `freemarket backup schedule`; run it again rather than editing.\n"
        "SHELL=/bin/sh\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"{CRON_SCHEDULE} {user} {line}\n"
    )
    current = cron_file.read_text("utf-8") if cron_file.is_file() else None
    changed = current != content
    if changed:
        cron_file.parent.mkdir(parents=True, exist_ok=True)
        # cron ignores files in cron.d that are group- or world-writable.
        write_atomically(cron_file, content, mode=0o644)
    return ScheduleResult(
        kind="cron",
        files={str(cron_file): content},
        changed=changed,
        command=[shlex.join(c) for c in commands],
    )
