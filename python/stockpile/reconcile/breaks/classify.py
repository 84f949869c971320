"""Classify breaks for each product from the custody books (database) and the chain state.

Views of the custody books:
- *as-of view*: per warehouse, the latest custody snapshot at or before the attestation's
  as-of time (what the attestation should have been built from);
- *current view*: per warehouse, the latest custody snapshot at or before ``now``.

The reserve of a product is its lots with status in_stock or allocated. The attested lot list
is the as-of view's reserve when its Merkle root equals the attested root; otherwise an
ingested ``attested`` list with that root, otherwise the view before a later snapshot that
reproduces the root (the previous matching snapshot). Without one, lot-level differences
cannot be named and the root mismatch says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from stockpile.reconcile.breaks.model import Break, Severity, make
from stockpile.reconcile.chain.state import ProductChainState
from stockpile.reconcile.custody.parse import format_time
from stockpile.reconcile.custody.schema import RESERVE_STATUSES, Catalogue
from stockpile.reconcile.db.store import Database, ViewLot
from stockpile.reconcile.progress import gc_paused, progress
from stockpile.reconcile.report.model import ProductSummary, SourceUsed


@dataclass
class Thresholds:
    max_attestation_age: int = 86_400  # seconds
    max_redemption_pending: int = 3 * 86_400  # seconds
    previous_snapshots_searched: int = 5


@dataclass
class ProductResult:
    product: str
    summary: ProductSummary
    breaks: list[Break] = field(default_factory=list)


def merkle_root(leaves: list[bytes], bar=None, presorted: bool = False) -> str | None:
    """Root (0x-hex) of the StandardMerkleTree over these leaves (:func:`stockpile.merkle.tree.merkle_root`),
    None for none. ``presorted``: the leaves are already in ascending order; ``bar``: a progress
    bar told of every level hashed."""
    from stockpile.merkle.tree import merkle_root as root

    got = root(leaves, None if bar is None else bar.update, presorted=presorted)
    return None if got is None else "0x" + got.hex()


def ratio(numerator: int | None, denominator: int | None) -> str | None:
    if numerator is None or not denominator:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def _lot_ev(x: ViewLot) -> dict:
    return {"warehouse_id": x.warehouse_id, "lot_id": x.lot_id, "product": x.product_code, "form": x.form, "purity_ppm": x.purity_ppm,
            "quantity": str(x.quantity), "assay_ref": x.assay_ref, "status": x.status, "snapshot_id": x.snapshot_id, "line": x.line}


class Classifier:
    def __init__(self, db: Database, catalogue: Catalogue | None = None, thresholds: Thresholds | None = None,
                 show_progress: bool = False):
        self.db = db
        self.catalogue = catalogue or Catalogue.load()
        self.t = thresholds or Thresholds()
        self.show_progress = show_progress
        self._views: dict[frozenset, list[ViewLot]] = {}
        self._roots: dict[tuple, str | None] = {}
        self._by_product: dict[int, dict[str, list[ViewLot]]] = {}
        self._totals: dict[frozenset, dict[str, tuple[int, int]]] = {}

    # ---------------------------------------------------------------- helpers
    def view(self, sources: dict[str, tuple[int, int]]) -> list[ViewLot]:
        key = frozenset((w, s) for w, (s, _a) in sources.items())
        v = self._views.get(key)
        if v is None:
            v = self.db.custody_view(sources=sources, show_progress=self.show_progress)
            self._views[key] = v
        return v

    def reserve(self, view: list[ViewLot], product: str) -> list[ViewLot]:
        """Reserve lots (in_stock, allocated) of a product in a view (grouped once per view)."""
        groups = self._by_product.get(id(view))
        if groups is None:
            groups = defaultdict(list)
            for x in view:
                if x.status in RESERVE_STATUSES:
                    groups[x.product_code].append(x)
            self._by_product[id(view)] = groups
        return groups.get(product, [])

    def root_of(self, key, lots: list[ViewLot] | list[bytes], presorted: bool = False) -> str | None:
        """Merkle root of lots (ViewLots, or their leaves), memoised under ``key``."""
        if key not in self._roots:
            bar = progress(desc=f"merkle tree {key[1]}", total=len(lots), unit=" nodes",
                           enabled=self.show_progress and len(lots) > 100_000)
            leaves = [x if isinstance(x, bytes) else x.leaf for x in lots]
            self._roots[key] = merkle_root(leaves, bar, presorted=presorted)
            bar.close()
        return self._roots[key]

    def totals_of(self, sources: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """Per product, (total base units, lot count) of the reserve in a view."""
        key = frozenset((w, s) for w, (s, _a) in sources.items())
        got = self._totals.get(key)
        if got is None:
            got = self._totals[key] = self.db.view_totals(sources)
        return got

    def sources_used(self, sources: dict[str, tuple[int, int]]) -> list[SourceUsed]:
        """The custody snapshots a view is made of: warehouse, snapshot id, as-of, file."""
        if not hasattr(self, "_snap_files"):
            self._snap_files = {s["id"]: s["source"] for s in self.db.snapshots()}
        return [{"warehouse_id": w, "snapshot_id": sid, "as_of": format_time(a), "source": self._snap_files.get(sid)}
                for w, (sid, a) in sorted(sources.items())]

    # ---------------------------------------------------------------- run
    def classify(self, states: dict[str, ProductChainState], now: int | None = None) -> list[ProductResult]:
        with gc_paused():
            return self._classify(states, now)

    def _classify(self, states: dict[str, ProductChainState], now: int | None) -> list[ProductResult]:
        results = []
        now_ts = now if now is not None else max((s.block_timestamp for s in states.values()), default=0)
        current_sources = self.db.view_sources(now_ts)
        # the lots themselves are loaded only when something needs them (a duplicate lot id, a root
        # that does not match, books that moved since the attestation); roots and totals come from
        # the per-snapshot leaf sets
        dup_breaks = self.duplicates(self.view(current_sources)) if self.db.has_duplicate_lot_ids(current_sources) else []
        for product, st in sorted(states.items()):
            res = self.classify_product(product, st, now_ts, current_sources)
            res.breaks.extend(b for b in dup_breaks if b.product == product)
            res.breaks = _dedupe(res.breaks)
            res.summary["breaks"] = len(res.breaks)
            res.summary["breaks_by_severity"] = _count(b.severity.name for b in res.breaks)
            results.append(res)
        return results

    def duplicates(self, view: list[ViewLot]) -> list[Break]:
        ids = {x.lot_id for x in view}
        if len(ids) == len(view):  # every lot id once: nothing to look for
            return []
        del ids
        first: dict[str, str] = {}
        dup_ids: set[str] = set()
        for x in view:
            w = first.setdefault(x.lot_id, x.warehouse_id)
            if w != x.warehouse_id:
                dup_ids.add(x.lot_id)
        del first
        where: dict[str, list[ViewLot]] = defaultdict(list)
        if dup_ids:
            for x in view:
                if x.lot_id in dup_ids:
                    where[x.lot_id].append(x)
        out = []
        for lot, xs in where.items():
            whs = {x.warehouse_id for x in xs}
            if len(whs) > 1:
                for x in xs:
                    out.append(make(x.product_code, "duplicate_lot_across_warehouses", lot_id=lot, warehouse_id=x.warehouse_id,
                                    message=f"lot {lot} is recorded in {len(whs)} warehouses: {', '.join(sorted(whs))}",
                                    evidence={"records": [_lot_ev(y) for y in xs]}))
        return out

    def classify_product(self, product: str, st: ProductChainState, now: int,
                         current_sources: dict, current: list[ViewLot] | None = None) -> ProductResult:
        breaks: list[Break] = []
        prod = self.catalogue.get(product)
        att = st.attestation
        cur_total, cur_lots = self.totals_of(current_sources).get(product, (0, 0))
        summary: ProductSummary = {
            "product": product, "token": st.token, "attestor": st.attestor, "block_number": st.block_number,
            "block_timestamp": st.block_timestamp,
            "block_time": format_time(st.block_timestamp), "decimals": st.decimals,
            "unit": prod.unit if prod else None, "total_supply": str(st.total_supply),
            "total_escrowed": None if st.total_escrowed is None else str(st.total_escrowed),
            "custody_reserve_now": str(cur_total), "custody_lots_now": cur_lots,
            "attested_reserve": None, "attested_lots": None, "attested_root": None, "attestation_as_of": None,
            "attestation_age_seconds": None, "custody_root_at_as_of": None, "root_matches": None,
            "collateralisation_ratio": None, "custody_ratio": ratio(cur_total, st.total_supply),
            "pending_redemptions": len(st.pending), "pending_amount": str(sum(p.amount for p in st.pending)),
            "supply_from_events": None if st.supply_from_events is None else str(st.supply_from_events),
            "attested_list_source": None, "paused": st.paused, "minting_paused": st.minting_paused,
            "events": dict(sorted(st.event_counts.items())),
            "custody_now": self.sources_used(current_sources), "custody_at_as_of": None,
            "thresholds": {"max_attestation_age_seconds": self.t.max_attestation_age,
                           "max_redemption_pending_seconds": self.t.max_redemption_pending},
            "attestation_round": None, "attestation_attested_at": None, "attestation_signers": None,
            "attestation_signers_note": None, "attestation_tx": None, "attestation_report_hash": None,
        }
        if prod is None:
            breaks.append(make(product, "product_not_in_catalogue",
                               message=f"product {product} is not in the catalogue (unit and decimals unknown)"))
        elif prod.decimals != st.decimals:
            breaks.append(make(product, "decimals_mismatch",
                               message=f"token decimals {st.decimals} differ from the catalogue's {prod.decimals}",
                               evidence={"token_decimals": st.decimals, "catalogue_decimals": prod.decimals}))
        # chain-only checks
        if st.supply_from_events is not None and st.supply_from_events != st.total_supply:
            breaks.append(make(product, "supply_event_mismatch", amount=st.total_supply - st.supply_from_events,
                               message=f"totalSupply {st.total_supply} but mints - burns from events = {st.supply_from_events}",
                               evidence={"total_supply": str(st.total_supply), "minted": str(st.minted_from_events),
                                         "burned": str(st.burned_from_events), "block": st.block_number}))
        if st.total_escrowed is not None:
            pending_sum = sum(p.amount for p in st.pending)
            if pending_sum != st.total_escrowed:
                breaks.append(make(product, "escrow_mismatch", amount=st.total_escrowed - pending_sum,
                                   message=f"totalEscrowed {st.total_escrowed} but pending requests sum to {pending_sum}",
                                   evidence={"total_escrowed": str(st.total_escrowed), "pending_sum": str(pending_sum),
                                             "pending_ids": [p.id for p in st.pending]}))
        for p in st.pending:
            age = now - p.requested_at
            if age > self.t.max_redemption_pending:
                breaks.append(make(product, "redemption_pending_too_long", lot_id=f"redemption#{p.id}", amount=p.amount,
                                   message=f"redemption {p.id} of {p.holder} pending for {age}s "
                                           f"(> {self.t.max_redemption_pending}s)",
                                   evidence={"id": p.id, "holder": p.holder, "amount": str(p.amount),
                                             "requested_at": format_time(p.requested_at), "age_seconds": age,
                                             "block": p.block_number}))
        if st.total_supply > cur_total:
            breaks.append(make(product, "supply_above_custody", amount=st.total_supply - cur_total,
                               message=f"totalSupply {st.total_supply} exceeds current custody reserve {cur_total}",
                               evidence={"total_supply": str(st.total_supply), "custody_reserve": str(cur_total),
                                         "custody_lots": cur_lots}))
        if att is None:
            if st.total_supply > 0:
                breaks.append(make(product, "attestation_missing", amount=st.total_supply,
                                   evidence={"total_supply": str(st.total_supply)}))
            return ProductResult(product, summary, breaks)

        age = now - att.as_of
        summary.update({
            "attested_reserve": str(att.total_quantity), "attested_lots": att.lot_count, "attested_root": att.merkle_root,
            "attestation_as_of": format_time(att.as_of), "attestation_age_seconds": age, "attestation_round": att.round_id,
            "attestation_attested_at": format_time(att.attested_at) if att.attested_at else None,
            "attestation_report_hash": att.report_hash,
            "collateralisation_ratio": ratio(att.total_quantity, st.total_supply),
        })
        sig = st.attestation_signers or {}
        summary.update({"attestation_signers": sig.get("signers"), "attestation_signers_note": sig.get("why"),
                        "attestation_tx": sig.get("tx")})
        if st.total_supply > att.total_quantity:
            breaks.append(make(product, "supply_above_reserve", amount=st.total_supply - att.total_quantity,
                               message=f"totalSupply {st.total_supply} exceeds attested reserve {att.total_quantity} "
                                       f"by {st.total_supply - att.total_quantity}",
                               evidence={"total_supply": str(st.total_supply), "attested_reserve": str(att.total_quantity),
                                         "round": att.round_id, "block": st.block_number}))
        if age > self.t.max_attestation_age:
            breaks.append(make(product, "attestation_stale",
                               message=f"attestation round {att.round_id} as of {format_time(att.as_of)} is {age}s old "
                                       f"(> {self.t.max_attestation_age}s)",
                               evidence={"as_of": format_time(att.as_of), "age_seconds": age,
                                         "max_age_seconds": self.t.max_attestation_age}))

        asof_sources = self.db.view_sources(att.as_of)
        if not asof_sources:
            breaks.append(make(product, "custody_missing",
                               message=f"no custody snapshot at or before the attestation's as-of {format_time(att.as_of)}",
                               evidence={"as_of": format_time(att.as_of)}))
            return ProductResult(product, summary, breaks)
        # memoised by the database per view: the Merkle stage's root of the same snapshots is reused
        custody_root, asof_total, asof_lots = self.db.view_root(asof_sources, product)
        summary["custody_root_at_as_of"] = custody_root
        summary["custody_snapshots_at_as_of"] = sorted({s for s, _a in asof_sources.values()})
        summary["custody_at_as_of"] = self.sources_used(asof_sources)
        attested: list[ViewLot] | None
        if custody_root is not None and custody_root.lower() == att.merkle_root.lower():
            summary["root_matches"] = True
            summary["attested_list_source"] = "custody view at as-of (root matches)"
            if asof_total != att.total_quantity or asof_lots != att.lot_count:
                breaks.append(_total_mismatch(product, att, asof_total, asof_lots))
            if current_sources != asof_sources:
                asof_reserve = self.reserve(self.view(asof_sources), product)
                breaks.extend(self.backing_now(product, asof_reserve, current or self.view(current_sources)))
            return ProductResult(product, summary, breaks)
        else:
            asof_view = self.view(asof_sources)
            asof_reserve = self.reserve(asof_view, product)
            summary["root_matches"] = False
            attested, source = self.find_attested_list(product, att, asof_sources)
            summary["attested_list_source"] = source
            breaks.append(make(product, "root_mismatch",
                               message=f"custody root {custody_root} at as-of {format_time(att.as_of)} differs from "
                                       f"attested root {att.merkle_root}",
                               evidence={"attested_root": att.merkle_root, "custody_root": custody_root,
                                         "attested_total": str(att.total_quantity), "attested_lots": att.lot_count,
                                         "custody_total": str(asof_total),
                                         "custody_lots": asof_lots, "attested_list": source}))
            if attested is not None:
                breaks.extend(self.lot_diffs(product, attested, asof_view, asof_reserve, "as-of"))
        if attested is not None:
            total = sum(x.quantity for x in attested)
            if total != att.total_quantity or len(attested) != att.lot_count:
                breaks.append(_total_mismatch(product, att, total, len(attested)))
            if current_sources != asof_sources:
                breaks.extend(self.backing_now(product, attested, current or self.view(current_sources)))
        return ProductResult(product, summary, breaks)

    def find_attested_list(self, product: str, att, asof_sources) -> tuple[list[ViewLot] | None, str]:
        notes = ""
        by_report = self.db.report_list(product, att.report_hash) if att.report_hash else None
        if by_report is not None:
            sid, lots = by_report
            if merkle_root([x.leaf for x in lots]) == att.merkle_root.lower():
                return lots, f"the custodian's report (snapshot {sid}, file keccak256 = reportHash)"
            notes = f"; snapshot {sid} matches the reportHash but its lots do not give the attested root"
        found = self.db.attested_list(product, att.merkle_root)
        if found is not None:
            return found[1], f"ingested attested list (snapshot {found[0]}){notes}"
        sids = sorted({s for s, _a in asof_sources.values()}, reverse=True)
        tried = 0
        seen: set = set()
        while sids and tried < self.t.previous_snapshots_searched:
            before = sids[0]
            prev = self.db.view_sources(att.as_of, before_snapshot=before)
            if not prev:
                break
            k = frozenset((w, s) for w, (s, _a) in prev.items())
            if k in seen:
                break
            seen.add(k)
            tried += 1
            lots = self.reserve(self.view(prev), product)
            if self.root_of((k, product), lots) == att.merkle_root.lower():
                return lots, f"previous matching custody view (snapshots {sorted({s for s, _ in prev.values()})}){notes}"
            sids = sorted({s for s, _a in prev.values()}, reverse=True)
        return None, ("attested lot list unavailable: ingest it with `stockpile reconcile ingest --attested`; "
                      "lot-level differences cannot be named" + notes)

    def lot_diffs(self, product: str, attested: list[ViewLot], view: list[ViewLot], reserve: list[ViewLot],
                  when: str) -> list[Break]:
        out: list[Break] = []
        idx: dict[str, list[ViewLot]] = defaultdict(list)
        for x in view:
            idx[x.lot_id].append(x)
        att_ids = set()
        for a in attested:
            att_ids.add(a.lot_id)
            cands = idx.get(a.lot_id)
            ev = {"attested": _lot_ev(a), "view": when}
            if not cands:
                out.append(make(product, "lot_not_in_custody", lot_id=a.lot_id, warehouse_id=a.warehouse_id, amount=a.quantity,
                                message=f"attested lot {a.lot_id} ({a.warehouse_id}) is not in the custody books ({when})", evidence=ev))
                continue
            same_wh = [c for c in cands if c.warehouse_id == a.warehouse_id]
            c = same_wh[0] if same_wh else cands[0]
            ev["custody"] = _lot_ev(c)
            if c.leaf == a.leaf and c.status in RESERVE_STATUSES:
                continue
            if c.warehouse_id != a.warehouse_id:
                out.append(make(product, "warehouse_mismatch", lot_id=a.lot_id, warehouse_id=c.warehouse_id,
                                message=f"lot {a.lot_id} attested in {a.warehouse_id} but custody has it in {c.warehouse_id}", evidence=ev))
            if c.product_code != a.product_code:
                out.append(make(product, "product_mismatch", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity,
                                message=f"lot {a.lot_id} attested as {a.product_code} but custody records {c.product_code}", evidence=ev))
            if c.quantity != a.quantity:
                out.append(make(product, "quantity_mismatch", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity - c.quantity,
                                message=f"lot {a.lot_id}: attested {a.quantity} base units, custody {c.quantity} (difference {a.quantity - c.quantity})",
                                evidence=ev))
            if c.status == "released":
                out.append(make(product, "released_lot_backing", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity,
                                message=f"lot {a.lot_id} is released in custody ({when}) but still backs tokens", evidence=ev))
            elif c.status == "in_transit":
                out.append(make(product, "in_transit_lot_backing", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity,
                                message=f"lot {a.lot_id} is in transit ({when}) but still backs tokens", evidence=ev))
            if c.warehouse_id == a.warehouse_id and c.product_code == a.product_code and c.quantity == a.quantity and c.leaf != a.leaf:
                out.append(make(product, "lot_attribute_mismatch", lot_id=a.lot_id, warehouse_id=c.warehouse_id,
                                message=f"lot {a.lot_id}: form, purity or assay reference differ from the attested lot",
                                evidence=ev))
        for c in reserve:
            if c.lot_id not in att_ids:
                out.append(make(product, "lot_not_attested", lot_id=c.lot_id, warehouse_id=c.warehouse_id, amount=c.quantity,
                                message=f"custody reserve lot {c.lot_id} ({c.warehouse_id}) is not in the attested list ({when})",
                                evidence={"custody": _lot_ev(c), "view": when}))
        return out

    def quantity_changed(self, product: str, a: ViewLot, c: ViewLot, ev: dict) -> Break:
        """The current books hold an attested lot with another quantity: critical when it shrank
        (less metal behind the tokens than attested), medium when it grew."""
        prod = self.catalogue.get(product)
        unit = prod.unit if prod else "base units"
        human = (lambda q: f"{prod.from_base_units(q).normalize():f}") if prod else str
        diff = a.quantity - c.quantity
        ev = {**ev, "attested_quantity": human(a.quantity), "current_quantity": human(c.quantity), "unit": unit,
              "attested_base_units": str(a.quantity), "current_base_units": str(c.quantity)}
        return make(product, "quantity_changed_since_attestation", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=diff,
                    severity=Severity.critical if diff > 0 else Severity.medium,
                    message=f"lot {a.lot_id} in {c.warehouse_id}: attested {human(a.quantity)} {unit}, current custody "
                            f"{human(c.quantity)} {unit} ({'-' if diff > 0 else '+'}{human(abs(diff))} {unit} since the "
                            "attestation)", evidence=ev)

    def backing_now(self, product: str, attested: list[ViewLot], current: list[ViewLot]) -> list[Break]:
        """Attested lots (still backing tokens until the next attestation) that the current books
        show released, in transit or gone."""
        out = []
        idx: dict[str, list[ViewLot]] = defaultdict(list)
        for x in current:
            idx[x.lot_id].append(x)
        for a in attested:
            cands = idx.get(a.lot_id)
            ev = {"attested": _lot_ev(a), "view": "current"}
            if not cands:
                out.append(make(product, "lot_not_in_custody", lot_id=a.lot_id, warehouse_id=a.warehouse_id, amount=a.quantity,
                                message=f"attested lot {a.lot_id} ({a.warehouse_id}) is no longer in the custody books", evidence=ev))
                continue
            same = [c for c in cands if c.warehouse_id == a.warehouse_id]
            c = same[0] if same else cands[0]
            ev["custody"] = _lot_ev(c)
            if c.quantity != a.quantity and c.product_code == a.product_code:
                out.append(self.quantity_changed(product, a, c, ev))
            if c.status == "released":
                out.append(make(product, "released_lot_backing", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity,
                                message=f"lot {a.lot_id} was released after the attestation but still backs tokens",
                                evidence=ev))
            elif c.status == "in_transit":
                out.append(make(product, "in_transit_lot_backing", lot_id=a.lot_id, warehouse_id=c.warehouse_id, amount=a.quantity,
                                message=f"lot {a.lot_id} is in transit but still backs tokens", evidence=ev))
        return out


def _total_mismatch(product: str, att, total: int, lots: int) -> Break:
    return make(product, "attestation_total_mismatch", amount=att.total_quantity - total,
                message=f"attested total {att.total_quantity} / {att.lot_count} lots but the attested "
                        f"list sums to {total} / {lots} lots",
                evidence={"attested_total": str(att.total_quantity), "attested_lots": att.lot_count,
                          "list_total": str(total), "list_lots": lots})


def _dedupe(breaks: list[Break]) -> list[Break]:
    seen = set()
    out = []
    for b in breaks:
        k = b.key()
        if k in seen:
            continue
        seen.add(k)
        out.append(b)
    out.sort(key=lambda b: (-b.severity, b.kind, b.lot_id or ""))
    return out


def _count(items) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for i in items:
        out[i] += 1
    return dict(out)
