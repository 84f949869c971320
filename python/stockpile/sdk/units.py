"""Quantities: Decimal in product units or int in token base units, never float."""

from __future__ import annotations

from decimal import Decimal

from stockpile.errors import StockpileError


class QuantityError(StockpileError, ValueError):
    pass


def to_units(amount: Decimal | int | str, decimals: int) -> int:
    """Product units (Decimal or numeric string) -> token base units. An ``int`` is taken as
    base units already. Floats are refused, as are values finer than the token's decimals."""
    if isinstance(amount, (bool, float)):
        raise QuantityError(f"quantities are Decimal (product units) or int (base units), not {type(amount).__name__}: {amount!r}")
    if isinstance(amount, int):
        units = amount
    else:
        try:
            d = Decimal(amount)
        except Exception:
            raise QuantityError(f"not a decimal quantity: {amount!r}") from None
        if not d.is_finite():
            raise QuantityError(f"not a finite quantity: {amount!r}")
        scaled = d.scaleb(decimals)
        if scaled != scaled.to_integral_value():
            raise QuantityError(f"{amount} has more than {decimals} decimal places")
        units = int(scaled)
    if units < 0:
        raise QuantityError(f"negative quantity: {amount!r}")
    return units


def from_units(units: int, decimals: int) -> Decimal:
    return Decimal(units).scaleb(-decimals)
