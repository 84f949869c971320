"""Storage: SQLAlchemy models, alembic migrations (applied on start), custody ingestion."""

from stockpile.reconcile.db.engine import DEFAULT_URL, make_engine, migrate, normalise_url

__all__ = ["DEFAULT_URL", "make_engine", "migrate", "normalise_url"]
