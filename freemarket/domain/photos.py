"""Photos of items: checked by content, stripped of metadata, resized, stored per upload.

An upload is decoded with Pillow whatever name or type the client claims: only JPEG, PNG, WebP
and GIF images are accepted, oriented by their EXIF tag and then re-encoded as plain JPEG, which
drops EXIF (GPS position, camera serial) and every other embedded block. Each photo is kept in
two sizes, a thumbnail for cards and a display size for the item page and the bot.

Files and rows follow one transaction: an upload writes its files before the row and removes
them again if the transaction does not commit; a deletion removes the files only once it has
committed, so a failed commit never leaves a row without its picture. Every upload has files of
its own (a random key, never shared), so removing them can never break another photo.
"""

from __future__ import annotations

import io
import secrets
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from freemarket.db.models import Item, ItemPhoto, User
from freemarket.db.session import after_commit, after_rollback
from freemarket.domain import items, visibility
from freemarket.domain.permissions import authorize_owner_or_admin
from freemarket.errors import Conflict, InvalidInput, NotFound
from freemarket.infra.storage import PhotoStorage, check_name

MAX_PHOTOS_PER_ITEM = 5
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF"})
# Longest side of each stored size, in pixels.
SIZES: dict[str, int] = {"thumb": 400, "display": 1280}
Size = Literal["thumb", "display"]
# A small file can declare a gigantic canvas (a "decompression bomb"): refuse before decoding.
MAX_PIXELS = 50_000_000
MIN_SIDE = 16
JPEG_QUALITY = 85
CONTENT_TYPE = "image/jpeg"


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    """An upload turned into the stored sizes."""

    width: int
    height: int
    files: dict[str, bytes]


def object_name(key: str, size: str) -> str:
    """The storage name of one size of a photo."""
    return f"{key}-{size}.jpg"


def photo_path(key: str, size: Size) -> str:
    """Where the API serves this size of a photo (relative to the site)."""
    return f"/api/photos/{object_name(key, size)}"


def photo_url(photo: ItemPhoto, size: Size, *, public_url: str) -> str:
    """The absolute address of one size of a photo (what the bot sends to Telegram)."""
    return public_url.rstrip("/") + photo_path(photo.key, size)


def _too_many_pixels() -> InvalidInput:
    return InvalidInput(
        f"the image has more than {MAX_PIXELS} pixels",
        code="photo_too_many_pixels",
        max_pixels=MAX_PIXELS,
    )


def _decode(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns about a huge canvas below twice its own limit: refuse it too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise InvalidInput(
                    f"photos must be JPEG, PNG, WebP or GIF, not {image.format}",
                    code="photo_format",
                    format=image.format,
                )
            if image.width * image.height > MAX_PIXELS:
                raise _too_many_pixels()
            image.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning) as exc:
        # Pillow reports truncated or malformed files through all of these.
        raise InvalidInput("this file is not a readable image", code="photo_not_image") from exc
    if min(image.size) < MIN_SIDE:
        raise InvalidInput(
            f"the image is smaller than {MIN_SIDE} pixels on a side",
            code="photo_too_small",
            min_side=MIN_SIDE,
        )
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG: transparency over white, palettes and greyscale expanded."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGB", rgba.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return image.convert("RGB")


