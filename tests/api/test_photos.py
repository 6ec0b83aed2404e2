"""Photos: uploaded through the API, checked by content, EXIF stripped, resized, served cached."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from freemarket.db.models import ItemPhoto, User
from freemarket.domain import photos, users
from freemarket.domain.actors import OPERATOR
from tests.api.conftest import Headers, post_item

GPS_TAG = 0x8825
ORIENTATION_TAG = 0x0112


def jpeg_with_exif(width: int = 900, height: int = 600, *, orientation: int = 1) -> bytes:
    """A camera-like JPEG: a GPS position, a camera serial and an orientation tag."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    # A distinct left half, so a rotation shows in the pixels.
    image.paste((20, 20, 220), (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = orientation
    exif[0x0110] = "SecretCam 3000"  # Model
    exif[0xA431] = "SERIAL-123456"  # BodySerialNumber
    exif.get_ifd(GPS_TAG).update({1: "N", 2: (55.0, 45.0, 0.0), 3: "E", 4: (37.0, 37.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png_with_alpha(width: int = 300, height: int = 200) -> bytes:
    """A transparent PNG."""
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (0, 0, 0, 0)).save(out, "PNG")
    return out.getvalue()


def upload(client: TestClient, headers: Headers, item_id: int, data: bytes, ctype: str):
    """POST the raw bytes as a photo of the item."""
    return client.post(
        f"/api/items/{item_id}/photos",
        content=data,
        headers={**headers, "Content-Type": ctype},
    )


def test_upload_strips_exif_resizes_and_serves_with_cache_headers(
    client: TestClient, anna_h: Headers, db: Session
) -> None:
    item = post_item(client, anna_h)
    # Orientation 6: the camera was turned; the stored photo must be upright (portrait).
    response = upload(client, anna_h, item["id"], jpeg_with_exif(orientation=6), "image/jpeg")
    assert response.status_code == 201, response.text
    photo = response.json()
    assert (photo["width"], photo["height"]) == (600, 900)
    assert photo["thumb_url"].endswith("-thumb.jpg") and photo["url"].endswith("-display.jpg")

    shown = client.get(f"/api/items/{item['id']}").json()
    assert [p["id"] for p in shown["photos"]] == [photo["id"]]
    listed = client.get("/api/items").json()["items"]
    assert listed[0]["photos"][0]["thumb_url"] == photo["thumb_url"]

    for url, longest in ((photo["url"], 900), (photo["thumb_url"], photos.SIZES["thumb"])):
        served = client.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        image = Image.open(io.BytesIO(served.content))
        assert image.format == "JPEG" and max(image.size) == longest
        assert image.height > image.width
        # Nothing of the camera's metadata survives: no EXIF block at all.
        assert "exif" not in image.info and len(image.getexif()) == 0
        assert b"SERIAL-123456" not in served.content and b"SecretCam" not in served.content
        again = client.get(url, headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    stored = db.scalar(select(func.count(ItemPhoto.id)))
    assert stored == 1


def test_type_is_checked_by_content_not_by_name(client: TestClient, anna_h: Headers) -> None:
    item = post_item(client, anna_h)
    fake = upload(client, anna_h, item["id"], b"<?php echo 'hi'; ?>" * 20, "image/jpeg")
    assert fake.status_code == 422 and fake.json()["code"] == "photo_not_image"
    # A real image in a format we do not take (BMP), sent as if it were a JPEG.
    bmp = io.BytesIO()
    Image.new("RGB", (50, 50)).save(bmp, "BMP")
    refused = upload(client, anna_h, item["id"], bmp.getvalue(), "image/jpeg")
    assert refused.status_code == 422
    assert refused.json()["code"] == "photo_format" and refused.json()["params"] == {
        "format": "BMP"
    }
    truncated = upload(client, anna_h, item["id"], jpeg_with_exif()[:400], "image/jpeg")
    assert truncated.status_code == 422 and truncated.json()["code"] == "photo_not_image"
    # A PNG with transparency is accepted whatever the header says, and stored as JPEG.
    png = upload(client, anna_h, item["id"], png_with_alpha(), "application/octet-stream")
    assert png.status_code == 201, png.text
    assert client.get(f"/api/items/{item['id']}").json()["photos"][0]["id"] == png.json()["id"]


def test_decompression_bomb_is_refused_before_decoding(client: TestClient, anna_h: Headers) -> None:
    item = post_item(client, anna_h)
    out = io.BytesIO()
    # 10000 x 10000 of one colour compresses to a few kilobytes but would need 300 MB decoded.
    Image.new("L", (10_000, 10_000)).save(out, "PNG", optimize=True)
    assert len(out.getvalue()) < 200_000
    response = upload(client, anna_h, item["id"], out.getvalue(), "image/png")
    assert response.status_code == 422
    assert response.json()["code"] == "photo_too_many_pixels"


def test_size_limit_is_the_photo_limit_not_the_json_limit(
    client: TestClient, anna_h: Headers, settings
) -> None:
    item = post_item(client, anna_h)
    # Bigger than the JSON body limit of the test app (64 kB) yet a fine photo.
    noisy = Image.effect_noise((700, 700), 80).convert("RGB")
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=95)
    assert len(out.getvalue()) > settings.max_body_bytes
    assert upload(client, anna_h, item["id"], out.getvalue(), "image/jpeg").status_code == 201
    too_big = b"\xff" * (settings.photo_max_bytes + 1)
    answer = upload(client, anna_h, item["id"], too_big, "image/jpeg")
    assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"
    # JSON routes keep their own, smaller limit.
    assert client.post("/api/items/", content=b"x" * 70_000, headers=anna_h).status_code == 413


def test_five_photos_at_most_and_only_the_owner_uploads(
    client: TestClient, anna_h: Headers, boris_h: Headers, db: Session
) -> None:
    item = post_item(client, anna_h)
    picture = png_with_alpha()
    stranger = upload(client, boris_h, item["id"], picture, "image/png")
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_owner"
    assert upload(client, {}, item["id"], picture, "image/png").status_code == 401
    for _ in range(photos.MAX_PHOTOS_PER_ITEM):
        assert upload(client, anna_h, item["id"], picture, "image/png").status_code == 201
    sixth = upload(client, anna_h, item["id"], picture, "image/png")
    assert sixth.status_code == 409
    assert sixth.json()["code"] == "photo_limit" and sixth.json()["params"] == {"max": 5}
    assert db.scalar(select(func.count(ItemPhoto.id))) == 5


def test_concurrent_uploads_never_exceed_the_limit(
    client: TestClient, anna_h: Headers, db: Session, settings
) -> None:
    item = post_item(client, anna_h)
    picture = png_with_alpha()
    for _ in range(3):
        assert upload(client, anna_h, item["id"], picture, "image/png").status_code == 201
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def send() -> None:
        barrier.wait()
        codes.append(upload(client, anna_h, item["id"], picture, "image/png").status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code in (201, 409) for code in codes), codes
    db.expire_all()
    count = db.scalar(select(func.count(ItemPhoto.id)))
    assert count is not None and count <= photos.MAX_PHOTOS_PER_ITEM
    assert count == 3 + codes.count(201)
    # The uploads that lost the race took their files with them: no orphans on disk.
    keys = set(db.scalars(select(ItemPhoto.key)))
    assert stored_files(settings) == {f"{k}-{s}.jpg" for k in keys for s in photos.SIZES}


def stored_files(settings) -> set[str]:
    """The names of every photo file on disk."""
    return {p.name for p in (settings.data_dir / "photos").glob("*.jpg")}


def files_of(photo: dict) -> set[str]:
    """The two file names of an uploaded photo."""
    return {photo["url"].rsplit("/", 1)[1], photo["thumb_url"].rsplit("/", 1)[1]}


def test_delete_photo_removes_its_own_files_only(
    client: TestClient, anna_h: Headers, boris_h: Headers, settings
) -> None:
    item = post_item(client, anna_h)
    other = post_item(client, anna_h, title="Второй велосипед")
    picture = jpeg_with_exif()
    first = upload(client, anna_h, item["id"], picture, "image/jpeg").json()
    # The same picture on another item is a photo of its own, with files of its own.
    second = upload(client, anna_h, other["id"], picture, "image/jpeg").json()
    assert first["url"] != second["url"]
    assert stored_files(settings) == files_of(first) | files_of(second)
    path = f"/api/items/{item['id']}/photos/{first['id']}"
    assert client.delete(path, headers=boris_h).status_code == 403
    assert stored_files(settings) == files_of(first) | files_of(second)
    removed = client.delete(path, headers=anna_h)
    assert removed.status_code == 200 and removed.json()["photos"] == []
    assert stored_files(settings) == files_of(second)
    assert client.get(first["url"]).status_code == 404
    assert client.get(second["url"]).status_code == 200
    again = client.delete(path, headers=anna_h)
    assert again.status_code == 404 and again.json()["code"] == "photo_not_found"
    client.delete(f"/api/items/{other['id']}/photos/{second['id']}", headers=anna_h)
    assert stored_files(settings) == set()


class CommitFails:
    """Makes the next COMMIT on an engine fail, as a dropped connection or a full disk would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.armed = False
        self.fired = 0
        event.listen(engine, "commit", self._commit)

    def _commit(self, _connection: object) -> None:
        if self.armed:
            self.armed = False
            self.fired += 1
            raise OperationalError("COMMIT", {}, RuntimeError("the server closed the connection"))

    def arm(self) -> None:
        """Fail the next commit."""
        self.armed = True

    def remove(self) -> None:
        """Stop interfering."""
        event.remove(self.engine, "commit", self._commit)


@pytest.fixture
def commit_fails(engine: Engine) -> Iterator[CommitFails]:
    """A switch that makes the next commit on the test engine fail."""
    switch = CommitFails(engine)
    yield switch
    switch.remove()


def test_an_upload_whose_commit_fails_leaves_no_files(
    client: TestClient, anna_h: Headers, db: Session, settings, commit_fails: CommitFails
) -> None:
    item = post_item(client, anna_h)
    kept = upload(client, anna_h, item["id"], png_with_alpha(), "image/png").json()
    commit_fails.arm()
    failed = upload(client, anna_h, item["id"], jpeg_with_exif(), "image/jpeg")
    assert commit_fails.fired == 1
    assert failed.status_code >= 500 and "Traceback" not in failed.text
    # The row never existed, and neither do its files; the earlier photo is untouched.
    assert [p["id"] for p in client.get(f"/api/items/{item['id']}").json()["photos"]] == [
        kept["id"]
    ]
    assert db.scalar(select(func.count(ItemPhoto.id))) == 1
    assert stored_files(settings) == files_of(kept)
    assert client.get(kept["url"]).status_code == 200


def test_a_deletion_whose_commit_fails_keeps_the_files(
    client: TestClient, anna_h: Headers, settings, commit_fails: CommitFails
) -> None:
    item = post_item(client, anna_h)
    photo = upload(client, anna_h, item["id"], jpeg_with_exif(), "image/jpeg").json()
    path = f"/api/items/{item['id']}/photos/{photo['id']}"
    commit_fails.arm()
    failed = client.delete(path, headers=anna_h)
    assert commit_fails.fired == 1 and failed.status_code >= 500
    # The photo is still on the item, so its picture must still be there too.
    assert client.get(f"/api/items/{item['id']}").json()["photos"][0]["id"] == photo["id"]
    assert stored_files(settings) == files_of(photo)
    assert client.get(photo["url"]).status_code == 200
    assert client.get(photo["thumb_url"]).status_code == 200
    # Tried again, it commits, and only then are the files gone.
    assert client.delete(path, headers=anna_h).status_code == 200
    assert stored_files(settings) == set()


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "x-thumb.jpg", "a" * 32 + "-huge.jpg"])
def test_serving_refuses_names_it_did_not_make(client: TestClient, name: str) -> None:
    response = client.get(f"/api/photos/{name}")
    assert response.status_code == 404


def test_photo_url_for_the_bot(
    client: TestClient, anna_h: Headers, db: Session, anna: User
) -> None:
    item = post_item(client, anna_h)
    upload(client, anna_h, item["id"], png_with_alpha(), "image/png")
    photo = db.scalars(select(ItemPhoto)).one()
    url = photos.photo_url(photo, "display", public_url="https://market.example/")
    assert url == f"https://market.example/api/photos/{photo.key}-display.jpg"
    assert client.get(url.removeprefix("https://market.example")).status_code == 200


def test_a_photo_follows_its_items_visibility(
    client: TestClient,
    anna_h: Headers,
    boris_h: Headers,
    admin_h: Headers,
    anna: User,
    db: Session,
) -> None:
    item = post_item(client, anna_h)
    photo = upload(client, anna_h, item["id"], jpeg_with_exif(), "image/jpeg").json()
    missing = "0" * 32 + "-display.jpg"
    nowhere = client.get(f"/api/photos/{missing}")
    assert nowhere.status_code == 404

    def hidden_to(headers: Headers, url: str) -> bool:
        """True when the photo answers exactly like one that does not exist."""
        answer = client.get(url, headers=headers)
        # Even a client that kept the ETag learns nothing: 404, not 304.
        etag = f'"{url.rsplit("/", 1)[1]}"'
        revalidated = client.get(url, headers={**headers, "If-None-Match": etag})
        return (answer.status_code, answer.json()) == (404, nowhere.json()) and (
            revalidated.status_code == 404
        )

    listed = client.get(photo["url"])
    assert listed.status_code == 200 and listed.headers["cache-control"].startswith("public")

    # Withdrawn: gone for anonymous visitors and strangers, still there for its owner and admins.
    assert client.delete(f"/api/items/{item['id']}", headers=anna_h).status_code == 200
    for url in (photo["url"], photo["thumb_url"]):
        assert hidden_to({}, url) and hidden_to(boris_h, url)
        for headers in (anna_h, admin_h):
            shown = client.get(url, headers=headers)
            assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
            # Seen by a few only: no shared cache may keep it.
            assert shown.headers["cache-control"] == "private, max-age=31536000, immutable"

    # Listed again: public again.
    assert client.post(f"/api/items/{item['id']}/reactivate", headers=anna_h).status_code == 200
    assert client.get(photo["url"]).status_code == 200

    # An owner's ban hides their items, photos included.
    users.set_banned(db, actor=OPERATOR, user=anna, banned=True)
    db.commit()
    assert hidden_to({}, photo["url"]) and hidden_to(boris_h, photo["url"])
    assert client.get(photo["url"], headers=admin_h).status_code == 200
