"""Database schema (SQLAlchemy 2 declarative). Changes go through alembic migrations in
``migrations/versions`` (applied when a ``Database`` opens, by :func:`stockpile.reconcile.db.engine.migrate`).

Quantities are exact integers or decimals stored as text (token base units exceed 64 bits and
SQLite has no exact NUMERIC); times are unix seconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from stockpile.reconcile.custody.schema import FIELD_LIMITS as LIM

ID = BigInteger().with_variant(Integer, "sqlite")  # INTEGER PRIMARY KEY is SQLite's rowid alias


class Base(DeclarativeBase):
    pass


class Snapshot(Base):
    """One ingested export: a custody export, or the lot list an attestation was built from."""

    __tablename__ = "snapshots"
    __table_args__ = (UniqueConstraint("kind", "content_hash", "parse_options", name="uq_snapshots_kind_hash_options"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), default="custody")  # custody | attested
    content_hash: Mapped[str] = mapped_column(String(64))
    # keccak256 of the file bytes (0x-hex): what an attestation's reportHash holds when the
    # custodian's report is this export (stockpile.reserve.models.report_hash)
    report_hash: Mapped[str | None] = mapped_column(String(66), nullable=True, index=True)
    source: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(8))
    as_of: Mapped[int] = mapped_column(BigInteger)
    ingested_at: Mapped[int] = mapped_column(BigInteger)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    meta: Mapped[str] = mapped_column(Text, default="{}")
    rejects_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    # how the bytes were read (format, decimal separator, delimiter): the same file read another
    # way is another snapshot (ExportMeta.parse_options)
    parse_options: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # distinct lot ids among the stored lots (migration 0007; NULL before): == accepted means no lot id
    # repeats across the snapshot's warehouses
    distinct_lot_ids: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SnapshotWarehouse(Base):
    """Which warehouses a snapshot covers, and as of when (a view takes the latest per warehouse)."""

    __tablename__ = "snapshot_warehouses"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(LIM["warehouse_id"]), primary_key=True)
    as_of: Mapped[int] = mapped_column(BigInteger, index=True)
    lots: Mapped[int] = mapped_column(Integer, default=0)


class LotRecord(Base):
    """One lot of a snapshot. On PostgreSQL the foreign key to snapshots has no check trigger
    (migration 0006: lots are written with their snapshot, in its transaction, and never deleted)."""

    __tablename__ = "lots"
    __table_args__ = (Index("ix_lots_snapshot_warehouse", "snapshot_id", "warehouse_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    warehouse_id: Mapped[str] = mapped_column(String(LIM["warehouse_id"]))
    lot_id: Mapped[str] = mapped_column(String(LIM["lot_id"]))
    product_code: Mapped[str] = mapped_column(String(LIM["product_code"]))
    form: Mapped[str] = mapped_column(String(LIM["form"]))
    purity_ppm: Mapped[int] = mapped_column(Integer)
    gross_quantity: Mapped[str] = mapped_column(String(LIM["gross_quantity"]))
    net_quantity: Mapped[str] = mapped_column(String(LIM["net_quantity"]))
    unit: Mapped[str] = mapped_column(String(LIM["unit"]))
    assay_ref: Mapped[str] = mapped_column(String(LIM["assay_ref"]))
    status: Mapped[str] = mapped_column(String(LIM["status"]))
    as_of: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[str] = mapped_column(String(80))  # token base units, decimal integer text
    leaf: Mapped[bytes] = mapped_column(LargeBinary(32))


class ReserveLeaves(Base):
    """The reserve lots (in_stock, allocated) of one product in one warehouse of a snapshot: their
    Merkle leaves sorted and concatenated (32 bytes each), count and total base units. Written at
    ingestion; a custody view's roots and totals come from here (migration 0005)."""

    __tablename__ = "reserve_leaves"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(LIM["warehouse_id"]), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(LIM["product_code"]), primary_key=True)
    lots: Mapped[int] = mapped_column(Integer)
    total: Mapped[str] = mapped_column(String(80))  # token base units, decimal integer text
    leaves: Mapped[bytes] = mapped_column(LargeBinary)


class RejectRecord(Base):
    __tablename__ = "rejects"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)


class AttestedRoot(Base):
    """Per product Merkle root of an ``attested`` snapshot (to find the list of an attestation)."""

    __tablename__ = "attested_roots"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("snapshots.id", ondelete="CASCADE"))
    product_code: Mapped[str] = mapped_column(String(64))
    root: Mapped[str] = mapped_column(String(66), index=True)
    total: Mapped[str] = mapped_column(String(80))
    lot_count: Mapped[int] = mapped_column(Integer)


class ChainCheckpoint(Base):
    __tablename__ = "chain_checkpoints"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # chain id : contract addresses
    chain_id: Mapped[int] = mapped_column(BigInteger)
    start_block: Mapped[int] = mapped_column(BigInteger)
    last_block: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(66))
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ChainBlock(Base):
    """Hashes of blocks the sync has relied on (checkpoints, blocks with events): reorg detection."""

    __tablename__ = "chain_blocks"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int] = mapped_column(BigInteger)


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_events_log"),
        Index("ix_chain_events_product_block", "chain_id", "product_code", "block_number"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    product_code: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(42))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)  # JSON, ints as decimal strings


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    started_at: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # running | clean | breaks | failed
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="{}")


class BreakRecord(Base):
    __tablename__ = "breaks"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    lot_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    amount: Mapped[str | None] = mapped_column(String(80), nullable=True)
    evidence: Mapped[str] = mapped_column(Text)


class RunProduct(Base):
    """Per run and product: the figures an auditor follows over time (history chart, portal)."""

    __tablename__ = "run_products"
    __table_args__ = (Index("ix_run_products_product_run", "product_code", "run_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    product_code: Mapped[str] = mapped_column(String(64))
    chain_id: Mapped[int] = mapped_column(BigInteger)
    token: Mapped[str] = mapped_column(String(42))  # lower-case address
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_time: Mapped[int] = mapped_column(BigInteger)
    total_supply: Mapped[str] = mapped_column(String(80))  # token base units
    attested_reserve: Mapped[str | None] = mapped_column(String(80), nullable=True)
    custody_reserve: Mapped[str] = mapped_column(String(80))
    collateralisation_ratio: Mapped[str | None] = mapped_column(String(40), nullable=True)  # decimal text, rounded down
    breaks: Mapped[int] = mapped_column(Integer)
    breaks_by_severity: Mapped[str] = mapped_column(Text, default="{}")  # JSON {severity: count}
