"""run_products: per run and product, supply, reserves, collateralisation and break counts (history)

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_products",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_code", sa.String(length=64), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("total_supply", sa.String(length=80), nullable=False),
        sa.Column("attested_reserve", sa.String(length=80), nullable=True),
        sa.Column("custody_reserve", sa.String(length=80), nullable=False),
        sa.Column("collateralisation_ratio", sa.String(length=40), nullable=True),
        sa.Column("breaks", sa.Integer(), nullable=False),
        sa.Column("breaks_by_severity", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_products_run_id", "run_products", ["run_id"], unique=False)
    op.create_index("ix_run_products_product_run", "run_products", ["product_code", "run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_run_products_product_run", table_name="run_products")
    op.drop_index("ix_run_products_run_id", table_name="run_products")
    op.drop_table("run_products")
