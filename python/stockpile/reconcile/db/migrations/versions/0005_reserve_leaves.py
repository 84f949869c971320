"""reserve_leaves: per snapshot, warehouse and product, the reserve lots' Merkle leaves (sorted,
concatenated), count and total, written at ingestion; roots and totals of a custody view are read
from here instead of from a million lot rows. Existing snapshots are filled in from their lots.

Revision ID: 0005
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reserve_leaves",
        sa.Column("snapshot_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("warehouse_id", sa.String(length=128), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("lots", sa.Integer(), nullable=False),
        sa.Column("total", sa.String(length=80), nullable=False),
        sa.Column("leaves", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "warehouse_id", "product_code"),
    )
    conn = op.get_bind()
    groups: dict[tuple, tuple[list[bytes], list[int]]] = {}
    for sid, wh, product, leaf, q in conn.execute(sa.text(
            "SELECT snapshot_id, warehouse_id, product_code, leaf, quantity FROM lots "
            "WHERE status IN ('allocated', 'in_stock')")):
        g = groups.setdefault((sid, wh, product), ([], []))
        g[0].append(bytes(leaf))
        g[1].append(int(q))
    table = sa.table("reserve_leaves", sa.column("snapshot_id"), sa.column("warehouse_id"), sa.column("product_code"),
                     sa.column("lots"), sa.column("total"), sa.column("leaves", sa.LargeBinary()))
    rows = [{"snapshot_id": sid, "warehouse_id": wh, "product_code": p, "lots": len(leaves), "total": str(sum(qs)),
             "leaves": b"".join(sorted(leaves))} for (sid, wh, p), (leaves, qs) in groups.items()]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("reserve_leaves")
