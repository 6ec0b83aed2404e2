"""Photo storage on disk and in an S3-compatible bucket (a real moto S3 server on loopback)."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine

from freemarket.infra.settings import Settings
from freemarket.infra.storage import DiskStorage, S3Storage, make_storage
from tests.conftest import MakeUser, free_port

NAME = "0123456789abcdef0123456789abcdef-thumb.jpg"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server in its own process, speaking the S3 HTTP API on a free port."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/moto-api/", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def s3_settings(endpoint: str, bucket: str, tmp_path: Path, **extra: Any) -> Settings:
    """Settings that put photos in `bucket` on the local S3 server."""
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        s3_bucket=bucket,
        s3_endpoint_url=endpoint,
        s3_access_key_id="test-key",
        s3_secret_access_key="test-secret",
        **extra,
    )


def bucket_keys(storage: S3Storage) -> list[str]:
    """Every key in the storage's bucket, asked of the server directly."""
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_disk_storage_round_trip_and_refuses_foreign_names(tmp_path: Path) -> None:
    storage = DiskStorage(tmp_path / "photos")
    storage.put(NAME, b"jpeg bytes", "image/jpeg")
    assert storage.get(NAME) == b"jpeg bytes"
    assert [p.name for p in (tmp_path / "photos").iterdir()] == [NAME]  # no temporary left
    storage.delete(NAME)
    storage.delete(NAME)  # already gone: fine
    assert storage.get(NAME) is None
    for bad in ("../x-thumb.jpg", "passwd", NAME.replace("thumb", "raw")):
        with pytest.raises(ValueError):
            storage.put(bad, b"", "image/jpeg")


def test_s3_storage_round_trip(s3_endpoint: str, tmp_path: Path) -> None:
    storage = make_storage(s3_settings(s3_endpoint, "fm-roundtrip", tmp_path))
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket="fm-roundtrip")
    storage.put(NAME, b"jpeg bytes", "image/jpeg")
    assert bucket_keys(storage) == [f"photos/{NAME}"]
    head = storage.client.head_object(Bucket="fm-roundtrip", Key=f"photos/{NAME}")
    assert head["ContentType"] == "image/jpeg"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert storage.get(NAME) == b"jpeg bytes"
    storage.delete(NAME)
    assert storage.get(NAME) is None and bucket_keys(storage) == []
    assert "fm-roundtrip" in storage.describe()


def test_photos_through_the_api_land_in_the_bucket(
    s3_endpoint: str,
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    make_user: MakeUser,
    auth_headers: Any,
) -> None:
    from freemarket.api.app import create_app

    settings = s3_settings(s3_endpoint, f"fm-api-{tmp_path.name[-12:].lower()}", tmp_path)
    settings = settings.model_copy(update={"database_url": db_url})
    app = create_app(settings, engine=engine)
    storage = app.state.photo_storage
    assert isinstance(storage, S3Storage)
    storage.client.create_bucket(Bucket=storage.bucket)
    headers = auth_headers(make_user("sveta"))
    with TestClient(app, raise_server_exceptions=False) as client:
        item = client.post(
            "/api/items/",
            json={"kind": "offer", "category": "books", "title": "Книга о фотографии"},
            headers=headers,
        ).json()
        picture = io.BytesIO()
        Image.new("RGB", (1600, 1200), (10, 120, 30)).save(picture, "JPEG")
        uploaded = client.post(
            f"/api/items/{item['id']}/photos",
            content=picture.getvalue(),
            headers={**headers, "Content-Type": "image/jpeg"},
        )
        assert uploaded.status_code == 201, uploaded.text
        photo = uploaded.json()
        key = photo["url"].rsplit("/", 1)[1].split("-")[0]
        assert bucket_keys(storage) == [f"photos/{key}-display.jpg", f"photos/{key}-thumb.jpg"]
        assert not (tmp_path / "data" / "photos").exists()  # nothing on local disk
        served = client.get(photo["url"])
        assert served.status_code == 200
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert Image.open(io.BytesIO(served.content)).size == (1280, 960)
        gone = client.delete(f"/api/items/{item['id']}/photos/{photo['id']}", headers=headers)
        assert gone.status_code == 200
        assert bucket_keys(storage) == []
        assert client.get(photo["url"]).status_code == 404
