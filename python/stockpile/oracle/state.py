"""Feeder state in SQLite (any SQLAlchemy URL): published rounds and pending transactions.

A transaction is recorded *before* it is broadcast and updated with every replacement, so a
restart finds it and resolves it (mined, superseded, or dropped) before publishing again."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String, Text, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Published(Base):
    __tablename__ = "published"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_address: Mapped[str] = mapped_column(String(42), index=True)
    symbol: Mapped[str] = mapped_column(String(64), index=True)
    round_id: Mapped[int] = mapped_column(BigInteger)
    answer: Mapped[str] = mapped_column(String(80))  # integer answer as text (exact)
    value: Mapped[str] = mapped_column(String(80))  # Decimal in the feed unit, as text
    observed_at: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    published_at: Mapped[float] = mapped_column(Float)


class PendingTx(Base):
    __tablename__ = "pending_tx"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_address: Mapped[str] = mapped_column(String(42), index=True)
    sender: Mapped[str] = mapped_column(String(42))
    nonce: Mapped[int] = mapped_column(BigInteger)
    tx_hashes: Mapped[str] = mapped_column(Text, default="[]")  # JSON list, latest last
    payload: Mapped[str] = mapped_column(Text)  # JSON: symbols, rounds, answers, values, observed_at
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|mined|dropped|superseded
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class State:
    def __init__(self, url: str):
        self.engine = create_engine(url, future=True)
        Base.metadata.create_all(self.engine)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # pending transactions
    def add_pending(self, feed_address: str, sender: str, nonce: int, tx_hash: str, payload: dict[str, Any]) -> int:
        now = time.time()
        with self.session() as s, s.begin():
            row = PendingTx(feed_address=feed_address, sender=sender, nonce=nonce, tx_hashes=json.dumps([tx_hash]),
                            payload=json.dumps(payload), status="pending", created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            return row.id

    def add_replacement(self, pending_id: int, tx_hash: str) -> None:
        with self.session() as s, s.begin():
            row = s.get(PendingTx, pending_id)
            if row is None:
                raise KeyError(f"no pending transaction {pending_id}")
            hashes = json.loads(row.tx_hashes)
            if tx_hash not in hashes:
                hashes.append(tx_hash)
            row.tx_hashes = json.dumps(hashes)
            row.updated_at = time.time()

    def set_status(self, pending_id: int, status: str) -> None:
        with self.session() as s, s.begin():
            row = s.get(PendingTx, pending_id)
            if row is None:
                raise KeyError(f"no pending transaction {pending_id}")
            row.status = status
            row.updated_at = time.time()

    def pending(self, feed_address: str) -> list[PendingTx]:
        with self.session() as s:
            return list(s.scalars(select(PendingTx).where(
                PendingTx.feed_address == feed_address, PendingTx.status == "pending").order_by(PendingTx.nonce)))

    # published rounds
    def record_published(self, feed_address: str, symbol: str, round_id: int, answer: int, value: str,
                         observed_at: int, tx_hash: str) -> bool:
        """Record a round once (idempotent: a round already recorded is not added again)."""
        with self.session() as s, s.begin():
            exists = s.scalar(select(Published.id).where(
                Published.feed_address == feed_address, Published.symbol == symbol, Published.round_id == round_id))
            if exists:
                return False
            s.add(Published(feed_address=feed_address, symbol=symbol, round_id=round_id, answer=str(answer),
                            value=value, observed_at=observed_at, tx_hash=tx_hash, published_at=time.time()))
            return True

    def last_published(self, feed_address: str, symbol: str) -> Published | None:
        with self.session() as s:
            return s.scalar(select(Published).where(
                Published.feed_address == feed_address, Published.symbol == symbol).order_by(Published.round_id.desc()).limit(1))

    def published(self, feed_address: str, symbol: str) -> list[Published]:
        with self.session() as s:
            return list(s.scalars(select(Published).where(
                Published.feed_address == feed_address, Published.symbol == symbol).order_by(Published.round_id)))
