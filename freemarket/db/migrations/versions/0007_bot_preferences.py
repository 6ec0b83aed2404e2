"""bot: notification preferences on users, a skipped outbox status

Revision ID: 0007_bot_preferences
Revises: 0006_item_photos
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_bot_preferences"
down_revision = "0006_item_photos"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'dead')"
NEW_STATUSES = "status IN ('pending', 'sending', 'sent', 'failed', 'dead', 'skipped')"
QUIET_HOURS = (
    "(quiet_start IS NULL AND quiet_end IS NULL) OR "
    "(quiet_start BETWEEN 0 AND 23 AND quiet_end BETWEEN 0 AND 23)"
)


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify_telegram", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("digest_enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("quiet_start", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quiet_end", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(batch_op.f("ck_users_quiet_hours"), QUIET_HOURS)
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notifications_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notifications_status"), NEW_STATUSES)


def downgrade() -> None:
    """Revert this revision (skipped rows become dead: neither was delivered)."""
    op.execute("UPDATE notifications SET status = 'dead' WHERE status = 'skipped'")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_notifications_status"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_notifications_status"), OLD_STATUSES)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_users_quiet_hours"), type_="check")
        batch_op.drop_column("time_zone")
        batch_op.drop_column("quiet_end")
        batch_op.drop_column("quiet_start")
        batch_op.drop_column("digest_enabled")
        batch_op.drop_column("notify_telegram")
