"""A local network with the sample deployment, for the portal's tests and ``stockpile devnet``.

:func:`prepare` runs the main journey's steps (``stockpile.demo``) on a chain that stays up: the
sample deployment file applied, the three sample custody exports ingested re-dated to the chain's
time (the samples say 2026-11-20; an attestation that old is refused as stale), every product's
reserve attested by the custodian's attestors, prices published from the simulated market, a
holder journey (mint, transfer, permit, redeem), and two reconciliations (clean; then with a lot
released in a newer export). Everything uses anvil's public development keys.
"""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from rich.console import Console

from stockpile.toolchain.anvil import dev_keys


def prepare(url: str, work: str | Path, console: Console | None = None, price_rounds: int = 2) -> dict:
    from stockpile import demo
    from stockpile.oracle.api import publish_simulated_prices

    console = console or Console(file=io.StringIO())
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    keys = dev_keys()
    sp, manifest = demo._deploy(url, keys, work, console)
    db, catalogue, as_of = demo._ingest_samples(sp, work, console)
    lots = demo._attest_reserves(sp, db, as_of, keys, console)
    prices = {f"{p.product_code}/USD": demo.START_PRICES[p.product_code] for p in sp.products() if p.feed}
    for seed in range(7, 7 + price_rounds):  # a few rounds so the price chart has a history
        publish_simulated_prices(url, manifest.address("price-feed"), prices,
                                 signer_keys=[keys[i] for i in demo.ORACLES], transmitter_key=keys[demo.TRANSMITTER],
                                 seed=seed, state_db=f"sqlite:///{work / 'oracle.db'}")
        sp.w3.provider.make_request("evm_increaseTime", [120])
        sp.w3.provider.make_request("evm_mine", [])
    demo._holder_journey(sp, keys, lots, console)
    demo._reconcile(sp, db, catalogue, as_of, work, console)
    db.dispose()
    products_file = work / "products.yaml"
    products_file.write_text(yaml.safe_dump({"rpc_url": url, "directory": sp.directory, "start_block": 0}))
    return {"rpc_url": url, "directory": sp.directory, "db": str(work / "custody.db"), "products": str(products_file),
            "feed": manifest.address("price-feed"), "as_of": as_of,
            "holder": sp.w3.eth.account.from_key(keys[demo.HOLDER]).address,
            "friend": sp.w3.eth.account.from_key(keys[demo.FRIEND]).address}
