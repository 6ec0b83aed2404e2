"""Serve the built web UI (a single-page app) from the API process."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

# Paths the SPA must never shadow: the API answers these (or 404s) itself.
RESERVED_PREFIXES = ("api/", "health", "metrics", "docs", "openapi.json", "redoc", "telegram/")


def mount_web_ui(app: FastAPI, dist_dir: Path) -> bool:
    """Serve `dist_dir` at `/`, with index.html for client-side routes; False if not built."""
    index = dist_dir / "index.html"
    if not index.is_file():
        return False
    assets = dist_dir / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="web-assets")

    @app.get("/{path:path}", include_in_schema=False)
    def web_ui(path: str, request: Request) -> FileResponse:
        """A file of the build, or the app shell for any client-side route."""
        if path.startswith(RESERVED_PREFIXES):
            raise HTTPException(status_code=404, detail="not found")
        candidate = (dist_dir / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist_dir.resolve()):
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return True