def process_image(data: bytes) -> ProcessedPhoto:
    """Check an upload by its content and produce the stored sizes (no metadata kept)."""
    image = _flatten(ImageOps.exif_transpose(_decode(data)))
    files: dict[str, bytes] = {}
    for size, side in SIZES.items():
        copy = image.copy()
        copy.thumbnail((side, side), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # No exif= and no icc_profile=: the new file carries pixels only.
        copy.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        files[size] = out.getvalue()
    display = Image.open(io.BytesIO(files["display"]))
    return ProcessedPhoto(width=display.width, height=display.height, files=files)


def _remove_files(storage: PhotoStorage, key: str) -> None:
    """Delete every stored size of a photo."""
    for size in SIZES:
        storage.delete(object_name(key, size))


def add_photo(
    session: Session,
    *,
    actor: User,
    item_id: int,
    data: bytes,
    storage: PhotoStorage,
    max_bytes: int,
) -> ItemPhoto:
    """Attach a photo to the actor's item (admins: any item, audited); at most five per item."""
    item = items.get_item(session, item_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=item.user_id,
        action="add_photo",
        target_type="item",
        target_id=item.id,
    )
    if not item.active:
        raise Conflict(f"item {item.id} is no longer active", code="item_inactive", item_id=item.id)
    if len(data) > max_bytes:
        raise InvalidInput(
            f"photos may be at most {max_bytes} bytes",
            code="photo_too_large",
            max_bytes=max_bytes,
        )
    count, last = session.execute(
        select(func.count(ItemPhoto.id), func.max(ItemPhoto.position)).where(
            ItemPhoto.item_id == item.id
        )
    ).one()
    if count >= MAX_PHOTOS_PER_ITEM:
        raise Conflict(
            f"an item has at most {MAX_PHOTOS_PER_ITEM} photos",
            code="photo_limit",
            max=MAX_PHOTOS_PER_ITEM,
        )
    processed = process_image(data)
    # 128 random bits: unique to this upload, and unguessable (a photo of a hidden item stays
    # unlisted). Registered before the first write, so a half-written upload is cleaned too.
    key = secrets.token_hex(16)
    after_rollback(session, lambda: _remove_files(storage, key))
    for size, content in processed.files.items():
        storage.put(object_name(key, size), content, CONTENT_TYPE)
    # Two uploads racing for the same position: the unique key lets one in, the other is a 409.
    photo = ItemPhoto(
        item_id=item.id,
        position=(last + 1) if last is not None else 0,
        key=key,
        width=processed.width,
        height=processed.height,
    )
    session.add(photo)
    session.flush()
    session.refresh(item, attribute_names=["photos"])
    return photo


def delete_photo(
    session: Session, *, actor: User, item_id: int, photo_id: int, storage: PhotoStorage
) -> Item:
    """Remove a photo from the actor's item; its files go once the removal has committed."""
    item = items.get_item(session, item_id)
    photo = session.get(ItemPhoto, photo_id)
    if photo is None or photo.item_id != item.id:
        raise NotFound(f"photo {photo_id} not found", code="photo_not_found", photo_id=photo_id)
    authorize_owner_or_admin(
        session,
        actor=actor,
        owner_id=item.user_id,
        action="delete_photo",
        target_type="item",
        target_id=item.id,
        details={"photo_id": photo_id},
    )
    key = photo.key
    session.delete(photo)
    session.flush()
    # Photos stored by content hash (before per-upload keys) may share files: keep those.
    if session.scalar(select(ItemPhoto.id).where(ItemPhoto.key == key).limit(1)) is None:
        after_commit(session, lambda: _remove_files(storage, key))
    session.refresh(item, attribute_names=["photos"])
    return item


@dataclass(frozen=True, slots=True)
class ServedPhoto:
    """A stored size of a photo, and whether anyone may see it (its item is listed)."""

    data: bytes
    public: bool


def read_photo(
    session: Session, *, storage: PhotoStorage, name: str, viewer: User | None
) -> ServedPhoto:
    """A stored size (`<key>-<size>.jpg`) of a photo of an item `viewer` may see, or NotFound."""
    try:
        check_name(name)
    except ValueError as exc:
        raise NotFound("photo not found", code="photo_not_found") from exc
    key = name.partition("-")[0]
    item = session.scalar(
        select(Item)
        .join(ItemPhoto, ItemPhoto.item_id == Item.id)
        .where(ItemPhoto.key == key)
        .options(joinedload(Item.owner))
        .limit(1)
    )
    # A photo of an item the viewer may not see answers exactly like one that does not exist.
    visible = item is not None and visibility.may_see_item(session, item=item, viewer=viewer)
    data = storage.get(name) if visible else None
    if data is None:
        raise NotFound("photo not found", code="photo_not_found")
    return ServedPhoto(data=data, public=visibility.is_listed(item))
