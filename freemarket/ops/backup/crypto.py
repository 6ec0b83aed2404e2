"""Backup encryption (AES-256-GCM in 1 MiB records) and file digests."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import struct
from pathlib import Path
from typing import Any

from freemarket.ops.backup.manifest import BackupError

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
