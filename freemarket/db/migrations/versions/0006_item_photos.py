"""item photos

Revision ID: 0006_item_photos
Revises: 0005_match_dismissals
Create Date: 2026-12-02 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from freemarket.db.models import UTCDateTime

revision = "0006_item_photos"
down_revision = "0005_match_dismissals"
branch_labels = None
depends_on = None

# The ids of the initial schema: 64-bit, but an autoincrementing rowid on SQLite.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "item_photos",
        sa.Column("id", _ID, nullable=False),
        sa.Column("item_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_photos_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_photos")),
        sa.UniqueConstraint("item_id", "position", name="uq_item_photos_position"),
    )
    op.create_index("ix_item_photos_key", "item_photos", ["key"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_item_photos_key", table_name="item_photos")
    op.drop_table("item_photos")
