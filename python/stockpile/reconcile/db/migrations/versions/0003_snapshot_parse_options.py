"""snapshots.parse_options: an export's identity is its bytes and how they were read

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parse_options", sa.String(length=64), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_snapshots_kind_hash", type_="unique")
        batch_op.create_unique_constraint("uq_snapshots_kind_hash_options", ["kind", "content_hash", "parse_options"])


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_constraint("uq_snapshots_kind_hash_options", type_="unique")
        batch_op.create_unique_constraint("uq_snapshots_kind_hash", ["kind", "content_hash"])
        batch_op.drop_column("parse_options")
