"""item search terms: analysed terms per item for relevance search, and the index's state

Revision ID: 0010_item_search_terms
Revises: 0009_display_name_fits_telegram
Create Date: 2026-12-03 10:00:00

The terms are not computed here: the analyser (and its lexicon) lives in the application and
changes over time, so the state row starts without a fingerprint and the first worker start or
recompute writes every existing item's terms (items saved from then on are indexed as they are
saved).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from freemarket.db.models import UTCDateTime

revision = "0010_item_search_terms"
down_revision = "0009_display_name_fits_telegram"
branch_labels = None
depends_on = None

# The ids of the initial schema: 64-bit, but an autoincrementing rowid on SQLite.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "item_search_terms",
        sa.Column("term", sa.String(64), nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_search_terms_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "item_id", name=op.f("pk_item_search_terms")),
    )
    op.create_index("ix_item_search_terms_item_id", "item_search_terms", ["item_id"])
    state = op.create_table(
        "search_index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_state")),
    )
    op.bulk_insert(state, [{"id": 1, "fingerprint": None, "updated_at": None}])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("search_index_state")
    op.drop_index("ix_item_search_terms_item_id", table_name="item_search_terms")
    op.drop_table("item_search_terms")
