"""The listing categories."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Category


def list_categories(session: Session) -> list[Category]:
    """Every category in display order."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.slug)))


# Slugs seen to exist, per database. Categories come and go only with a migration, so a slug
# found once is asked about no more in this process: every posted item checked its category
# with a query of its own (7 % of POST /api/items/'s thread time, issue 14). An unknown slug is
# always asked again, so a category a migration adds is known at once.
_known: dict[str, set[str]] = {}


def exists(session: Session, slug: str) -> bool:
    """True when `slug` names a category."""
    known = _known.setdefault(str(session.get_bind().url), set())
    if slug in known:
        return True
    if session.get(Category, slug) is None:
        return False
    known.add(slug)
    return True
