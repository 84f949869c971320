"""The root of every exception the ``stockpile`` package raises.

``except stockpile.errors.StockpileError`` catches any of them; each subclass also keeps the
built-in base it had (``ValueError``, ``FileNotFoundError``, ...) where callers rely on it.
Contract reverts are ``stockpile.sdk.errors.ContractError`` subclasses (one per Solidity error).
"""

from __future__ import annotations


class StockpileError(Exception):
    """Base of every error the package raises."""
