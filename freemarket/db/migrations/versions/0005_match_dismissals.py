"""match dismissals ("not interested")

Revision ID: 0005_match_dismissals
Revises: 0004
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from freemarket.db.models import UTCDateTime

revision = "0005_match_dismissals"
down_revision = "0004"
branch_labels = None
depends_on = None

# The ids of the initial schema: 64-bit, but an autoincrementing rowid on SQLite.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "match_dismissals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("want_item_id", _ID, nullable=False),
        sa.Column("offer_item_id", _ID, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_match_dismissals_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["want_item_id"],
            ["items.id"],
            name=op.f("fk_match_dismissals_want_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["offer_item_id"],
            ["items.id"],
            name=op.f("fk_match_dismissals_offer_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_dismissals")),
        sa.UniqueConstraint(
            "user_id", "want_item_id", "offer_item_id", name="uq_match_dismissals_pair"
        ),
    )
    op.create_index(
        "ix_match_dismissals_want_offer",
        "match_dismissals",
        ["want_item_id", "offer_item_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_match_dismissals_want_offer", table_name="match_dismissals")
    op.drop_table("match_dismissals")
