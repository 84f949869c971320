"""Unit and currency conversion of prices, in Decimal.

A price unit is ``CUR/MASS`` (e.g. ``USD/kg``, ``USD/t``, ``USD/lb``, ``CNY/kg``). FX rates are
quotes with unit ``QUOTE/BASE`` read as "QUOTE per 1 BASE" (``CNY/USD`` = 7.1 means 7.1 CNY for
1 USD).
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from stockpile.errors import StockpileError

from stockpile.core.units import MASS_IN_GRAMS, from_units

PRECISION = 50  # significant digits of intermediate results (local context, not the global one)

MASS_IN_KG: dict[str, Decimal] = {unit: grams.scaleb(-3) for unit, grams in MASS_IN_GRAMS.items()}  # exact


class UnitError(StockpileError, ValueError):
    pass


def parse_unit(unit: str) -> tuple[str, str]:
    try:
        currency, mass = unit.strip().split("/")
    except ValueError:
        raise UnitError(f"unit {unit!r} is not CURRENCY/MASS (e.g. USD/kg)") from None
    currency, mass = currency.strip().upper(), mass.strip()
    if mass not in MASS_IN_KG:
        raise UnitError(f"unknown mass unit {mass!r} in {unit!r}; known: {sorted(MASS_IN_KG)}")
    return currency, mass


def convert(value: Decimal, from_unit: str, to_unit: str, fx: dict[str, Decimal] | None = None) -> Decimal:
    """Convert a price. ``fx`` maps ``"QUOTE/BASE"`` to a rate (QUOTE per 1 BASE)."""
    if not isinstance(value, Decimal):
        raise TypeError("prices are Decimal, never float")
    from_cur, from_mass = parse_unit(from_unit)
    to_cur, to_mass = parse_unit(to_unit)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        # per from_mass -> per to_mass: multiply by (to_mass in kg) / (from_mass in kg)
        converted = value * MASS_IN_KG[to_mass] / MASS_IN_KG[from_mass]
        if from_cur != to_cur:
            multiply, rate = fx_rate(from_cur, to_cur, fx or {})
            converted = converted * rate if multiply else converted / rate
        return +converted


def fx_rate(from_cur: str, to_cur: str, fx: dict[str, Decimal]) -> tuple[bool, Decimal]:
    """(True, rate) to multiply by ``to_cur`` per ``from_cur``, or (False, rate) to divide by
    ``from_cur`` per ``to_cur`` (dividing by the quoted rate keeps results exact)."""
    direct = fx.get(f"{to_cur}/{from_cur}")  # to_cur per 1 from_cur
    if direct is not None:
        return True, _positive(Decimal(direct), f"{to_cur}/{from_cur}")
    inverse = fx.get(f"{from_cur}/{to_cur}")  # from_cur per 1 to_cur
    if inverse is not None:
        return False, _positive(Decimal(inverse), f"{from_cur}/{to_cur}")
    raise UnitError(f"no FX rate to convert {from_cur} to {to_cur} (need {from_cur}/{to_cur} or {to_cur}/{from_cur})")


def _positive(rate: Decimal, pair: str) -> Decimal:
    if not rate.is_finite() or rate <= 0:
        raise UnitError(f"FX rate {pair} is not a positive number: {rate}")
    return rate


def to_answer(value: Decimal, decimals: int) -> int:
    """Scale a price to the feed's integer answer (rounded half-even)."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return int((value.scaleb(decimals)).to_integral_value())


def from_answer(answer: int, decimals: int) -> Decimal:
    return from_units(answer, decimals)
