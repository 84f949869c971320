"""The attestation step of ``make demo``: custodian attestor nodes as separate processes.

``AttestorNodes`` starts one ``stockpile reserve node`` process per attestor key, each with its own
copy of the custody exports, its own state folder and a bearer token for the demo transmitter; one
copy can be tampered (a lot's quantity lowered) to show a node refusing and naming the lot while
the other two still reach the 2-of-3 quorum. ``attest`` collects from the nodes and submits once.
Demo only: the keys are anvil's public development keys.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from stockpile.nodes import NodeRef, Nodes, token_hash
from stockpile.nodes.launch import Launched, launch
from stockpile.reserve.collect import Collection, SubmissionLog, collect_from_nodes, submit_once
from stockpile.reserve.custodian import AttestationRequest
from stockpile.reserve.models import Attestation, report_hash
from stockpile.reserve.signing import default_deadline


def tamper_quantity(folder: Path, product: str, export: str = "WH-ROTTERDAM-01.csv") -> tuple[str, str, str]:
    """Lower by one unit the net quantity of the first ``product`` reserve lot of a plain CSV export
    in ``folder`` (a custody copy that no longer matches the others). Returns (warehouse, lot id,
    the new net quantity as written)."""
    path = folder / export
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(i for i, line in enumerate(lines) if line.startswith("warehouse_id,"))
    cols = lines[header].strip().split(",")
    for i in range(header + 1, len(lines)):
        cells = lines[i].rstrip("\r\n").split(",")
        row = dict(zip(cols, cells))
        if row["product_code"] == product and row["status"] in ("in_stock", "allocated"):
            whole, _, frac = row["net_quantity"].partition(".")
            new = f"{int(whole) - 1}.{frac}" if frac else str(int(whole) - 1)
            cells[cols.index("net_quantity")] = new
            lines[i] = ",".join(cells) + "\n"
            path.write_text("".join(lines), encoding="utf-8")
            return row["warehouse_id"], row["lot_id"], new
    raise ValueError(f"no {product} reserve lot in {path}")


class AttestorNodes:
    """Attestor node processes on loopback (a context manager: stopped on exit)."""

    def __init__(self, rpc_url: str, chain_id: int, attestors: dict[str, str], keys: Sequence[str],
                 exports: Path, work: Path, tamper: dict[int, str] | None = None):
        self.token = secrets.token_urlsafe(24)
        self.procs: list[Launched] = []
        self.refs: list[NodeRef] = []
        self.tampered: dict[str, tuple[str, str, str]] = {}  # node -> the lot its copy changed
        for i, key in enumerate(keys):
            name = f"custodian-{i + 1}"
            home = work / "attestor-nodes" / name
            custody = home / "custody"
            shutil.copytree(exports, custody, ignore=shutil.ignore_patterns("*.rejects.csv"))
            if tamper and i in tamper:
                self.tampered[name] = tamper_quantity(custody, tamper[i])
            config = home / "node.yaml"
            config.write_text(yaml.safe_dump({
                "name": name, "chain_id": chain_id, "rpc_url": rpc_url, "account": "env:ATTESTOR_KEY",
                "state_dir": "state", "custody": {"exports": "custody"},
                "products": {p: {"attestor": a} for p, a in attestors.items()},
                "server": {"host": "127.0.0.1", "port": 0, "max_body_bytes": 1024 * 1024,
                           "transmitters": [{"name": "demo-transmitter", "token_sha256": token_hash(self.token)}]},
            }))
            # its own process, forked from the node launcher that imported the package once
            self.procs.append(launch(["reserve", "node", "--config", config], env={"ATTESTOR_KEY": key},
                                     log=home / "node.log", capture_stdout=True))
        try:
            for i, proc in enumerate(self.procs):
                assert proc.stdout is not None
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError(f"attestor node custodian-{i + 1} did not start (see {work / 'attestor-nodes'})")
                info = json.loads(line)
                self.refs.append(NodeRef(name=info["node"], url=info["url"], token_env="DEMO_NODE_TOKEN",
                                         address=info["signer"]))
        except BaseException:
            self.stop()
            raise
        self.nodes = Nodes(self.refs, env={"DEMO_NODE_TOKEN": self.token})

    def stop(self) -> None:
        if hasattr(self, "nodes"):
            self.nodes.close()
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> AttestorNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def attest(self, w3: Any, sender: Any, contract: Any, product: str, lots: Sequence[Any], as_of: int,
               report: bytes, log: SubmissionLog, deadline_seconds: float = 20.0) -> tuple[Any | None, Collection]:
        """Ask every node, submit once if the quorum signed. Returns (receipt or None, the collection)."""
        from stockpile.merkle import Lot

        typed = [lot if isinstance(lot, Lot) else Lot(**dict(zip(
            ("warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "quantity", "assay_ref"), lot))) for lot in lots]
        att = Attestation.of_lots(typed, as_of, report_hash(report))
        req = AttestationRequest(product=product, chain_id=w3.eth.chain_id, attestor=contract.address,
                                 config_digest=bytes(contract.functions.configDigest().call()),
                                 deadline=default_deadline(att), attestation=att, lots=typed)
        collection = collect_from_nodes(self.nodes, req, contract.functions.attestors().call(), deadline_seconds)
        if len(collection.signed) < contract.functions.quorum().call():
            return None, collection
        return submit_once(sender, contract, req, collection, contract.functions.quorum().call(), log), collection
