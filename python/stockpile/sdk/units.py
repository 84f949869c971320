"""Quantities: Decimal in product units or int in token base units, never float (the package's
one conversion lives in ``stockpile.core.units``)."""

from stockpile.core.units import MASS_IN_GRAMS, QuantityError, from_units, to_units

__all__ = ["MASS_IN_GRAMS", "QuantityError", "from_units", "to_units"]
