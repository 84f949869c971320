"""The one way the tests, the demo helpers and the benchmarks deploy a stack: write a deployment
model (the same pydantic model a deployment file is validated into, ``stockpile.deploy.config``)
and apply it with the deploy engine (``stockpile.deploy``), as ``stockpile deploy apply`` does.

    dep = deployment(admin, attestors=[...], quorum=3,
                     products=[product("NDPR", "NDPR-OXIDE", feed=feed(max_answer="1000000"))],
                     oracle=([...5 signer addresses...], 1))
    live = apply(w3, deployer_key, dep)
    live.token("NDPR"), live.attestor("NDPR"), live.timelock, live.directory, live.price_feed

The deployer is the admin of everything and the tokens' bootstrap governor (no handover), so a
test can configure further. Shapes a deployment file cannot describe stay with their own small
helpers: a lone ReserveAttestor with no token (``devkit.reserve``), tokens deliberately
initialised with bad parameters (``devkit.ape_stack.deploy_token``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from stockpile.contracts import load
from stockpile.deploy import make_engine
from stockpile.deploy.config import Deployment
from stockpile.deploy.manifest import Manifest
from stockpile.deploy.steps import feed_id
from stockpile.sdk.transactions import Sender


def feed(max_answer: str | int | Decimal, *, decimals: int = 8, min_answer: str | int | Decimal = "0.00000001",
         heartbeat: int = 86_400, max_report_age: int | None = None, description: str | None = None,
         deviation_bps: int = 50) -> dict[str, Any]:
    """A product's price feed; ``description`` defaults to "<product code> / USD"."""
    out: dict[str, Any] = {"decimals": decimals, "min_answer": str(min_answer), "max_answer": str(max_answer),
                           "heartbeat": heartbeat, "deviation_bps": deviation_bps}
    if description is not None:
        out["description"] = description
    if max_report_age is not None:
        out["max_report_age"] = max_report_age
    return out


def product(symbol: str, product_code: str, *, decimals: int = 18, name: str | None = None,
            unit: str = "NdPr oxide, 1 kg, 99.5%", min_redemption: str | int | Decimal = "1",
            max_attestation_age: int = 7 * 86_400, mint_capacity: str | int | Decimal = "100000",
            refill_per_second: str | int | Decimal = "10", allowlist: bool = False,
            feed: dict[str, Any] | None = None) -> dict[str, Any]:
    """One product entry of the deployment file (quantities in product units)."""
    out: dict[str, Any] = {
        "symbol": symbol, "name": name or f"Stockpile {product_code}", "product_code": product_code, "unit": unit,
        "decimals": decimals, "min_redemption": str(min_redemption), "max_attestation_age": max_attestation_age,
        "mint_limits": {"capacity": str(mint_capacity), "refill_per_second": str(refill_per_second)},
        "allowlist": allowlist,
    }
    if feed is not None:
        out["feed"] = {"description": f"{product_code} / USD", **feed}
    return out


def base_units(amount: int, decimals: int) -> str:
    """``amount`` base units written in product units (exact), for a quantity field."""
    return format(Decimal(amount).scaleb(-decimals), "f")


def deployment(admin: str, attestors: list[str], quorum: int, products: list[dict[str, Any]], *,
               timelock_delay: int = 3_600, oracle: tuple[list[str], int] | None = None,
               roles: dict[str, list[str]] | None = None, admin_transfer_delay: int = 86_400,
               name: str = "devkit") -> Deployment:
    """The deployment model, validated as a deployment file is. ``admin``: the deployer's address
    (proposer and executor of the timelock too); ``attestors``/``oracle``: signer addresses (oracle:
    (signers, f)); ``roles``: token roles by file field (``minters``, ``pausers``, ...)."""
    data: dict[str, Any] = {
        "name": name,
        "roles": {"admin": admin, "admin_transfer_delay": admin_transfer_delay, **(roles or {})},
        "timelock": {"delay": timelock_delay, "proposers": [admin], "executors": [admin]},
        "attestors": {"signers": list(attestors), "quorum": quorum},
        "products": products,
    }
    if oracle is not None:
        data["oracle"] = {"signers": list(oracle[0]), "f": oracle[1]}
    return Deployment.model_validate(data)


@dataclass
class Live:
    """What ``apply`` deployed: addresses from the engine's manifest, contracts with their ABIs."""
    w3: Web3
    deployment: Deployment
    manifest: Manifest
    manifest_dir: Path
    start_block: int  # the first block of the deployment (a reader's start block)

    def address(self, key: str) -> str:
        return self.manifest.address(key)

    def contract(self, key: str, artifact: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(self.address(key)), abi=load(artifact).abi)

    def token(self, symbol: str) -> Contract:
        return self.contract(f"{symbol}.token", "CommodityToken")

    def attestor(self, symbol: str) -> Contract:
        return self.contract(f"{symbol}.attestor", "ReserveAttestor")

    @property
    def timelock(self) -> Contract:
        return self.contract("timelock", "StockpileTimelock")

    @property
    def directory(self) -> Contract:
        return self.contract("directory", "Directory")

    @property
    def price_feed(self) -> Contract:
        return self.contract("price-feed", "PriceFeed")

    def adapter(self, symbol: str) -> str:
        """The Chainlink-style adapter of a product's feed."""
        code = self.deployment.product(symbol).product_code
        return self.price_feed.functions.adapterOf(feed_id(code)).call()


def apply(w3: Web3, deployer_key: str, dep: Deployment, manifest_dir: str | Path | None = None) -> Live:
    """Apply ``dep`` with the deploy engine, sending with the SDK's Sender; the manifest goes to
    ``manifest_dir`` (default: a new temporary folder)."""
    folder = Path(manifest_dir) if manifest_dir is not None else Path(tempfile.mkdtemp(prefix="devkit-deploy-"))
    start = w3.eth.block_number + 1
    engine = make_engine(dep, w3, folder)
    engine.apply(Sender(w3, Account.from_key(deployer_key), poll_latency=0.01), progress=False)
    return Live(w3, dep, engine.manifest, folder, start)


def deploy_hub(w3: Web3, deployer_key: str, signers: list[str], f: int, feeds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A PriceFeed hub (oracle ``signers``, ``f``) with a feed per product code of ``feeds`` (code ->
    ``feed(...)``), applied by the engine with those products (their tokens and attestors come with
    them: the deployer is their only attestor). Returns ``{"address": hub, "adapters": {"<code>/USD":
    adapter}, "live": Live}``."""
    deployer = Account.from_key(deployer_key).address
    products = [product(code.split("-")[0][:16], code, feed=f_cfg) for code, f_cfg in feeds.items()]
    live = apply(w3, deployer_key, deployment(deployer, [deployer], 1, products, oracle=(signers, f)))
    return {"address": live.address("price-feed"),
            "adapters": {f"{p['product_code']}/USD": live.adapter(p["symbol"]) for p in products}, "live": live}
