"""a user's language may be unset: then Telegram's or the browser's language fills it in

Revision ID: 0013_language_unset
Revises: 0012_search_terms_by_weight
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_language_unset"
down_revision = "0012_search_terms_by_weight"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """users.language becomes nullable (existing accounts keep the language they have)."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=8), nullable=True)


def downgrade() -> None:
    """Unset languages become Russian, the old default, and the column is required again."""
    op.execute("UPDATE users SET language = 'ru' WHERE language IS NULL")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("language", existing_type=sa.String(length=8), nullable=False)
