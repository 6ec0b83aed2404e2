"""Listing categories."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from freemarket.api.schemas import CategoryOut
from freemarket.db.session import unit_of_work
from freemarket.domain.categories import list_categories

router = APIRouter(prefix="/api/categories", tags=["categories"])

# Categories change only with a migration: each process renders the list once a minute at most
# (so a migration shows within a minute without a restart), and browsers revalidate it with
# If-None-Match after five.
SERVER_CACHE_SECONDS = 60.0
CACHE_CONTROL = "public, max-age=300"
_LIST = TypeAdapter(list[CategoryOut])


@dataclass(frozen=True, slots=True)
class RenderedCategories:
    """The JSON body of the list, its ETag, and when it goes stale in this process."""

    body: bytes
    etag: str
    stale_at: float


def _render(app: FastAPI) -> RenderedCategories:
    with unit_of_work(app.state.engine) as session:
        rows = [CategoryOut.model_validate(c) for c in list_categories(session)]
    body = _LIST.dump_json(rows)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return RenderedCategories(body, etag, time.monotonic() + SERVER_CACHE_SECONDS)


def _matches(if_none_match: str, etag: str) -> bool:
    """True when an If-None-Match header names `etag` (weak or strong) or is `*`."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


@router.get("", response_model=list[CategoryOut])
async def categories(request: Request) -> Response:
    """Every category with its Russian and English name, in display order."""
    app = request.app
    rendered: RenderedCategories | None = getattr(app.state, "categories", None)
    if rendered is None or rendered.stale_at <= time.monotonic():
        rendered = await run_in_threadpool(_render, app)
        app.state.categories = rendered
    headers = {"ETag": rendered.etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, media_type="application/json", headers=headers)
