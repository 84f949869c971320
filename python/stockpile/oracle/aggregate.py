"""Aggregation across sources (freshness, outliers, garbage) and the publish policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median as _median

from stockpile.oracle.config import ProductConfig
from stockpile.oracle.sources import Quote
from stockpile.oracle.units import UnitError, convert
from stockpile.errors import StockpileError


@dataclass
class Rejection:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


class AggregationError(StockpileError):
    """No value for a product: says which sources were rejected and why."""

    def __init__(self, product: str, reason: str, rejected: list[Rejection] | None = None):
        self.product = product
        self.reason = reason
        self.rejected = rejected or []
        detail = "; ".join(str(r) for r in self.rejected)
        super().__init__(f"{product}: {reason}" + (f" [{detail}]" if detail else ""))


@dataclass
class Aggregate:
    product: str
    value: Decimal  # in the feed's unit
    used: list[Quote]
    rejected: list[Rejection] = field(default_factory=list)


def aggregate(
    product: ProductConfig,
    quotes: dict[str, Quote],  # by source name: the quote for this product's key in that source
    source_errors: dict[str, str],
    fx: dict[str, Decimal],
    now: float,
    last_published: Decimal | None = None,
) -> Aggregate:
    """Median of fresh, converted quotes with outliers removed; raises AggregationError with reasons."""
    rejected: list[Rejection] = []
    converted: list[tuple[Quote, Decimal]] = []
    for ps in product.sources:
        if ps.source in source_errors:
            rejected.append(Rejection(ps.source, source_errors[ps.source]))
            continue
        q = quotes.get(ps.source)
        if q is None:
            rejected.append(Rejection(ps.source, f"no price for key {ps.key!r}"))
            continue
        age = now - q.observed_at
        if age > product.max_age_seconds:
            rejected.append(Rejection(ps.source, f"stale: observed {age:.0f}s ago (max {product.max_age_seconds}s)"))
            continue
        if age < -60:
            rejected.append(Rejection(ps.source, f"timestamp {-age:.0f}s in the future"))
            continue
        try:
            value = convert(q.value, q.unit, product.unit, fx)
        except UnitError as exc:
            rejected.append(Rejection(ps.source, str(exc)))
            continue
        converted.append((q, value))
    if len(converted) < product.min_sources:
        raise AggregationError(
            product.symbol, f"{len(converted)} fresh source(s), {product.min_sources} needed", rejected)
    mid = Decimal(_median([v for _, v in converted]))
    kept = []
    for q, v in converted:
        dev_bps = abs(v - mid) / mid * 10000
        if len(converted) > 2 and dev_bps > product.outlier_bps:
            rejected.append(Rejection(
                q.source, f"outlier: {v:.6f} is {dev_bps:.0f} bps from the median {mid:.6f} (limit {product.outlier_bps})"))
        else:
            kept.append((q, v))
    if len(converted) == 2:  # two sources: they must agree with each other
        (q1, v1), (q2, v2) = converted
        spread = abs(v1 - v2) / mid * 10000
        if spread > 2 * product.outlier_bps:
            raise AggregationError(product.symbol, f"the two sources disagree by {spread:.0f} bps", rejected + [
                Rejection(q1.source, f"{v1:.6f}"), Rejection(q2.source, f"{v2:.6f}")])
    if len(kept) < product.min_sources:
        raise AggregationError(
            product.symbol, f"{len(kept)} source(s) left after outlier rejection, {product.min_sources} needed", rejected)
    value = Decimal(_median([v for _, v in kept]))
    if last_published is not None and last_published > 0:
        ratio = max(value / last_published, last_published / value)
        if ratio >= product.max_jump_ratio:
            raise AggregationError(
                product.symbol,
                f"jump: {value:.6f} is {ratio:.1f}x the last published {last_published:.6f} "
                f"(limit {product.max_jump_ratio}x); not published",
                rejected,
            )
    return Aggregate(product.symbol, value, [q for q, _ in kept], rejected)


@dataclass
class Decision:
    publish: bool
    reason: str


def should_publish(
    new_answer: int,
    last_answer: int | None,
    last_published_at: float | None,
    now: float,
    deviation_bps: int,
    heartbeat_seconds: int,
) -> Decision:
    """Push when the price moved at least ``deviation_bps`` or the heartbeat elapsed; else nothing."""
    if last_answer is None or last_published_at is None:
        return Decision(True, "first value")
    age = now - last_published_at
    if age >= heartbeat_seconds:
        return Decision(True, f"heartbeat: last push {age:.0f}s ago (>= {heartbeat_seconds}s)")
    moved_bps = abs(Decimal(new_answer - last_answer)) * 10000 / Decimal(abs(last_answer) or 1)
    if moved_bps >= deviation_bps:
        return Decision(True, f"deviation: moved {moved_bps:.1f} bps (>= {deviation_bps})")
    return Decision(False, f"moved {moved_bps:.1f} bps (< {deviation_bps}) and last push {age:.0f}s ago (< {heartbeat_seconds}s)")
