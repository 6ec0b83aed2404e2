"""search terms indexed by (term, weight, item): a one-word search stops after a page

Revision ID: 0012_search_terms_by_weight
Revises: 0011_ratings_revealed_at
Create Date: 2026-12-03 11:00:00

Without it a search for a common word ("велосипед": 3% of 100k listings) scores every item
having the word and joins all of them to items before sorting; with it PostgreSQL walks the
word's items heaviest first, joins each to its item for the filters, and stops at the page size.
"""

from __future__ import annotations

from alembic import op

revision = "0012_search_terms_by_weight"
down_revision = "0011_ratings_revealed_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_item_search_terms_term_weight", "item_search_terms", ["term", "weight", "item_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_item_search_terms_term_weight", table_name="item_search_terms")
