"""display name fits a Telegram first and last name (64 + 1 + 64 characters)

Revision ID: 0009_display_name_fits_telegram
Revises: 0008_items_city_stats
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_display_name_fits_telegram"
down_revision = "0008_items_city_stats"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Widen users.display_name from 128 to 129 characters."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name", existing_type=sa.String(length=128), type_=sa.String(length=129)
        )


def downgrade() -> None:
    """Narrow it again, cutting the few names that use the 129th character."""
    op.execute("UPDATE users SET display_name = substr(display_name, 1, 128)")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "display_name", existing_type=sa.String(length=129), type_=sa.String(length=128)
        )
