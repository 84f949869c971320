"""A reconciliation run: (ingest) -> sync chain -> read state -> classify -> report -> exit code."""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from web3 import Web3

from stockpile.reconcile.breaks.classify import Classifier, Thresholds
from stockpile.reconcile.breaks.model import Break, Severity
from stockpile.reconcile.chain.reader import ChainReader, ProductContracts
from stockpile.reconcile.chain.state import ProductChainState
from stockpile.reconcile.custody.parse import format_time
from stockpile.reconcile.custody.schema import Catalogue
from stockpile.reconcile.db.store import Database
from stockpile.reconcile.report import rank_products, write_all
from stockpile.reconcile.report.model import Report, RunRecord
from stockpile.core.jsonconv import default as json_default

EXIT_CLEAN, EXIT_BREAKS, EXIT_FAILED = 0, 1, 2
REPORT_SCHEMA = "stockpile.reconcile.report/1"


@dataclass
class RunConfig:
    products: list[ProductContracts]
    confirmations: int = 12
    max_log_range: int = 10_000
    thresholds: Thresholds = field(default_factory=Thresholds)
    fail_on: Severity = Severity.medium
    out_dir: Path | None = None
    now: int | None = None  # defaults to the confirmed block's timestamp
    show_progress: bool = False
    baskets: list[str] = field(default_factory=list)  # BasketToken addresses: holdings == shares x units


def load_products(path: str | Path) -> tuple[list[ProductContracts], dict]:
    """Products file (JSON or YAML, validated by :class:`stockpile.reconcile.config.ProductsFile`):
    ``{"rpc_url": ..., "products": {"NDPR-OXIDE": {"token": "0x..", "attestor": "0x..", "start_block": 0}}}``
    or ``{"rpc_url": ..., "directory": "0x..", "start_block": 0}``; returns the products and the
    whole document. ConfigError naming the file and field for anything else (unknown keys too)."""
    from stockpile.reconcile.config import load_products_file

    cfg = load_products_file(path)
    doc = cfg.model_dump(exclude_none=True)
    if cfg.products is None:
        return [], doc  # resolved against the chain by resolve_products()
    return [ProductContracts(code, v.token, v.attestor, v.start_block) for code, v in cfg.products.items()], doc


def discover_products(w3: Web3, directory: str, start_block: int = 0) -> list[ProductContracts]:
    """Every product registered in the Directory: token and reserve attestor by symbol; the
    product code is the token's ``productCode()``. ChainConfigError when the address holds no
    contract or not a Directory."""
    from stockpile.contracts import contract
    from stockpile.reconcile.chain.reader import ChainConfigError

    addr = Web3.to_checksum_address(directory)
    if not w3.eth.get_code(addr):
        raise ChainConfigError(f"directory {addr} has no code on chain {w3.eth.chain_id}: wrong address or chain")
    d = contract(w3, "Directory", addr)
    try:
        n = d.functions.count().call()
    except Exception as exc:  # ContractLogicError, BadFunctionCallOutput: another contract
        raise ChainConfigError(f"directory {addr} is not a Directory (count() failed: {type(exc).__name__})") from None
    out = []
    for i in range(n):
        try:
            _symbol, (token, _feed, attestor) = d.functions.at(i).call()
        except Exception as exc:
            raise ChainConfigError(f"directory {addr} is not a Directory (at({i}) failed: {type(exc).__name__})") from None
        try:
            code = contract(w3, "CommodityToken", token).functions.productCode().call()
        except Exception as exc:
            raise ChainConfigError(f"directory {addr} entry {i} ({_symbol}): token {token} has no productCode() "
                                   f"({type(exc).__name__}): not a CommodityToken") from None
        out.append(ProductContracts(code, token, None if int(attestor, 16) == 0 else attestor, start_block))
    return out


def resolve_products(w3: Web3, products: list[ProductContracts], doc: dict) -> list[ProductContracts]:
    if products:
        return products
    if doc.get("directory"):
        return discover_products(w3, doc["directory"], int(doc.get("start_block", 0)))
    raise ValueError("the products file names no products and no directory")


