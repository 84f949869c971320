"""The devnet deployment made once by `stockpile.portal.devnet.prepare` and loaded into fresh nodes;
`stockpile portal serve` started on one."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml
from web3 import Web3

from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import free_port

STOCKPILE = Path(sys.executable).parent / "stockpile"


def start_portal(deployment, *extra: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(Path(deployment["work"]) / f"portal-{port}.log", "wb")
    proc = subprocess.Popen([str(STOCKPILE), "portal", "serve", "--products", deployment["products"], "--db",
                             deployment["db"], "--port", str(port), *extra], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=2) as client:  # one client: each new one loads the CA bundle (~30 ms CPU)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"portal exited {proc.returncode}: {Path(log.name).read_text()}")
            try:
                if client.get(url + "/api/status").status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    proc.terminate()
    raise TimeoutError(f"portal did not answer: {Path(log.name).read_text()}")


def prepare_shared(folder: Path) -> Path:
    """``folder`` holds a prepared devnet: ``state.json`` (anvil's chain state: accounts, storage,
    blocks, receipts and logs), ``work/`` (custody and oracle databases, manifest) and ``info.json``
    (``prepare``'s answer, and how far the chain's clock was ahead of the wall clock). Made here
    unless it exists (``info.json`` is written last)."""
    from stockpile.portal.devnet import prepare

    if (folder / "info.json").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with Anvil() as node:
        info = prepare(node.url, folder / "work")
        w3 = Web3(Web3.HTTPProvider(node.url))
        state = w3.provider.make_request("anvil_dumpState", [])["result"]  # 0x + gzipped JSON
        info["clock_ahead"] = w3.eth.get_block("latest")["timestamp"] - time.time()
    import gzip

    (folder / "state.json").write_bytes(gzip.decompress(bytes.fromhex(state[2:])))
    (folder / "info.json").write_text(json.dumps(info))
    return folder


def devnet_from(prepared: Path, work: Path, state_file: Path | None = None) -> tuple[Anvil, dict]:
    """A new anvil with the prepared chain and a copy of its work files in ``work``: (node, info as
    ``prepare`` answers it, for this node). With ``state_file`` the node keeps its state there (anvil
    ``--state``: loaded at start, written at stop), so that a restarted node has the same chain."""
    shutil.copytree(prepared / "work", work, dirs_exist_ok=True)
    info = json.loads((prepared / "info.json").read_text())
    if state_file is None:
        args = ["--load-state", str(prepared / "state.json")]
    else:
        shutil.copyfile(prepared / "state.json", state_file)
        args = ["--state", str(state_file)]
    node = Anvil(extra_args=args).start()
    try:  # a loaded node mines at the wall clock, which is behind the prepared chain (prepare moved its
        # clock forward): keep the chain's clock as far ahead as it was
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.provider.make_request("evm_setTime", [int(time.time() + info.pop("clock_ahead")) + 1])
    except BaseException:
        node.stop()
        raise
    products = work / "products.yaml"
    products.write_text(yaml.safe_dump({**yaml.safe_load((prepared / "work" / "products.yaml").read_text()),
                                        "rpc_url": node.url}))
    return node, {**info, "rpc_url": node.url, "products": str(products), "db": str(work / "custody.db")}
