"""Every subcommand of `stockpile`, walked from the click app itself, with the mistakes a user makes:
an unreachable RPC, a wrong chain id, an address that is not the expected contract, a malformed
address, an unknown symbol or feed, a missing key variable, a malformed file, a port in use.

Each must end in exit code 2 and one line on stderr that names the problem, never a traceback.
A new command is found by the walk; it fails `test_every_command_is_walked` until it has a base
invocation here (or is listed in NO_USER_INPUT with the reason), so none goes unchecked.
"""

from __future__ import annotations

import json
import socket
import traceback
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import click
import pytest
from click.testing import CliRunner

from stockpile.cli import main
from stockpile.cli.options import AddressType

UNSET_VAR = "STOCKPILE_TEST_UNSET_KEY_VARIABLE"
NOT_AN_ADDRESS = "0x12345"
UNKNOWN = "NOPE"


def walk(group: click.Group, path: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from walk(cmd, (*path, name))
        else:
            yield (*path, name), cmd


COMMANDS = dict(walk(main))

# Commands that take no input a user could get wrong (nothing to walk), with the reason.
NO_USER_INPUT = {
    ("build",): "compiles contracts/ into the package: no options",
    ("toolchain", "install"): "links the compiler shim: no options",
    ("layout", "snapshot"): "writes the storage-layout snapshots: no options",
    ("layout", "check"): "compares the sources with the snapshots: no options",
    ("devnet", "down"): "stops what runs; nothing to get wrong",
    ("devnet", "status"): "reports what runs (exit 1 when something is stopped)",
    ("demo",): "the whole journey on its own anvil; --port is checked by click (IntRange)",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the files the commands read


@pytest.fixture(scope="module")
def files(chain):
    """Valid inputs (each command's base invocation works up to the mistake) and malformed ones."""
    from stockpile.merkle import lot_tree
    from stockpile.reserve.models import Attestation, report_hash

    w = chain.work
    bad = w / "malformed.yaml"
    bad.write_text("products: [unclosed\n  - {x: \n")
    bad_json = w / "malformed.json"
    bad_json.write_text("{not json")
    products = w / "products.yaml"
    products.write_text(f"rpc_url: {chain.url}\ndirectory: '{chain.directory}'\nstart_block: 0\n")
    lots = w / "lots.json"
    lot = {"warehouse_id": "WH-1", "lot_id": "LOT-1", "product_code": "NDPR-OXIDE", "form": "powder",
           "purity_ppm": 995000, "quantity": 10**21, "assay_ref": "A-1"}
    lots.write_text(json.dumps([lot]))
    tree = lot_tree([tuple(lot.values())])
    tree_file = w / "tree.json"
    tree_file.write_text(tree.dumps())
    report = w / "report.txt"
    report.write_text("custodian report")
    att = Attestation.of_tree(tree, 1_700_000_000, report_hash(report.read_bytes()))
    att_file = w / "att.json"
    att_file.write_text(att.model_dump_json())
    sig = w / "sig.json"
    sig.write_text(json.dumps({"signer": "0x" + "11" * 20, "signature": "0x" + "22" * 65,
                               "config_digest": "0x" + "33" * 32, "deadline": 1_800_000_000}))
    feeder = w / "feeder.yaml"
    feeder.write_text(f"""rpc_url: {chain.url}
feed_address: "{chain.price_feed}"
state_db: "sqlite:///{w / 'oracle.db'}"
signers: [{{key_env: {UNSET_VAR}}}, {{key_env: {UNSET_VAR}}}, {{key_env: {UNSET_VAR}}}]
transmitter: {{key_env: {UNSET_VAR}}}
sources: {{sim: {{kind: simulated, start: {{NDPR-OXIDE/USD: "62.5"}}, unit: USD/kg}}}}
products: [{{symbol: NDPR-OXIDE/USD, unit: USD/kg, decimals: 8, sources: [{{source: sim, key: NDPR-OXIDE/USD}}]}}]
metrics: {{host: 127.0.0.1, port: {_free_port()}}}
""")
    export = w / "custody.csv"
    export.write_text("not,a,custody\nexport,at,all\n")
    oracle_node = w / "oracle-node.yaml"  # one operator's node: its key names an unset variable
    oracle_node.write_text(json.dumps({
        "chain_id": 31337, "rpc_url": chain.url, "feed_address": chain.price_feed, "key": {"key_env": UNSET_VAR},
        "state_db": str(w / "oracle-node.sqlite"), "server": {"port": 0},
        "sources": {"sim": {"kind": "simulated", "start": {"NDPR-OXIDE/USD": "62.5"}, "unit": "USD/kg"}},
        "products": [{"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "sim", "key": "NDPR-OXIDE/USD"}]}]}))
    (w / "exports").mkdir(exist_ok=True)
    reserve_node = w / "reserve-node.yaml"  # one custodian attestor: its account names an unset variable
    reserve_node.write_text(json.dumps({
        "name": "custodian-1", "chain_id": 31337, "rpc_url": chain.url, "account": f"env:{UNSET_VAR}",
        "state_dir": str(w / "reserve-node"), "custody": {"exports": str(w / "exports")},
        "products": {"NDPR-OXIDE": {"attestor": chain.attestor}}, "server": {"port": 0}}))
    nodes = w / "nodes.yaml"  # the attestor nodes a transmitter collects from
    nodes.write_text(json.dumps({"nodes": [{"name": "custodian-1", "url": f"http://127.0.0.1:{_free_port()}",
                                            "token_env": "NODE_TOKEN"}]}))
    return SimpleNamespace(bad=bad, bad_json=bad_json, products=products, lots=lots, tree=tree_file, report=report,
                           att=att_file, sig=sig, feeder=feeder, export=export, oracle_node=oracle_node,
                           reserve_node=reserve_node, nodes=nodes, db=w / "custody.db",
                           keystore_dir=w / "keystores", devnet=w / "devnet", out=w / "out")


@pytest.fixture(scope="module")
def proposal(chain, files):
    """A Safe (deployed here) and a proposal file for it, for `safe sign | execute | show`."""
    from stockpile.safe.contracts import create_safe, deploy_safe_singletons
    from stockpile.safe.via import SafeProposalSubmitter
    from stockpile.sdk.transactions import Sender
    from eth_account import Account

    owner = Account.from_key(chain.keys[1])
    sender = Sender(chain.w3, Account.from_key(chain.keys[0]))
    safe = create_safe(sender, deploy_safe_singletons(sender), [owner.address], 1, 7)
    out = chain.work / "proposal.json"
    sub = SafeProposalSubmitter(chain.w3, safe, out, None, None, "walk")
    token = chain.w3.eth.contract(address=chain.token, abi=[{"type": "function", "name": "pause", "inputs": [],
                                                             "outputs": [], "stateMutability": "nonpayable"}])
    sub.transact(token.functions.pause())
    sub.finish()
    return SimpleNamespace(safe=safe, file=out)


# ------------------------------------------------------------------ each command's base invocation
# A list of arguments that the command accepts (the mistakes below are put into it), keyed by the
# command's path. `{rpc}`-style fields are filled from the fixtures.

def base_invocations(c, f, p) -> dict[tuple[str, ...], list]:
    rpc = ["--rpc-url", c.url]
    manifest = ["--manifest", c.manifest]
    deploy = [c.deployment, *rpc, "--manifest-dir", c.manifest_dir, "--account", f"env:{'DEPLOYER_KEY'}"]
    return {
        ("deploy", "validate"): [c.deployment],
        ("deploy", "plan"): deploy,
        ("deploy", "apply"): deploy,
        ("deploy", "handover"): deploy,
        ("deploy", "accept-admin"): deploy,
        ("deploy", "verify"): [*rpc, "--manifest-dir", c.manifest_dir],
        ("deploy", "new-keystore"): [f.keystore_dir / "k.json", "--passphrase-env", "KEYSTORE_PASS",
                                     "--from-account", "env:DEPLOYER_KEY"],
        ("basket", "composition"): ["SMB", *rpc, *manifest],
        ("basket", "nav"): ["SMB", *rpc, *manifest],
        ("basket", "create"): ["SMB", "1", *rpc, *manifest, "--account", "env:DEPLOYER_KEY"],
        ("basket", "redeem"): ["SMB", "1", *rpc, *manifest, "--account", "env:DEPLOYER_KEY"],
        ("devnet", "up"): ["--dir", f.devnet],
        ("devnet", "env"): ["--dir", f.devnet],
        ("oracle", "run-once"): ["--config", f.feeder, "--local-signers"],
        ("oracle", "run"): ["--config", f.feeder, "--max-runs", "1", "--local-signers"],
        ("oracle", "node"): ["--config", f.oracle_node],
        ("oracle", "prices"): [*rpc, "--price-feed", c.price_feed, "NDPR-OXIDE/USD"],
        ("portal", "serve"): ["--products", f.products, "--db", f.db, "--port", _free_port()],
        ("reconcile", "ingest"): [f.export, "--db", f.db, "--quiet"],
        ("reconcile", "run"): ["--products", f.products, "--db", f.db, "--out", f.out, "--quiet"],
        ("reconcile", "watch"): ["--products", f.products, "--db", f.db, "--out", f.out, "--quiet", "--iterations",
                                 "1", "--metrics-port", _free_port()],
        ("reconcile", "generate"): [f.out / "gen.csv", "--lots", "3"],
        ("reserve", "attestation"): [f.lots, "--as-of", "1700000000", "--report", f.report],
        ("reserve", "sign"): [f.att, "--chain-id", "31337", "--attestor", c.attestor, *rpc,
                              "--account", "env:DEPLOYER_KEY"],
        ("reserve", "submit"): [f.att, f.sig, *rpc, "--attestor", c.attestor, "--account", "env:DEPLOYER_KEY"],
        ("reserve", "status"): [*rpc, "--attestor", c.attestor],
        ("reserve", "node"): ["--config", f.reserve_node],
        ("reserve", "attest"): [f.lots, "--as-of", "1700000000", "--report", f.report, *rpc, "--attestor", c.attestor,
                                "--nodes", f.nodes, "--account", "env:DEPLOYER_KEY", "--state", f.out / "attest.db"],
        ("reserve", "proof"): [f.tree, "LOT-1", *rpc, "--attestor", c.attestor],
        ("safe", "create"): [*rpc, "--account", "env:DEPLOYER_KEY", "--owner", _address(c.keys[1]), "--threshold", "1"],
        ("safe", "propose"): [*rpc, "--safe", p.safe, "--to", c.token, "--abi-fn", "pause()", "--out",
                              f.out / "prop.json"],
        ("safe", "sign"): [p.file, *rpc, "--account", "env:DEPLOYER_KEY"],
        ("safe", "execute"): [p.file, *rpc, "--account", "env:DEPLOYER_KEY"],
        ("safe", "show"): [p.file, *rpc],
        **token_invocations(c),
    }


def token_invocations(c) -> dict[tuple[str, ...], list]:
    """`stockpile token ...`: every command takes SYMBOL and the deployment (--directory or --manifest)."""
    rpc = ["--rpc-url", c.url, "--manifest", c.manifest, "--account", "env:DEPLOYER_KEY"]
    holder = _address(c.keys[8])
    return {
        ("token", "mint"): ["NDPR", holder, "1", "--mint-id", "walk-1", *rpc],
        ("token", "transfer"): ["NDPR", holder, "1", *rpc],
        ("token", "redeem"): ["NDPR", "100", "--delivery", "DO-1", *rpc],
        ("token", "accept"): ["NDPR", "1", *rpc],
        ("token", "complete"): ["NDPR", "1", *rpc],
        ("token", "reject"): ["NDPR", "1", "--reason", "no", *rpc],
        ("token", "pause"): ["NDPR", *rpc],
        ("token", "unpause"): ["NDPR", *rpc],
        ("token", "pause-minting"): ["NDPR", *rpc],
        ("token", "unpause-minting"): ["NDPR", *rpc],
        ("token", "freeze"): ["NDPR", holder, *rpc],
        ("token", "unfreeze"): ["NDPR", holder, *rpc],
        ("token", "allowlist"): ["LI2CO3", holder, *rpc],
        ("token", "info"): ["NDPR", "--rpc-url", c.url, "--manifest", c.manifest],
        ("token", "balance"): ["NDPR", holder, "--rpc-url", c.url, "--manifest", c.manifest],
    }


def _address(key: str) -> str:
    from eth_account import Account

    return Account.from_key(key).address


# ------------------------------------------------------------------ the mistakes

def _params(cmd: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in cmd.params if p.name}


def _replace(args: list, flag: str, value) -> list | None:
    if flag not in args:
        return None
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def unreachable_rpc(cmd, args, ctx):
    if "rpc_url" not in _params(cmd):
        return None
    dead = f"http://127.0.0.1:{_free_port()}"
    new = _replace(args, "--rpc-url", dead) or [*args, "--rpc-url", dead]
    return new, ("cannot reach",)


def wrong_chain_id(cmd, args, ctx):
    ps = _params(cmd)
    if "chain_id" not in ps or "rpc_url" not in ps or "--rpc-url" not in args:
        return None
    new = _replace(args, "--chain-id", "999") or [*args, "--chain-id", "999"]
    return new, ("chain id",)


CONTRACT_FLAGS = ("--attestor", "--price-feed", "--safe", "--directory")


def not_the_expected_contract(cmd, args, ctx):
    """A contract address where another is expected: the NDPR token's (the Directory's for --directory)."""
    for flag in CONTRACT_FLAGS:
        if flag in args:
            other = ctx.chain.directory if flag != "--directory" else ctx.chain.token
            return _replace(args, flag, other), ("not a", "no contract", "refused", "expected")
    if "--manifest" in args and cmd.name != "new-keystore":
        wrong = ctx.chain.work / "wrong-manifest.json"
        data = json.loads(Path(ctx.chain.manifest).read_text())
        data["contracts"]["directory"]["address"] = ctx.chain.token
        wrong.write_text(json.dumps(data))
        return _replace(args, "--manifest", wrong), ("not a", "no contract", "refused", "expected", "Directory")
    return None


def malformed_address(cmd, args, ctx):
    for i, a in enumerate(args):
        if isinstance(a, str) and a.startswith("--"):
            p = next((p for p in cmd.params if isinstance(p, click.Option) and a in p.opts), None)
            if p is not None and isinstance(p.type, AddressType):
                return [*args[:i + 1], NOT_AN_ADDRESS, *args[i + 2:]], (NOT_AN_ADDRESS,)
    for i, p in enumerate(q for q in cmd.params if isinstance(q, click.Argument)):
        if isinstance(p.type, AddressType):
            return [*args[:i], NOT_AN_ADDRESS, *args[i + 1:]], (NOT_AN_ADDRESS,)
    return None


KNOWN = ("NDPR", "LI2CO3", "SMB", "NDPR-OXIDE/USD", "LOT-1")  # the symbols, feeds and lot ids of the base invocations


def unknown_symbol(cmd, args, ctx):
    names = {p.name for p in cmd.params if isinstance(p, click.Argument)}
    if not names & {"symbol", "symbols", "lot_id"}:
        return None
    i = next(i for i, a in enumerate(args) if a in KNOWN)
    return [*args[:i], UNKNOWN, *args[i + 1:]], (UNKNOWN,)


def missing_key_variable(cmd, args, ctx):
    for i, a in enumerate(args):
        if isinstance(a, str) and a.startswith("env:"):
            return [*args[:i], f"env:{UNSET_VAR}", *args[i + 1:]], (UNSET_VAR,)
    if "--passphrase-env" in args:
        return _replace(args, "--passphrase-env", UNSET_VAR), (UNSET_VAR,)
    if cmd.name in ("run-once", "run", "node") and "--config" in args:  # the configs' keys name unset variables
        return args, (UNSET_VAR,)
    if "guardian_account_spec" in _params(cmd):
        return [*args, "--guardian-account", f"env:{UNSET_VAR}"], (UNSET_VAR,)
    return None


FILE_FLAGS = ("--config", "--products", "--manifest")


def malformed_file(cmd, args, ctx):
    f = ctx.files
    for flag in FILE_FLAGS:
        if flag in args:
            bad = f.bad_json if flag == "--manifest" else f.bad
            return _replace(args, flag, bad), (bad.name,)
    for i, (a, p) in enumerate(zip(args, [q for q in cmd.params if isinstance(q, click.Argument)])):
        if isinstance(p.type, click.Path) and isinstance(a, Path) and a.exists() and p.name != "out":
            bad = f.bad_json if a.suffix == ".json" else f.bad
            if cmd.name == "ingest":
                bad = f.export
            return [*args[:i], bad, *args[i + 1:]], (bad.name,)
    return None


def port_in_use(cmd, args, ctx):
    flags = [o for p in cmd.params if isinstance(p, click.Option) and p.name and "port" in p.name for o in p.opts]
    if cmd.name == "run" and "--config" in args:  # the feeder's metrics port is in its config
        busy = ctx.busy_port
        cfg = ctx.files.feeder.read_text().replace(f"port: {ctx.feeder_port}", f"port: {busy}")
        path = ctx.chain.work / "feeder-busy.yaml"
        path.write_text(cfg.replace(f"key_env: {UNSET_VAR}", "key_env: DEPLOYER_KEY"))
        return _replace(args, "--config", path), (str(busy), "in use")
    for flag in flags:
        if flag in ("--port", "--metrics-port", "--rpc-port"):
            new = _replace(args, flag, ctx.busy_port) or [*args, flag, ctx.busy_port]
            return new, (str(ctx.busy_port), "in use")
    return None


MISTAKES: dict[str, Callable] = {
    "unreachable-rpc": unreachable_rpc,
    "wrong-chain-id": wrong_chain_id,
    "not-the-expected-contract": not_the_expected_contract,
    "malformed-address": malformed_address,
    "unknown-symbol": unknown_symbol,
    "missing-key-variable": missing_key_variable,
    "malformed-file": malformed_file,
    "port-in-use": port_in_use,
}


@pytest.fixture(scope="module")
def walk_ctx(chain, files, proposal):
    import re

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        feeder_port = int(re.search(r"port: (\d+)", files.feeder.read_text()).group(1))
        yield SimpleNamespace(chain=chain, files=files, proposal=proposal, busy_port=busy.getsockname()[1],
                              feeder_port=feeder_port,
                              base=base_invocations(chain, files, proposal))


def _run(ctx, args: list) -> tuple:
    env = {"DEPLOYER_KEY": ctx.chain.keys[0], "KEYSTORE_PASS": "walk", "STOCKPILE_RPC_URL": None,
           "STOCKPILE_ACCOUNT": None, "STOCKPILE_GUARDIAN_ACCOUNT": None, UNSET_VAR: None,
           "STOCKPILE_DEVNET_DIR": None}
    return CliRunner(mix_stderr=False).invoke(main, [str(a) for a in args], env=env, prog_name="stockpile")


# ------------------------------------------------------------------ the tests


def test_every_command_is_walked(walk_ctx):
    """The walk finds every command; each has a base invocation or a reason it takes no user input."""
    missing = [" ".join(p) for p in COMMANDS if p not in walk_ctx.base and p not in NO_USER_INPUT]
    assert not missing, f"commands without a base invocation in {__file__}: {missing}"
    stale = [" ".join(p) for p in walk_ctx.base if p not in COMMANDS]
    assert not stale, f"base invocations of commands that do not exist: {stale}"


def test_every_option_has_help():
    bare = [f"{' '.join(p)} {o.opts[0]}" for p, cmd in COMMANDS.items() for o in cmd.params
            if isinstance(o, click.Option) and not o.help]
    assert not bare


def test_old_option_spellings_are_gone():
    """One name per concept: the RPC URL is --rpc-url, accounts are --account SPEC, the passphrase --passphrase-env."""
    old = {"--network", "-n", "--rpc", "--key-env", "--password-env", "--keystore", "--contract-address",
           "--feed-address", "--guardian-key-env", "--from-key-env"}
    found = [f"{' '.join(p)} {o}" for p, cmd in COMMANDS.items() for q in cmd.params for o in q.opts if o in old]
    assert not found


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_every_command_names_the_mistake_in_one_line(walk_ctx, mistake):
    """For each command the mistake applies to: exit 2, one line on stderr naming it, no traceback."""
    failures, tried = [], []
    for path in sorted(walk_ctx.base):
        made = MISTAKES[mistake](COMMANDS[path], list(walk_ctx.base[path]), walk_ctx)
        if made is None:
            continue
        args, names = made
        tried.append(" ".join(path))
        r = _run(walk_ctx, [*path, *args])
        err = r.stderr.strip()
        tb = "".join(traceback.format_exception(r.exception)) if r.exception and not isinstance(
            r.exception, SystemExit) else ""
        lines = err.splitlines()
        if r.exit_code != 2 or len(lines) != 1 or tb or "Traceback" in r.output + err or \
                not any(n.lower() in err.lower() for n in names):
            failures.append(f"{' '.join(path)} {' '.join(map(str, args))}\n  exit {r.exit_code}, stderr: {err!r}"
                            f"{chr(10) + tb if tb else ''}")
    assert tried, f"{mistake}: applies to no command"
    assert not failures, f"{mistake}: {len(failures)} of {len(tried)} commands:\n" + "\n".join(failures)