def one_line(exc: BaseException) -> str:
    """An exception as one readable line (a node's connection error is several)."""
    from stockpile.reconcile.config import ConfigError
    from stockpile.reconcile.custody.parse import ExportError

    text = " ".join(str(exc).split())
    if len(text) > 400:
        text = text[:400] + " ..."
    return text if isinstance(exc, (ConfigError, ExportError)) else f"{type(exc).__name__}: {text}"


def failed_report(error: str, out_dir: str | Path | None = None, fail_on: Severity = Severity.medium,
                  stage: str = "setup") -> Report:
    """The report of a run that could not start (bad products file, unreachable node, database):
    exit code 2 and the reason, written to ``out_dir`` like any report."""
    report: Report = {"schema": REPORT_SCHEMA, "run_id": None, "generated_at": format_time(int(time.time())),
              "severity_threshold": fail_on.name, "status": "failed", "exit_code": EXIT_FAILED, "stage": stage,
              "error": error, "products": [], "breaks": [], "chain": {}, "custody": {}}
    if out_dir is not None:
        report["files"] = write_all(report, out_dir)
    return report


def exit_code_for(breaks: list[Break], fail_on: Severity) -> int:
    return EXIT_BREAKS if any(b.severity >= fail_on for b in breaks) else EXIT_CLEAN


