"""PostgreSQL: lots.snapshot_id without its foreign-key trigger

PostgreSQL checks a foreign key with a trigger per inserted row, a quarter of the time of
COPYing a million lots. Lot rows are only ever written in the transaction that inserts their
snapshot (Database.ingest) and never deleted, so the check cannot fail; SQLite keeps the
constraint (its check is an index probe).

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE lots DROP CONSTRAINT IF EXISTS lots_snapshot_id_fkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key("lots_snapshot_id_fkey", "lots", "snapshots", ["snapshot_id"], ["id"], ondelete="CASCADE")
