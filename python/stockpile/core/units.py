"""Quantities: Decimal in product units or int in token base units, never float; and the one
table of mass units (custody exports, price units)."""

from __future__ import annotations

from decimal import Decimal

from stockpile.errors import StockpileError

# Exact factors to grams (the pound and the troy ounce are defined exactly). ``t`` and ``mt`` are
# both the metric tonne (LME and SMM quote USD/mt); short and long tons are not accepted.
MASS_IN_GRAMS: dict[str, Decimal] = {
    "mg": Decimal("0.001"),
    "g": Decimal(1),
    "kg": Decimal(1000),
    "t": Decimal(1_000_000),
    "mt": Decimal(1_000_000),
    "lb": Decimal("453.59237"),
    "ozt": Decimal("31.1034768"),  # troy ounce
}


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