def reconcile(db: Database, w3: Web3, cfg: RunConfig, catalogue: Catalogue | None = None) -> Report:
    """One run. Returns the report dict (``report["exit_code"]`` is 0, 1 or 2); writes the
    report files when ``cfg.out_dir`` is set and records the run and its breaks in the DB."""
    started = time.time()
    timings: dict[str, float] = {}
    with db.engine.begin() as conn:
        run_id = conn.execute(text("INSERT INTO runs (started_at, status, summary) VALUES (:t, 'running', '{}') "
                                   "RETURNING id"), {"t": int(started)}).scalar_one()
    report: Report = {"schema": REPORT_SCHEMA, "run_id": run_id, "generated_at": format_time(int(started)),
                    "severity_threshold": cfg.fail_on.name, "products": [], "breaks": [], "chain": {}, "custody": {}}
    try:
        t0 = time.perf_counter()
        reader = ChainReader(w3, db, cfg.products, cfg.confirmations, cfg.max_log_range, cfg.show_progress)
        block = reader.confirmed_block()
        reader.verify_products(block)
        syncs = reader.sync(block)
        timings["chain_sync"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        states: dict[str, ProductChainState] = reader.states(block)
        timings["chain_state"] = time.perf_counter() - t0
        now = cfg.now if cfg.now is not None else reader.block(block)[1]
        t0 = time.perf_counter()
        classifier = Classifier(db, catalogue, cfg.thresholds, cfg.show_progress)
        results = classifier.classify(states, now)
        timings["classify"] = time.perf_counter() - t0
        breaks = [b for r in results for b in r.breaks]
        if cfg.baskets:
            from stockpile.reconcile.baskets import check_baskets

            report["baskets"], basket_breaks = check_baskets(w3, cfg.baskets, block)
            breaks += basket_breaks
        code = exit_code_for(breaks, cfg.fail_on)
        summaries = [r.summary for r in results]
        db.record_run_products(run_id, reader.chain_id, summaries)
        for s in summaries:
            s["history"] = db.history(s["product"], reader.chain_id, str(s["token"]))
        head = reader.head if reader.head is not None else block
        unconfirmed = reader.unconfirmed(block + 1, head)
        later = [s for s in db.snapshots() if s["as_of"] > now]
        report.update({
            "status": "breaks" if breaks else "clean",
            "exit_code": code,
            "chain": {"chain_id": reader.chain_id, "block": block, "block_time": format_time(reader.block(block)[1]),
                      "head_block": head, "behind_head": head - block,
                      "unconfirmed": {"from_block": block + 1, "to_block": head, "events": unconfirmed},
                      "confirmations": cfg.confirmations, "now": format_time(now),
                      "sync": [{"product": s.product, "from_block": s.from_block, "to_block": s.to_block,
                                "events": s.events, "log_requests": s.stats.requests, "log_refusals": s.stats.refusals}
                               for s in syncs],
                      "reorgs": [s.reorg for s in syncs if s.reorg]},
            "custody": {"sources_now": {w: {"snapshot_id": s, "as_of": format_time(a)}
                                        for w, (s, a) in db.view_sources(now).items()},
                        "not_yet_in_view": [{"snapshot_id": s["id"], "source": s["source"], "as_of": format_time(s["as_of"])}
                                            for s in later]},
            "thresholds": {"max_attestation_age_seconds": cfg.thresholds.max_attestation_age,
                           "max_redemption_pending_seconds": cfg.thresholds.max_redemption_pending,
                           "fail_on": cfg.fail_on.name, "confirmations": cfg.confirmations},
            "summary": rank_products(summaries),
            "products": summaries,
            "breaks": [b.as_dict() for b in breaks],
            "counts": {"by_kind": _count(b.kind for b in breaks), "by_severity": _count(b.severity.name for b in breaks)},
        })
        report["notes"] = run_notes(report)
        status = report["status"]
    except Exception as exc:  # the run itself failed: exit 2, with the reason in the report
        report.update({"status": "failed", "exit_code": EXIT_FAILED, "error": one_line(exc), "stage": "run",
                       "traceback": traceback.format_exc()})
        breaks = []
        status = "failed"
    t0 = time.perf_counter()
    if cfg.out_dir is not None:
        report["files"] = write_all(report, cfg.out_dir)
    timings["report"] = time.perf_counter() - t0
    report["timings"] = {k: round(v, 4) for k, v in timings.items()}
    record: RunRecord = {"counts": report.get("counts"), "error": report.get("error")}
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET finished_at = :f, block_number = :b, status = :s, exit_code = :c, summary = :m "
                          "WHERE id = :i"),
                     {"f": int(time.time()), "b": report.get("chain", {}).get("block"), "s": status,
                      "c": report["exit_code"], "i": run_id,
                      "m": json.dumps(record)})
        if breaks:
            conn.execute(text("INSERT INTO breaks (run_id, product_code, kind, severity, lot_id, amount, evidence) "
                              "VALUES (:r, :p, :k, :s, :l, :a, :e)"),
                         [{"r": run_id, "p": b.product, "k": b.kind, "s": b.severity.name, "l": b.lot_id,
                           "a": None if b.amount is None else str(b.amount), "e": json.dumps(b.evidence, default=json_default)}
                          for b in breaks])
    if cfg.out_dir is not None:  # rewrite JSON with timings included
        write_all(report, cfg.out_dir)
    return report


def run_notes(report: Report) -> list[str]:
    """What a reader must know about what this run could not see: the block read and how far behind
    the head, events not yet confirmed, custody snapshots dated after the block read."""
    chain, custody = report.get("chain", {}), report.get("custody", {})
    notes = []
    if "head_block" in chain:
        notes.append(f"read block {chain['block']}, {chain['behind_head']} behind head {chain['head_block']} "
                     f"({chain['confirmations']} confirmations), block time {chain['block_time']}")
        unc = chain.get("unconfirmed", {})
        if unc.get("events"):
            parts = ["; ".join(f"{p}: " + ", ".join(f"{n} {e}" for e, n in ev.items()) for p, ev in unc["events"].items())]
            notes.append(f"not yet confirmed (blocks {unc['from_block']}..{unc['to_block']}, not in this run): {parts[0]}")
        elif chain["behind_head"]:
            notes.append(f"no events of these products in the {chain['behind_head']} unconfirmed block(s)")
    for s in custody.get("not_yet_in_view", []):
        notes.append(f"custody snapshot {s['snapshot_id']} ({s['source']}) as of {s['as_of']} is dated after the block "
                     "read: not in this run (it is used once a confirmed block is that recent)")
    return notes


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out
