"""Where photo files live: a directory under DATA_DIR by default, or an S3-compatible bucket."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from freemarket.errors import ConfigurationError
from freemarket.infra.settings import Settings

# Names are made by freemarket.domain.photos (a random key and a size); anything else is
# refused before it can reach a file system path or a bucket key.
OBJECT_NAME = re.compile(r"^[0-9a-f]{32}-(thumb|display)\.jpg$")


def check_name(name: str) -> str:
    """The name if it is one this storage may hold; ValueError otherwise."""
    if not OBJECT_NAME.match(name):
        raise ValueError(f"not a photo object name: {name!r}")
    return name


class PhotoStorage(Protocol):
    """Immutable objects by name: written once, read many times, deleted when unused."""

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store `data` under `name` (overwriting the same bytes is harmless)."""

    def get(self, name: str) -> bytes | None:
        """The bytes stored under `name`, or None."""

    def delete(self, name: str) -> None:
        """Forget `name` (no error when it is already gone)."""

    def describe(self) -> str:
        """Where the objects live, for operators."""


class DiskStorage:
    """Files in one directory, written atomically (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write the file; a reader never sees half of it."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / check_name(name)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return (self.root / check_name(name)).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str) -> None:
        """Remove the file if present."""
        (self.root / check_name(name)).unlink(missing_ok=True)

    def describe(self) -> str:
        """The directory."""
        return str(self.root.resolve())


class S3Storage:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, ...), through boto3."""

    def __init__(self, *, bucket: str, prefix: str = "", client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        """A client for the configured bucket and endpoint."""
        import boto3
        from botocore.config import Config

        if not settings.s3_bucket:
            raise ConfigurationError("S3_BUCKET is not set")
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url or None,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id or None,
            aws_secret_access_key=settings.s3_secret_access_key or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=20,
                # Path-style addressing works with every S3-compatible server (MinIO included).
                s3={"addressing_style": "path"},
            ),
        )
        return cls(bucket=settings.s3_bucket, prefix=settings.s3_prefix, client=client)

    def _key(self, name: str) -> str:
        return f"{self.prefix}{check_name(name)}"

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Upload the object."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(name),
            Body=data,
            ContentType=content_type,
            CacheControl="public, max-age=31536000, immutable",
        )

    def get(self, name: str) -> bytes | None:
        """Download the object, or None when the bucket does not have it."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = answer["Body"].read()
        return body

    def delete(self, name: str) -> None:
        """Delete the object (S3 answers success for a missing key too)."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))

    def describe(self) -> str:
        """The bucket and endpoint."""
        endpoint = self.client.meta.endpoint_url
        return f"s3://{self.bucket}/{self.prefix} at {endpoint}"


def make_storage(settings: Settings) -> PhotoStorage:
    """The bucket when S3_BUCKET is set, else DATA_DIR/photos."""
    if settings.s3_bucket:
        return S3Storage.from_settings(settings)
    return DiskStorage(settings.data_dir / "photos")
