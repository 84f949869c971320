"""snapshots.distinct_lot_ids: how many distinct lot ids the snapshot's stored lots have (NULL for
snapshots ingested before); equal to ``accepted``, no lot id repeats across its warehouses, so a
custody view made of that one snapshot needs no duplicate-lot scan

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# plain ALTER TABLE (SQLite >= 3.35 adds and drops columns itself). A batch copy of snapshots would
# also be safe now: migrate() runs every migration with SQLite's foreign keys off (a copy-and-drop of
# snapshots with them on cascade-deleted its lots, rejects and leaf sets)


def upgrade() -> None:
    op.add_column("snapshots", sa.Column("distinct_lot_ids", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("snapshots", "distinct_lot_ids")
