"""Declarative deployments: validate a deployment file, plan, apply idempotently, hand over.

    dep = load_deployment("deploy.yaml")
    with connect("http://127.0.0.1:8545", expected_chain_id=31337) as conn:
        engine = make_engine(dep, conn.w3, "deployments")
        engine.plan(sender.address)      # touches nothing
        engine.apply(sender)             # deploys what is missing; records deployments/<chain-id>.json

``stockpile deploy ...`` and ``ape run deploy`` both call these.
"""

from __future__ import annotations

from pathlib import Path

from web3 import Web3

from stockpile.deploy.config import Deployment, DeploymentFileError, load_deployment, parse_deployment
from stockpile.deploy.engine import DeploymentError, Engine, code_matches
from stockpile.deploy.network import MAINNET_CHAIN_IDS, Connection, NetworkError, check_chain, connect
from stockpile.deploy.steps import deployment_steps

DEFAULT_MANIFEST_DIR = Path("deployments")
SAMPLE_DEVNET = Path(__file__).resolve().parent / "samples" / "devnet.yaml"


def make_engine(dep: Deployment, w3: Web3, manifest_dir: str | Path = DEFAULT_MANIFEST_DIR) -> Engine:
    engine = Engine(w3, deployment_steps(dep), manifest_dir, deployment_name=dep.name)
    engine.feed_symbols = {p.symbol: p.feed_symbol for p in dep.products if p.feed_symbol is not None}
    return engine


__all__ = [
    "DEFAULT_MANIFEST_DIR", "MAINNET_CHAIN_IDS", "SAMPLE_DEVNET", "Connection", "Deployment", "DeploymentError",
    "DeploymentFileError", "Engine", "NetworkError", "check_chain", "code_matches", "connect", "load_deployment",
    "make_engine", "parse_deployment",
]
