"""The listing categories."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Category


def list_categories(session: Session) -> list[Category]:
    """Every category in display order."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.slug)))
