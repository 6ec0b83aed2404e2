"""Listing categories."""

from __future__ import annotations

from fastapi import APIRouter

from freemarket.api.deps import DbSession
from freemarket.api.schemas import CategoryOut
from freemarket.domain.categories import list_categories

router = APIRouter(prefix="/api/categories", tags=["categories"])


@router.get("", response_model=list[CategoryOut])
def categories(db: DbSession) -> list[CategoryOut]:
    """Every category with its Russian and English name."""
    return [CategoryOut.model_validate(c) for c in list_categories(db)]
