"""The shape of a reconciliation report: one typed definition of what a run writes and its readers read.

The run (:func:`stockpile.reconcile.service.reconcile`, :func:`~stockpile.reconcile.service.failed_report`)
builds a :class:`Report`; the JSON/CSV/HTML writers (:mod:`stockpile.reconcile.report`), ``watch``
(metrics, guardian), the CLI summary, the demos and the portal (the ``runs.summary`` column,
:class:`RunRecord`) read it. These are ``TypedDict`` s, not models: the report *is* the JSON
document (``stockpile.reconcile.report/1``), so a typed dict keeps it byte for byte as it was while
mypy checks every key a reader uses. Quantities are base units as decimal strings (never floats);
ratios are decimal strings (6 places, rounded down).

The per-lot work (parsing, Merkle roots) never builds these: one :class:`ProductSummary` per
product, one :class:`BreakRecord` per break.
"""

# no `from __future__ import annotations`: TypedDict reads NotRequired from evaluated annotations
from typing import Any, NotRequired, TypedDict


class BreakRecord(TypedDict):
    """One break as reported (:meth:`stockpile.reconcile.breaks.model.Break.as_dict`)."""

    product: str
    kind: str
    severity: str  # a Severity name: critical, high, medium, low, info
    lot_id: str | None
    warehouse_id: str | None
    amount: str | None  # token base units
    message: str
    evidence: dict[str, Any]


class SourceUsed(TypedDict):
    """One custody snapshot a view of the books is made of."""

    warehouse_id: str
    snapshot_id: int
    as_of: str
    source: str | None  # the ingested file


class HistoryPoint(TypedDict):
    """One earlier run's figures of a product (``run_products``, :meth:`Database.history`)."""

    run_id: int
    started_at: int
    block: int
    block_time: int  # unix seconds (the report's other times are ISO 8601 text)
    total_supply: str
    attested_reserve: str | None
    custody_reserve: str
    collateralisation_ratio: str | None
    breaks: int
    breaks_by_severity: dict[str, int]


class ProductThresholds(TypedDict):
    max_attestation_age_seconds: int
    max_redemption_pending_seconds: int


class ProductSummary(TypedDict):
    """One product's figures in a run (built by :meth:`Classifier.classify_product`)."""

    product: str
    token: str
    attestor: str | None
    block_number: int
    block_timestamp: int
    block_time: str
    decimals: int
    unit: str | None
    total_supply: str
    total_escrowed: str | None
    custody_reserve_now: str
    custody_lots_now: int
    attested_reserve: str | None
    attested_lots: int | None
    attested_root: str | None
    attestation_as_of: str | None
    attestation_age_seconds: int | None
    custody_root_at_as_of: str | None
    root_matches: bool | None
    collateralisation_ratio: str | None
    custody_ratio: str | None
    pending_redemptions: int
    pending_amount: str
    supply_from_events: str | None
    attested_list_source: str | None
    paused: bool | None
    minting_paused: bool | None
    events: dict[str, int]
    custody_now: list[SourceUsed]
    custody_at_as_of: list[SourceUsed] | None
    thresholds: ProductThresholds
    attestation_round: int | None
    attestation_attested_at: str | None
    attestation_signers: list[str] | None
    attestation_signers_note: str | None
    attestation_tx: str | None
    attestation_report_hash: str | None
    # set once the as-of view exists, then once the breaks are known, then from the database
    custody_snapshots_at_as_of: NotRequired[list[int]]
    breaks: NotRequired[int]
    breaks_by_severity: NotRequired[dict[str, int]]
    history: NotRequired[list[HistoryPoint]]


class SummaryRow(TypedDict):
    """A product with breaks at the top of the report, worst first (:func:`rank_products`)."""

    product: str
    worst: str
    breaks: int
    by_severity: dict[str, int]
    collateralisation_ratio: str | None


class Unconfirmed(TypedDict):
    from_block: int
    to_block: int
    events: dict[str, dict[str, int]]  # product -> event name -> count


class SyncRecord(TypedDict):
    product: str
    from_block: int
    to_block: int
    events: int
    log_requests: int
    log_refusals: int


class ChainInfo(TypedDict, total=False):
    """The block read (empty when the run failed before reading the chain)."""

    chain_id: int
    block: int
    block_time: str
    head_block: int
    behind_head: int
    unconfirmed: Unconfirmed
    confirmations: int
    now: str
    sync: list[SyncRecord]
    reorgs: list[dict[str, Any]]


class SnapshotRef(TypedDict):
    snapshot_id: int
    as_of: str


class LaterSnapshot(TypedDict):
    snapshot_id: int
    source: str | None
    as_of: str


class CustodyInfo(TypedDict, total=False):
    sources_now: dict[str, SnapshotRef]  # warehouse -> snapshot in the current view
    not_yet_in_view: list[LaterSnapshot]


class ReportThresholds(TypedDict):
    max_attestation_age_seconds: int
    max_redemption_pending_seconds: int
    fail_on: str
    confirmations: int


class Counts(TypedDict):
    by_kind: dict[str, int]
    by_severity: dict[str, int]


class GuardianAction(TypedDict):
    """What ``watch``'s guardian did about an under-backed product."""

    product: str
    token: str
    guardian: str
    action: str
    result: NotRequired[str]  # paused, already paused, reverted, refused
    tx: NotRequired[str | None]
    error: NotRequired[str]


class Report(TypedDict):
    """A run's report: the JSON file as written (``schema`` names its version)."""

    schema: str
    run_id: int | None
    generated_at: str
    severity_threshold: str
    products: list[ProductSummary]
    breaks: list[BreakRecord]
    chain: ChainInfo
    custody: CustodyInfo
    # set by every run once it finished (clean, breaks) or failed
    status: NotRequired[str]  # clean, breaks, failed
    exit_code: NotRequired[int]  # 0, 1, 2
    # a finished run
    thresholds: NotRequired[ReportThresholds]
    summary: NotRequired[list[SummaryRow]]
    counts: NotRequired[Counts]
    notes: NotRequired[list[str]]
    baskets: NotRequired[list[dict[str, Any]]]
    # a failed run
    stage: NotRequired[str]  # setup, run
    error: NotRequired[str]
    traceback: NotRequired[str]
    # added at the end
    files: NotRequired[dict[str, str]]  # json, csv, html -> path
    timings: NotRequired[dict[str, float]]
    actions: NotRequired[list[GuardianAction]]  # watch --guardian-account


class RunRecord(TypedDict):
    """What a run stores in ``runs.summary`` (JSON) beside its status: what the portal shows."""

    counts: Counts | None
    error: str | None
