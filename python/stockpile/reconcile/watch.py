"""Continuous mode: reconcile every interval, export Prometheus metrics, and (with a guardian
key) pause minting of a product whose supply exceeds its attested reserve.

The guardian calls ``pauseMinting()`` (needs PAUSER_ROLE): mints of that product stop until the
admin (DEFAULT_ADMIN_ROLE; the guardian cannot undo its own pause) calls ``unpauseMinting()``;
holders keep transferring and redeeming."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge, start_http_server
from web3 import Web3

from stockpile.reconcile.report.model import GuardianAction, Report
from stockpile.reconcile.service import EXIT_FAILED, RunConfig, reconcile

log = logging.getLogger("stockpile.reconcile.watch")


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self):
        r = self.registry
        self.ratio = Gauge("stockpile_reconcile_collateralisation_ratio",
                           "attested reserve / token supply (NaN when supply is 0)", ["product"], registry=r)
        self.supply = Gauge("stockpile_reconcile_token_supply", "totalSupply in whole tokens", ["product"], registry=r)
        self.reserve = Gauge("stockpile_reconcile_attested_reserve", "attested reserve in whole tokens", ["product"],
                             registry=r)
        self.age = Gauge("stockpile_reconcile_attestation_age_seconds", "age of the latest attestation", ["product"],
                         registry=r)
        self.breaks = Gauge("stockpile_reconcile_breaks", "breaks in the last run", ["kind", "severity"], registry=r)
        self.last_success = Gauge("stockpile_reconcile_last_success_timestamp_seconds",
                                  "unix time of the last run that completed (clean or with breaks)", registry=r)
        self.last_run = Gauge("stockpile_reconcile_last_run_timestamp_seconds", "unix time of the last run", registry=r)
        self.last_exit = Gauge("stockpile_reconcile_last_exit_code", "0 clean, 1 breaks, 2 failed", registry=r)
        self.duration = Gauge("stockpile_reconcile_run_duration_seconds", "duration of the last run", registry=r)
        self.paused = Gauge("stockpile_reconcile_guardian_paused", "1 if the guardian paused the product", ["product"],
                            registry=r)

    def observe(self, report: Report, duration: float) -> None:
        now = time.time()
        self.last_run.set(now)
        self.last_exit.set(report["exit_code"])
        self.duration.set(duration)
        if report["exit_code"] == EXIT_FAILED:
            return
        self.last_success.set(now)
        self.breaks.clear()
        for b in report["breaks"]:
            self.breaks.labels(b["kind"], b["severity"]).inc()
        for p in report["products"]:
            d = int(p.get("decimals") or 18)
            ratio = p.get("collateralisation_ratio")
            self.ratio.labels(p["product"]).set(float(ratio) if ratio is not None else float("nan"))
            self.supply.labels(p["product"]).set(int(p["total_supply"]) / 10**d)
            if (reserve := p.get("attested_reserve")) is not None:
                self.reserve.labels(p["product"]).set(int(reserve) / 10**d)
            if (age := p.get("attestation_age_seconds")) is not None:
                self.age.labels(p["product"]).set(age)


def guardian_pause(w3: Web3, report: Report, cfg: RunConfig, guardian_key: str) -> list[GuardianAction]:
    """Pause minting of every product with a supply_above_reserve break (unless already paused)."""
    from stockpile.contracts import contract
    from stockpile.sdk.transactions import Sender, TransactionFailed

    sender = Sender(w3, guardian_key, timeout=60)
    actions: list[GuardianAction] = []
    over = sorted({b["product"] for b in report["breaks"] if b["kind"] == "supply_above_reserve"})
    tokens = {p.product: p.token for p in cfg.products}
    for product in over:
        token = contract(w3, "CommodityToken", tokens[product])
        action: GuardianAction = {"product": product, "token": token.address, "guardian": sender.address, "action": "pause minting"}
        try:
            if token.functions.mintingPaused().call():
                action["result"] = "already paused"
            else:
                # refused at the estimate when the key lacks PAUSER_ROLE
                receipt = sender.transact(token.functions.pauseMinting())
                action["tx"] = Web3.to_hex(receipt["transactionHash"])
                action["result"] = "paused"
        except TransactionFailed as exc:
            action["tx"], action["result"] = exc.tx_hash, "reverted"
        except Exception as exc:  # refused (no PAUSER_ROLE) or node error: report it, keep watching
            action["result"] = "refused"
            action["error"] = f"{type(exc).__name__}: {exc}"
        actions.append(action)
    return actions


def run_once(db, w3: Web3, cfg: RunConfig, metrics: Metrics | None = None, guardian_key: str | None = None,
             catalogue=None) -> Report:
    t0 = time.perf_counter()
    report = reconcile(db, w3, cfg, catalogue)
    if guardian_key and report["exit_code"] != EXIT_FAILED:
        report["actions"] = guardian_pause(w3, report, cfg, guardian_key)
        if metrics:
            for a in report["actions"]:
                metrics.paused.labels(a["product"]).set(1 if a["result"] in ("paused", "already paused") else 0)
    if metrics:
        metrics.observe(report, time.perf_counter() - t0)
    return report


def watch(db, w3: Web3, cfg: RunConfig, interval: float = 60.0, iterations: int | None = None,
          metrics_port: int | None = None, guardian_key: str | None = None, metrics: Metrics | None = None,
          on_report=None, catalogue=None, metrics_host: str = "127.0.0.1") -> Metrics:
    metrics = metrics or Metrics()
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry)  # loopback unless told
    n = 0
    while iterations is None or n < iterations:
        started = time.monotonic()
        report = run_once(db, w3, cfg, metrics, guardian_key, catalogue)
        log.info("run %s: %s, %d breaks", report.get("run_id"), report["status"], len(report["breaks"]))
        if on_report:
            on_report(report)
        n += 1
        if iterations is not None and n >= iterations:
            break
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return metrics
