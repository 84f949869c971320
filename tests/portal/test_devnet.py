"""`stockpile devnet up | status | env | down`: the network comes up with every process, prints what
the SDK quickstart needs, stops, and comes back with the same chain (anvil's state file)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from devkit.cli import run
from stockpile.sdk import Stockpile
from stockpile.toolchain import PROJECT_ROOT
from stockpile.toolchain.anvil import free_port

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
STOCKPILE = Path(sys.executable).parent / "stockpile"


def devnet(*args: str, d: Path, check: bool = True) -> subprocess.CompletedProcess:
    """`devnet up` runs as a real process (it leaves the node and the daemons running in their own
    sessions, as for a user); status, env, down and a refused up run in-process (devkit.cli)."""
    if args[0] == "up" and check:
        out = subprocess.run([str(STOCKPILE), "devnet", *args, "--dir", str(d)], capture_output=True, text=True,
                             timeout=400)
    else:
        out = run("devnet", *args, "--dir", d)
    if check and out.returncode != 0:
        raise AssertionError(out.stdout + out.stderr)
    return out


def quickstart_code() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    return re.search(r"```python\n(.*?)```", readme.split("## SDK quickstart", 1)[1], re.S).group(1)


def env_of(text: str) -> dict[str, str]:
    return dict(line.removeprefix("export ").split("=", 1) for line in text.splitlines() if line.startswith("export "))


@pytest.fixture
def devnet_dir(tmp_path):
    d = tmp_path / "devnet"
    yield d
    devnet("down", d=d, check=False)  # whatever the test did, nothing keeps running


def test_devnet_up_status_env_down_and_restart_keeps_the_chain(devnet_dir):
    d = devnet_dir
    ports = [str(free_port()) for _ in range(4)]
    up = devnet("up", "--rpc-port", ports[0], "--portal-port", ports[1], "--feeder-metrics-port", ports[2],
                "--watch-metrics-port", ports[3], d=d)
    assert "applying the sample deployment" in up.stdout
    st = json.loads(devnet("status", "--json", d=d).stdout)
    assert all(st["components"].values()) and st["portal"] is True, st
    env = env_of(devnet("env", d=d).stdout)
    assert env["STOCKPILE_RPC_URL"] == f"http://127.0.0.1:{ports[0]}"
    # a new user: eval "$(stockpile devnet env)", then the README's SDK quickstart runs as written
    quick = subprocess.run(["bash", "-c", f'eval "$("{STOCKPILE}" devnet env --dir "{d}")" && "{sys.executable}" -'],
                           input=quickstart_code(), capture_output=True, text=True, timeout=120)
    assert quick.returncode == 0, quick.stdout + quick.stderr
    assert "backed: True" in quick.stdout and "refused: AccessControlUnauthorizedAccount True" in quick.stdout
    # what the SDK quickstart needs: the Directory finds the products; the wallet holds NDPR at a fresh price
    wallet = Web3().eth.account.from_key(env["WALLET_KEY"])
    sp = Stockpile.connect(env["STOCKPILE_RPC_URL"], directory=env["STOCKPILE_DIRECTORY"], account=wallet)
    ndpr = sp.product("NDPR")
    balance = ndpr.balance(wallet.address).units
    assert balance > 0 and not ndpr.reserve_status().stale
    assert ndpr.holding(wallet.address).value_usd > 0
    # the attestation was made from the samples re-dated to the chain's time, not their 2026-11-20
    att = ndpr.attestation()
    assert sp.w3.eth.get_block("latest")["timestamp"] - att.as_of < 3600
    portal = httpx.get(env["STOCKPILE_PORTAL"] + "/api/products/NDPR", timeout=10).json()
    assert int(portal["total_supply"]) == ndpr.total_supply()
    for name in ("anvil", "feeder", "watch", "portal"):
        assert (d / "logs" / f"{name}.log").exists() and (d / "run" / f"{name}.pid").exists()
    ndpr.transfer(env["STOCKPILE_DIRECTORY"], 1)  # one more transaction before the restart
    sp.w3.provider.make_request("evm_increaseTime", [2 * 3600])  # brought back "later": attestations aged
    sp.w3.provider.make_request("evm_mine", [])
    block = sp.w3.eth.block_number

    down = devnet("down", d=d)
    assert down.stdout.count("stopped") == 4
    st = devnet("status", d=d, check=False)
    assert st.returncode == 1 and st.stdout.count("stopped") == 4
    with pytest.raises(httpx.HTTPError):
        httpx.get(env["STOCKPILE_PORTAL"] + "/api/status", timeout=2)

    again = devnet("up", d=d)
    assert "applying the sample deployment" not in again.stdout and "state restored" in again.stdout
    assert "attestations renewed from re-dated custody records: AG, DY, LI2CO3, NDPR, TB" in again.stdout
    assert env_of(devnet("env", d=d).stdout)["STOCKPILE_DIRECTORY"] == env["STOCKPILE_DIRECTORY"]
    sp2 = Stockpile.connect(env["STOCKPILE_RPC_URL"], directory=env["STOCKPILE_DIRECTORY"])
    assert sp2.product("NDPR").balance(wallet.address).units == balance - 1
    assert sp2.w3.eth.block_number >= block - 1  # anvil's dump may leave out the newest empty block header
    renewed = sp2.product("NDPR").attestation()
    assert renewed.round_id == att.round_id + 1 and renewed.as_of > att.as_of + 3600
    assert not sp2.product("NDPR").reserve_status().stale
    assert json.loads(devnet("status", "--json", d=d).stdout)["portal"] is True
    # the portal serves the renewed round (its index follows the new root)
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=env["STOCKPILE_PORTAL"], timeout=10) as web:  # one client for the polls
        while web.get("/api/products/NDPR").json()["attestation"]["round"] != renewed.round_id:
            assert time.monotonic() < deadline, "the portal did not pick up the renewed attestation"
            time.sleep(1)


def test_devnet_commands_on_a_folder_without_a_devnet(tmp_path):
    d = tmp_path / "nothing"
    env = devnet("env", d=d, check=False)
    assert env.returncode == 2 and "no devnet in" in env.stderr and "Traceback" not in env.stderr
    st = devnet("status", d=d, check=False)
    assert st.returncode == 1 and st.stdout.count("stopped") == 4
    assert devnet("down", d=d).stdout.count("was not running") == 4


def test_devnet_up_on_a_busy_port_fails_in_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        out = devnet("up", "--rpc-port", port, "--portal-port", str(free_port()), d=tmp_path / "d", check=False)
    assert out.returncode == 2 and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert f"--rpc-port: 127.0.0.1:{port} is already in use" in out.stderr  # refused before anything starts
    assert devnet("status", d=tmp_path / "d", check=False).stdout.count("stopped") == 4
