"""A local network with the sample deployment, for the portal's tests and ``stockpile devnet``.

:func:`prepare` runs the main journey's steps (``stockpile.demo``) on a chain that stays up: the
sample deployment file applied, the three sample custody exports ingested re-dated to the chain's
time (the samples say 2026-11-20; an attestation that old is refused as stale), every product's
reserve attested by the custodian's attestors, prices published from the simulated market, a
holder journey (mint, transfer, permit, redeem), and two reconciliations (clean; then with a lot
released in a newer export). Everything uses anvil's public development keys.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from stockpile.cli import options
from stockpile.cli.errors import CliError
import yaml
from rich.console import Console

from stockpile.toolchain.anvil import dev_keys
from stockpile.errors import StockpileError


def prepare(url: str, work: str | Path, console: Console | None = None, price_rounds: int = 2) -> dict:
    from stockpile import demo
    from stockpile.oracle.feeder import simulated_round

    console = console or Console(file=io.StringIO())
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    keys = dev_keys()
    sp, manifest = demo._deploy(url, keys, work, console)
    db, catalogue, as_of = demo._ingest_samples(sp, work, console)
    lots = demo._attest_reserves(sp, db, as_of, keys, console)
    prices = {f"{p.product_code}/USD": demo.START_PRICES[p.product_code] for p in sp.products() if p.feed}
    for seed in range(7, 7 + price_rounds):  # a few rounds so the price chart has a history
        simulated_round(url, manifest.address("price-feed"), prices,
                        signer_keys=[keys[i] for i in demo.ORACLES], transmitter_key=keys[demo.TRANSMITTER],
                        seed=seed, state_db=f"sqlite:///{work / 'oracle.db'}")
        sp.w3.provider.make_request("evm_increaseTime", [120])
        sp.w3.provider.make_request("evm_mine", [])
    demo._holder_journey(sp, keys, lots, console)
    demo._basket_journey(sp, manifest, keys, console)  # SMB shares outstanding: the portal's basket look-through
    demo._reconcile(sp, db, catalogue, as_of, work, console)
    db.dispose()
    products_file = work / "products.yaml"
    products_file.write_text(yaml.safe_dump({"rpc_url": url, "directory": sp.directory, "start_block": 0}))
    return {"rpc_url": url, "directory": sp.directory, "db": str(work / "custody.db"), "products": str(products_file),
            "feed": manifest.address("price-feed"), "as_of": as_of,
            "holder": sp.w3.eth.account.from_key(keys[demo.HOLDER]).address,
            "friend": sp.w3.eth.account.from_key(keys[demo.FRIEND]).address}


# ---------------------------------------------------------------------------------------------
# `stockpile devnet up | down | status | env`: the same network, kept running in the background.

CONFIG = "devnet.json"
COMPONENTS = ("anvil", "feeder", "watch", "portal")  # started in this order, stopped in reverse
REATTEST_AFTER = 3600  # seconds: an older attestation is renewed (re-dated custody records) on `up`


class DevnetError(StockpileError, click.ClickException):
    exit_code = 2


def _cfg_path(d: Path) -> Path:
    return d / CONFIG


def load_config(d: Path) -> dict | None:
    p = _cfg_path(d)
    return json.loads(p.read_text()) if p.exists() else None


def _save(d: Path, cfg: dict) -> None:
    _cfg_path(d).write_text(json.dumps(cfg, indent=2))


def _pid_file(d: Path, name: str) -> Path:
    return d / "run" / f"{name}.pid"


def running(d: Path, name: str) -> int | None:
    """The component's pid if its process is alive and is the one this devnet started."""
    p = _pid_file(d, name)
    if not p.exists():
        return None
    try:
        pid = int(p.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (ValueError, OSError):
        return None
    return pid if str(d.resolve()) in cmdline else None


def _spawn(d: Path, name: str, cmd: list[str], env: dict | None = None) -> int:
    (d / "run").mkdir(parents=True, exist_ok=True)
    (d / "logs").mkdir(parents=True, exist_ok=True)
    with open(d / "logs" / f"{name}.log", "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, **(env or {})}, cwd=d)
    _pid_file(d, name).write_text(str(proc.pid))
    return proc.pid


def _stop(d: Path, name: str, timeout: float = 20) -> bool:
    pid = running(d, name)
    if pid is None:
        _pid_file(d, name).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        if _zombie(pid):
            break
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists() and not _zombie(pid):
        os.kill(pid, signal.SIGKILL)
    _pid_file(d, name).unlink(missing_ok=True)
    return True


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _wait_http(url: str, body: dict | None, timeout: float, what: str, d: Path, name: str) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    pid = int(_pid_file(d, name).read_text())
    with httpx.Client(timeout=2) as client:  # one client: each new one loads the CA bundle (~30 ms CPU)
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _zombie(pid):
                log = d / "logs" / f"{name}.log"
                tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
                raise DevnetError(f"{what} exited; see {log}: {' | '.join(tail)}")
            try:
                r = client.post(url, json=body) if body else client.get(url)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    raise DevnetError(f"{what} did not answer at {url} within {timeout:.0f}s")


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _feeder_config(d: Path, cfg: dict) -> Path:
    from stockpile import demo

    work = d / "work"
    prices = {f"{code}/USD": str(p) for code, p in demo.START_PRICES.items()}
    doc = {
        "rpc_url": cfg["rpc_url"], "feed_address": cfg["deployment"]["feed"],
        "state_db": f"sqlite:///{work / 'oracle.db'}", "interval_seconds": 30,
        "signers": [{"key_env": f"STOCKPILE_ORACLE{i}_KEY"} for i in range(len(demo.ORACLES))],
        "transmitter": {"key_env": "STOCKPILE_TRANSMITTER_KEY"},
        "sources": {"sim": {"kind": "simulated", "start": prices, "unit": "USD/kg", "seed": 11, "step_bps": 50}},
        "products": [{"symbol": s, "unit": "USD/kg", "decimals": 8, "sources": [{"source": "sim", "key": s}]}
                     for s in prices],
        "metrics": {"host": "127.0.0.1", "port": cfg["feeder_metrics_port"], "enabled": True},
    }
    path = work / "feeder.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _keys_env() -> dict[str, str]:
    from stockpile import demo

    keys = dev_keys()
    env = {f"STOCKPILE_ORACLE{i}_KEY": keys[k] for i, k in enumerate(demo.ORACLES)}
    env["STOCKPILE_TRANSMITTER_KEY"] = keys[demo.TRANSMITTER]
    env["STOCKPILE_GUARDIAN_KEY"] = keys[demo.DEPLOYER]  # the sample file's pauser (--guardian-account env:...)
    return env


def _renew_attestations(cfg: dict, console: Console) -> list[str]:
    """Attest again from the sample custody records re-dated to the chain's time when the last
    attestation is older than REATTEST_AFTER (a devnet brought up again a day later)."""
    from stockpile import demo
    from stockpile.sdk import Stockpile

    keys = dev_keys()
    sp = Stockpile.connect(cfg["rpc_url"], directory=cfg["deployment"]["directory"])
    now = sp.w3.eth.get_block("latest")["timestamp"]
    old = [p.symbol for p in sp.products()
           if (a := sp.product(p.symbol).attestation()) is None or now - a.as_of > REATTEST_AFTER]
    if not old:
        return []
    from eth_account import Account

    sp = Stockpile.connect(sp.w3, directory=cfg["deployment"]["directory"], account=Account.from_key(keys[demo.DEPLOYER]))
    db, _catalogue, as_of = demo._ingest_samples(sp, Path(cfg["deployment"]["db"]).parent, console)
    try:
        demo._attest_reserves(sp, db, as_of, keys, console)
    finally:
        db.dispose()
    return old


def _keep_clock_forward(w3) -> None:
    """A restored anvil mines its next blocks at the wall clock, which can be before its last block
    (the chain was ahead: evm_increaseTime in the demo steps, or a test moving time). Time then runs
    backwards: attestations would be "from the future" and price reports stale. Set the node's clock
    to just after its last block when that is ahead of the wall clock."""
    last = w3.eth.get_block("latest")["timestamp"]
    if last >= int(time.time()):
        w3.provider.make_request("evm_setTime", [last + 1])


def devnet_up(d: Path, rpc_port: int, portal_port: int, feeder_metrics_port: int, watch_metrics_port: int,
              say=print) -> dict:
    from stockpile.toolchain.anvil import DEFAULT_MNEMONIC
    from stockpile.toolchain.paths import node_bin

    d = d.resolve()
    d.mkdir(parents=True, exist_ok=True)
    cfg = load_config(d) or {"rpc_url": f"http://127.0.0.1:{rpc_port}", "rpc_port": rpc_port, "portal_port": portal_port,
                             "feeder_metrics_port": feeder_metrics_port, "watch_metrics_port": watch_metrics_port}
    _save(d, cfg)
    if running(d, "anvil") is None:
        state = d / "anvil-state.json"
        cmd = [str(node_bin("anvil")), "--host", "127.0.0.1", "--port", str(cfg["rpc_port"]), "--chain-id", "31337",
               "--accounts", "10", "--mnemonic", DEFAULT_MNEMONIC, "--state", str(state), "--state-interval", "5", "--silent"]
        _spawn(d, "anvil", cmd)
        _wait_http(cfg["rpc_url"], {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, 30,
                   "anvil", d, "anvil")
        restored = state.exists()
        say(f"anvil on {cfg['rpc_url']} (state {'restored from' if restored else 'kept in'} {state})")
    else:
        restored = False
    from web3 import Web3
    from stockpile.sdk.rpc import connect

    w3 = connect(cfg["rpc_url"])
    if restored:
        _keep_clock_forward(w3)
    dep = cfg.get("deployment")
    if dep and not w3.eth.get_code(Web3.to_checksum_address(dep["directory"])):
        say("the chain state does not hold the deployment (state file lost?): deploying again")
        dep = None
        if (d / "work").exists():  # its manifest would say "already deployed"
            (d / "work").rename(d / f"work.lost-{int(time.time())}")
    console = Console(file=io.StringIO())
    if dep is None:
        say("applying the sample deployment, ingesting and attesting the sample custody records (re-dated to now), "
            "publishing prices, running the holder journey and two reconciliations...")
        dep = prepare(cfg["rpc_url"], d / "work", console)
        cfg["deployment"] = dict(dep)
        _save(d, cfg)
    else:
        renewed = _renew_attestations(cfg, console)
        if renewed:
            say(f"attestations renewed from re-dated custody records: {', '.join(sorted(renewed))}")
    dep = cfg["deployment"]
    env = _keys_env()
    work = d / "work"
    if running(d, "feeder") is None:
        _spawn(d, "feeder", [_bin("stockpile"), "oracle", "run", "--local-signers", "--config", str(_feeder_config(d, cfg))], env)
    if running(d, "watch") is None:
        _spawn(d, "watch", [_bin("stockpile"), "reconcile", "watch", "--products", dep["products"], "--db", dep["db"],
                            "--confirmations", "0", "--interval", "30", "--metrics-port", str(cfg["watch_metrics_port"]),
                            "--guardian-account", "env:STOCKPILE_GUARDIAN_KEY",
                            "--out", str(work / "reconcile-report"), "--quiet"], env)
    if running(d, "portal") is None:
        _spawn(d, "portal", [_bin("stockpile"), "portal", "serve", "--products", dep["products"], "--db", dep["db"],
                             "--port", str(cfg["portal_port"]), "--refresh", "5"])
    _wait_http(f"http://127.0.0.1:{cfg['portal_port']}/api/status", None, 180, "the portal", d, "portal")
    return cfg


def devnet_status(d: Path) -> dict:
    import httpx

    d = d.resolve()
    cfg = load_config(d) or {}
    out: dict = {"dir": str(d), "components": {n: running(d, n) for n in COMPONENTS}}
    if cfg.get("rpc_url") and out["components"]["anvil"]:
        try:
            r = httpx.post(cfg["rpc_url"], json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                           timeout=3)
            out["block"] = int(r.json()["result"], 16)
        except (httpx.HTTPError, KeyError, ValueError):
            out["block"] = None
    if cfg.get("portal_port") and out["components"]["portal"]:
        try:
            out["portal"] = httpx.get(f"http://127.0.0.1:{cfg['portal_port']}/api/status", timeout=3).status_code == 200
        except httpx.HTTPError:
            out["portal"] = False
    return out


def devnet_env(cfg: dict) -> list[str]:
    from stockpile import demo

    keys = dev_keys()
    dep = cfg["deployment"]
    from eth_account import Account

    lines = [
        "# Stockpile devnet (anvil's public development keys: never use them on a real network)",
        f"export STOCKPILE_RPC_URL={cfg['rpc_url']}",
        f"export STOCKPILE_DIRECTORY={dep['directory']}",
        f"export STOCKPILE_PORTAL=http://127.0.0.1:{cfg['portal_port']}",
        f"export STOCKPILE_PRODUCTS={dep['products']}",
        f"export STOCKPILE_DB={dep['db']}",
        f"# holder {Account.from_key(keys[demo.HOLDER]).address}: holds every product (the SDK quickstart's wallet)",
        f"export WALLET_KEY={keys[demo.HOLDER]}",
        f"# deployer {Account.from_key(keys[demo.DEPLOYER]).address}: minter, redemption operator, pauser",
        f"export STOCKPILE_DEPLOYER_KEY={keys[demo.DEPLOYER]}",
        f"# second holder {Account.from_key(keys[demo.FRIEND]).address}",
        f"export FRIEND_KEY={keys[demo.FRIEND]}",
    ]
    return lines


DIR_OPTION = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path(".devnet"),
                          show_default=True, envvar="STOCKPILE_DEVNET_DIR", help="state, logs and pid files")


@click.group()
def devnet() -> None:
    """A local network that stays up: anvil (state kept in a file), the sample deployment, the price
    feeder, `reconcile watch` and the portal, as background processes."""


@devnet.command()
@DIR_OPTION
@options.port_option("anvil", flag="--rpc-port", help="anvil's port on 127.0.0.1")
@options.port_option("portal", flag="--portal-port", help="the portal's port on 127.0.0.1")
@options.port_option("oracle-metrics", flag="--feeder-metrics-port", help="the price feeder's /metrics and /health port")
@options.port_option("reconcile-metrics", flag="--watch-metrics-port", help="`reconcile watch`'s /metrics port")
def up(directory, rpc_port, portal_port, feeder_metrics_port, watch_metrics_port) -> None:
    """Start what is not running (the first time: deploy, attest, publish prices); print the environment."""
    d = directory.resolve()
    kept = load_config(d) or {}  # a devnet brought up again keeps its ports
    ports = {"--rpc-port": kept.get("rpc_port", rpc_port), "--portal-port": kept.get("portal_port", portal_port),
             "--feeder-metrics-port": kept.get("feeder_metrics_port", feeder_metrics_port),
             "--watch-metrics-port": kept.get("watch_metrics_port", watch_metrics_port)}
    for (flag, port), name in zip(ports.items(), ("anvil", "portal", "feeder", "watch")):
        if running(d, name) is None:
            options.check_port_free(options.LOCAL_HOST, port, flag)
    if len(set(ports.values())) < len(ports):
        raise CliError(f"two components on one port: {ports}")
    try:
        cfg = devnet_up(directory, rpc_port, portal_port, feeder_metrics_port, watch_metrics_port, say=click.echo)
    except click.ClickException:
        raise
    except Exception as exc:  # a step of the set-up failed: say which, leave the logs
        raise DevnetError(f"devnet up failed: {type(exc).__name__}: {exc} (logs in {directory.resolve() / 'logs'}; "
                          "`stockpile devnet down` stops what started)") from None
    st = devnet_status(directory)
    for n in COMPONENTS:
        click.echo(f"  {n:7} pid {st['components'][n]}  log {directory.resolve() / 'logs' / (n + '.log')}")
    click.echo(f"portal: http://127.0.0.1:{cfg['portal_port']}/   (stop everything: stockpile devnet down)")
    click.echo("\n".join(devnet_env(cfg)))


@devnet.command()
@DIR_OPTION
def down(directory) -> None:
    """Stop the background processes (anvil last: it writes its state file on the way out)."""
    d = directory.resolve()
    for n in reversed(COMPONENTS):
        click.echo(f"{n}: {'stopped' if _stop(d, n) else 'was not running'}")


@devnet.command()
@DIR_OPTION
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(directory, as_json) -> None:
    """Which processes run; the chain's block; whether the portal answers. Exit 0 when all run, else 1."""
    st = devnet_status(directory)
    if as_json:
        click.echo(json.dumps(st))
    else:
        for n in COMPONENTS:
            pid = st["components"][n]
            click.echo(f"{n:7} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
        if "block" in st:
            click.echo(f"chain block {st['block']}")
        if "portal" in st:
            click.echo(f"portal answers: {st['portal']}")
    sys.exit(0 if all(st["components"].values()) else 1)


@devnet.command()
@DIR_OPTION
def env(directory) -> None:
    """Shell lines with the RPC URL, Directory address and funded dev keys (eval "$(stockpile devnet env)")."""
    cfg = load_config(directory.resolve())
    if not cfg or "deployment" not in cfg:
        raise DevnetError(f"no devnet in {directory}: run `stockpile devnet up` first")
    click.echo("\n".join(devnet_env(cfg)))
