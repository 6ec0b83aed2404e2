"""ratings remember when they were revealed; only revealed ones move trust

Revision ID: 0011_ratings_revealed_at
Revises: 0010_item_search_terms
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import freemarket.db.models

revision = "0011_ratings_revealed_at"
down_revision = "0010_item_search_terms"
branch_labels = None
depends_on = None

# The reveal rule until now, with its default period: answered, or older than 14 days.
ALREADY_SHOWN = """
UPDATE ratings SET revealed_at = created_at
WHERE EXISTS (
    SELECT 1 FROM ratings AS answer
    WHERE answer.tx_id = ratings.tx_id
      AND answer.from_user_id = ratings.to_user_id
      AND answer.to_user_id = ratings.from_user_id
) OR created_at <= :cutoff
"""


def upgrade() -> None:
    """Add ratings.revealed_at, set for the ratings that were already shown."""
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("revealed_at", freemarket.db.models.UTCDateTime(timezone=True), nullable=True)
        )
    cutoff = sa.bindparam("cutoff", type_=freemarket.db.models.UTCDateTime())
    op.get_bind().execute(
        sa.text(ALREADY_SHOWN).bindparams(cutoff),
        {"cutoff": datetime.now(UTC) - timedelta(days=14)},
    )


def downgrade() -> None:
    """Drop ratings.revealed_at."""
    with op.batch_alter_table("ratings", schema=None) as batch_op:
        batch_op.drop_column("revealed_at")
