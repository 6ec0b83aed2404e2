"""Photos of items: upload, delete, and serve with long-lived cache headers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from starlette.concurrency import run_in_threadpool

from freemarket.api.deps import (
    OPTIONAL_AUTH,
    AppSettings,
    CurrentUser,
    DbSession,
    OptionalUser,
)
from freemarket.api.schemas import ItemOut, PathId, PhotoOut
from freemarket.domain import photos
from freemarket.infra.storage import PhotoStorage

router = APIRouter(tags=["photos"])

# A photo's name is made once per upload: the bytes behind a name never change.
IMMUTABLE = "public, max-age=31536000, immutable"
# A photo of an unlisted item is shown only to some viewers: no shared cache may keep it.
PRIVATE_IMMUTABLE = "private, max-age=31536000, immutable"
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            f"The image file itself, at least {photos.MIN_SIDE} pixels a side and at most "
            "PHOTO_MAX_BYTES; anything else is answered 422 with the reason"
        ),
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("image/jpeg", "image/png", "image/webp", "image/gif")
        },
    }
}


def get_storage(request: Request) -> PhotoStorage:
    """The app's photo storage (a directory or an S3 bucket)."""
    return request.app.state.photo_storage


Storage = Annotated[PhotoStorage, Depends(get_storage)]


@router.post(
    "/api/items/{item_id}/photos",
    status_code=status.HTTP_201_CREATED,
    response_model=PhotoOut,
    openapi_extra=UPLOAD_BODY,
)
async def upload_photo(
    item_id: PathId,
    request: Request,
    db: DbSession,
    actor: CurrentUser,
    storage: Storage,
    settings: AppSettings,
) -> PhotoOut:
    """Add a photo to your item (at most 5); EXIF is stripped, two sizes are stored."""
    data = await request.body()
    # Decoding and resizing take a while: off the event loop, like every sync endpoint.
    photo = await run_in_threadpool(
        photos.add_photo,
        db,
        actor=actor,
        item_id=item_id,
        data=data,
        storage=storage,
        max_bytes=settings.photo_max_bytes,
    )
    return PhotoOut.model_validate(photo)


@router.delete("/api/items/{item_id}/photos/{photo_id}", response_model=ItemOut)
def delete_photo(
    item_id: PathId, photo_id: PathId, db: DbSession, actor: CurrentUser, storage: Storage
) -> ItemOut:
    """Remove a photo from your item."""
    item = photos.delete_photo(db, actor=actor, item_id=item_id, photo_id=photo_id, storage=storage)
    return ItemOut.model_validate(item)


@router.get(
    "/api/photos/{name}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The JPEG file"}},
    openapi_extra=OPTIONAL_AUTH,
)
def serve_photo(
    name: str, request: Request, db: DbSession, storage: Storage, viewer: OptionalUser
) -> Response:
    """One size of a photo (`<key>-thumb.jpg` or `<key>-display.jpg`) of an item you may see."""
    etag = f'"{name}"'
    # Checked before the ETag: a hidden item's photo is a 404 even to a cache that kept it.
    photo = photos.read_photo(db, storage=storage, name=name, viewer=viewer)
    headers = {"Cache-Control": IMMUTABLE if photo.public else PRIVATE_IMMUTABLE, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(content=photo.data, media_type=photos.CONTENT_TYPE, headers=headers)
