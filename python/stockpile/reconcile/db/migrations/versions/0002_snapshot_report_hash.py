"""snapshots.report_hash: keccak256 of the export file, as put in an attestation's reportHash

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("report_hash", sa.String(length=66), nullable=True))
        batch_op.create_index("ix_snapshots_report_hash", ["report_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_snapshots_report_hash")
        batch_op.drop_column("report_hash")
