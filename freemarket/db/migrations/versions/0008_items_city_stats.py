"""statistics on lower(city), so PostgreSQL plans city filters on item lists well

Revision ID: 0008_items_city_stats
Revises: 0007_bot_preferences
Create Date: 2026-12-02 20:40:00

The item list filters cities case-insensitively (`lower(city) LIKE lower(:city)`). Without
statistics on that expression PostgreSQL guesses it matches almost nothing, fetches every
active item of the kind and category and sorts them (43-74 ms at 100k items); with them it
reads the newest items in id order and stops after a page (about 1 ms). SQLite has no such
statistics and needs none at its sizes.
"""

from __future__ import annotations

from alembic import op

revision = "0008_items_city_stats"
down_revision = "0007_bot_preferences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS IF NOT EXISTS items_lower_city ON (lower(city)) FROM items")
        op.execute("ANALYZE items")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS items_lower_city")
