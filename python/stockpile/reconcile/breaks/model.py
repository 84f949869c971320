"""A break: one place where custody books, attestation and chain disagree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stockpile.reconcile.report.model import BreakRecord


class Severity(IntEnum):
    info = 0
    low = 1
    medium = 2
    high = 3
    critical = 4


# kind -> (default severity, what it means)
KINDS: dict[str, tuple[Severity, str]] = {
    "supply_above_reserve": (Severity.critical, "token supply exceeds the attested reserve"),
    "attestation_missing": (Severity.critical, "the product has supply but no reserve attestation"),
    "attestation_stale": (Severity.high, "the latest attestation is older than the allowed age"),
    "attestation_total_mismatch": (Severity.critical, "attested total or lot count differs from the attested lot list"),
    "root_mismatch": (Severity.critical, "Merkle root of the custody books at the attestation's as-of differs from the attested root"),
    "custody_missing": (Severity.high, "no custody snapshot at or before the attestation's as-of"),
    "lot_not_in_custody": (Severity.critical, "a lot in the attested list is not in the custody books"),
    "lot_not_attested": (Severity.high, "a reserve lot in the custody books is not in the attested list"),
    "quantity_mismatch": (Severity.critical, "net quantity in custody differs from the attested quantity"),
    "product_mismatch": (Severity.critical, "custody records the lot under another product"),
    "warehouse_mismatch": (Severity.high, "custody records the lot in another warehouse"),
    "quantity_changed_since_attestation": (Severity.critical, "a backing lot's quantity in the current custody books "
                                           "differs from the attested quantity (critical when it shrank)"),
    "lot_attribute_mismatch": (Severity.medium, "form, purity or assay reference differ from the attested lot"),
    "released_lot_backing": (Severity.critical, "a released lot still backs tokens (it is in the attested list)"),
    "in_transit_lot_backing": (Severity.high, "a lot in transit still backs tokens (it is in the attested list)"),
    "duplicate_lot_across_warehouses": (Severity.high, "the same lot id is recorded in more than one warehouse"),
    "supply_above_custody": (Severity.high, "token supply exceeds the reserve lots in the current custody books"),
    "product_not_in_catalogue": (Severity.high, "the product code is not in the catalogue (unit and decimals unknown)"),
    "decimals_mismatch": (Severity.critical, "token decimals differ from the catalogue's (base units would not compare)"),
    "supply_event_mismatch": (Severity.critical, "supply reconstructed from mint/burn events differs from totalSupply"),
    "escrow_mismatch": (Severity.high, "pending redemptions from events differ from totalEscrowed"),
    "redemption_pending_too_long": (Severity.medium, "a redemption request has been pending longer than allowed"),
    "basket_under_backed": (Severity.critical, "a basket holds less of a component than its shares x units per share"),
    "basket_surplus": (Severity.info, "a basket holds more of a component than its shares need (a direct transfer)"),
}


@dataclass
class Break:
    product: str
    kind: str
    severity: Severity
    message: str
    lot_id: str | None = None
    warehouse_id: str | None = None
    amount: int | None = None  # token base units
    evidence: dict = field(default_factory=dict)

    def key(self) -> tuple:
        return (self.product, self.kind, self.lot_id, self.warehouse_id)

    def as_dict(self) -> BreakRecord:
        return {
            "product": self.product, "kind": self.kind, "severity": self.severity.name, "lot_id": self.lot_id,
            "warehouse_id": self.warehouse_id, "amount": None if self.amount is None else str(self.amount),
            "message": self.message, "evidence": self.evidence,
        }


def make(product: str, kind: str, message: str | None = None, **kw) -> Break:
    sev, text = KINDS[kind]
    return Break(product, kind, kw.pop("severity", sev), message or text, **kw)
