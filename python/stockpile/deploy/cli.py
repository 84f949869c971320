"""``stockpile deploy``: validate, plan, apply, handover, verify."""

from __future__ import annotations

import sys
from typing import NoReturn
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from stockpile.deploy import DEFAULT_MANIFEST_DIR, DeploymentFileError, load_deployment, make_engine
from stockpile.deploy.engine import DeploymentError
from stockpile.deploy.manifest import load_manifest, manifest_path
from stockpile.cli import options
from stockpile.cli.errors import CliError
from stockpile.safe.via import via_safe_options
from web3 import Web3


console = Console(stderr=False, width=140)


RPC_HELP = "RPC URL of the chain, or `anvil` (start one for this command) or `in-process` (py-evm)"


def _common(f):
    f = options.network_options(rpc_default="anvil", rpc_help=RPC_HELP)(f)
    f = options.account_option(help="deployer. Default on a local dev chain only: anvil's first dev account")(f)
    f = click.option("--manifest-dir", type=click.Path(path_type=Path), default=DEFAULT_MANIFEST_DIR, show_default=True,
                     help="folder of the manifests, one <chain-id>.json per chain")(f)
    return f


def _fail(msg: str) -> NoReturn:
    raise CliError(msg)


def _load(path: Path):
    try:
        return load_deployment(path)
    except DeploymentFileError as exc:
        _fail(str(exc))


def _account(spec: str | None, chain_id: int):
    from stockpile.sdk.accounts import dev_account

    if spec:
        return options.load_account(spec)
    if chain_id in (31337, 1337, 131277322940537):
        return dev_account(0)
    _fail(f"chain id {chain_id} is not a local dev chain: give --account (keystore:PATH:PASSPHRASE_VAR or env:VAR)")


def _connect(rpc_url, chain_id, allow_mainnet):
    return options.connect_rpc(rpc_url, chain_id, allow_mainnet)


@contextmanager
def _session(file: Path, rpc_url: str, chain_id: int | None, account_spec: str | None, allow_mainnet: bool):
    """The deployment file, the connection and the account every chain command starts from."""
    dep = _load(file)
    with _connect(rpc_url, chain_id, allow_mainnet) as conn:
        yield dep, conn, _account(account_spec, conn.chain_id)


@click.group()
def deploy() -> None:
    """Deploy products from a deployment file (YAML) to a chain."""


@deploy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a deployment file; print each bad field with its value."""
    dep = _load(file)
    click.echo(f"{file}: valid ({len(dep.products)} products: {', '.join(p.symbol for p in dep.products)})")


@deploy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
def plan(file, rpc_url, chain_id, allow_mainnet, account_spec, manifest_dir) -> None:
    """Show what apply would deploy or change on this chain, with gas estimates. Touches nothing."""
    with _session(file, rpc_url, chain_id, account_spec, allow_mainnet) as (dep, conn, acct):
        engine = make_engine(dep, conn.w3, manifest_dir)
        steps = engine.plan(acct.address)
        table = Table(title=f"plan for {conn.description}, chain id {conn.chain_id}, deployer {acct.address}")
        for col in ("step", "kind", "status", "gas estimate", "address"):
            table.add_column(col)
        for s in steps:
            table.add_row(s.description, s.kind, s.status, f"{s.gas:,}" if s.gas else "-", s.address or "")
        console.print(table)
        todo = [s for s in steps if s.status != "done"]
        known = sum(s.gas or 0 for s in todo)
        click.echo(f"{len(todo)} of {len(steps)} steps to do; estimated gas of those estimable now: {known:,}")


@deploy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
def apply(file, rpc_url, chain_id, allow_mainnet, account_spec, manifest_dir) -> None:
    """Deploy what is missing, configure roles, register in the Directory, verify, record the manifest."""
    from stockpile.sdk.transactions import Sender

    with _session(file, rpc_url, chain_id, account_spec, allow_mainnet) as (dep, conn, acct):
        engine = make_engine(dep, conn.w3, manifest_dir)
        try:
            results = engine.apply(Sender(conn.w3, acct), progress=sys.stderr.isatty())
        except DeploymentError as exc:
            _fail(str(exc))
        applied = [r for r in results if r.status == "applied"]
        timelocked = [r for r in results if r.status.startswith(("scheduled", "timelock"))]
        bad = [k for k, ok in engine.verify().items() if not ok]
        if bad:
            _fail(f"code at {', '.join(bad)} does not match the artifacts")
        for r in applied:
            click.echo(f"applied {r.key}" + (f" at {r.address}" if r.address else "") + f" (gas used {r.gas:,})")
        for r in timelocked:
            click.echo(f"{r.key}: {r.status}")
        if timelocked:
            click.echo(f"{len(timelocked)} governed steps go through the timelock: run apply again after the delay")
        click.echo(f"{len(applied)} steps applied, {len(results) - len(applied) - len(timelocked)} already done; code verified at "
                   f"{len(engine.manifest.contracts)} addresses; manifest {manifest_path(manifest_dir, conn.chain_id)}")
        click.echo(f"directory: {engine.manifest.address('directory')}")


@contextmanager
def _submitter(conn, account_spec, via_safe, proposal_out, safe_nonce, multisend, description: str):
    """Send from the account, or with --via-safe collect the calls into a Safe proposal (stockpile.safe.via)."""
    from stockpile.safe.errors import SafeError
    from stockpile.safe.via import make_submitter

    try:
        submitter = make_submitter(conn.w3, via_safe, proposal_out, safe_nonce, multisend,
                                   account=lambda: _account(account_spec, conn.chain_id), description=description)
        yield submitter
        click.echo(submitter.finish())
    except SafeError as exc:
        _fail(str(exc))


@deploy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
@via_safe_options
def handover(file, rpc_url, chain_id, allow_mainnet, account_spec, manifest_dir, via_safe, proposal_out, safe_nonce,
             multisend) -> None:
    """Move admin roles from the deployer (or, with --via-safe, from that Safe) to the configured holders
    (two-step where the contract has it)."""
    from stockpile.deploy.handover import handover as do_handover

    dep = _load(file)
    with _connect(rpc_url, chain_id, allow_mainnet) as conn:
        manifest = load_manifest(manifest_dir, conn.chain_id)
        if "directory" not in manifest.contracts:
            _fail(f"nothing deployed on chain {conn.chain_id} according to {manifest_path(manifest_dir, conn.chain_id)}")
        with _submitter(conn, account_spec, via_safe, proposal_out, safe_nonce, multisend, f"{dep.name}: handover") as sub:
            try:
                lines = do_handover(dep, conn.w3, sub, manifest)
            except DeploymentError as exc:
                _fail(str(exc))
            table = Table(title="handover" + (" (proposed, not sent)" if via_safe else ""))
            for col in ("contract", "role", "holder", "status"):
                table.add_column(col)
            for line in lines:
                table.add_row(line.contract, line.role, line.holder, line.status)
            console.print(table)
            if any(line.status.startswith(("transfer begun", "pending acceptance")) for line in lines):
                click.echo(f"after the delay the new admin {dep.roles.admin} accepts: stockpile deploy accept-admin {file} "
                           "--rpc-url URL --account SPEC (or --via-safe SAFE)")


@deploy.command("accept-admin")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_common
@via_safe_options
def accept_admin(file, rpc_url, chain_id, allow_mainnet, account_spec, manifest_dir, via_safe, proposal_out, safe_nonce,
                 multisend) -> None:
    """Second step of the handover: the new admin accepts DEFAULT_ADMIN_ROLE where the delay has passed
    (with --via-safe: one Safe proposal batching every acceptance)."""
    from stockpile.deploy.accept import acceptances

    dep = _load(file)
    with _connect(rpc_url, chain_id, allow_mainnet) as conn:
        manifest = load_manifest(manifest_dir, conn.chain_id)
        if not manifest.contracts:
            _fail(f"nothing deployed on chain {conn.chain_id} according to {manifest_path(manifest_dir, conn.chain_id)}")
        with _submitter(conn, account_spec, via_safe, proposal_out, safe_nonce, multisend, f"{dep.name}: accept admin") as sub:
            if Web3.to_checksum_address(sub.address) != dep.roles.admin:
                _fail(f"{sub.address} is not the admin of {file} ({dep.roles.admin})")
            found = acceptances(conn.w3, manifest, sub.address)
            for a in found:
                click.echo(f"{a.key:<20} {a.address} {a.status}")
                if a.function is not None:
                    sub.transact(a.function)
            if not any(a.function is not None for a in found):
                _fail("nothing to accept now: " + (", ".join(sorted({a.status for a in found})) or "no two-step contracts"))


@deploy.command()
@_common
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="also write verification bundles (standard-JSON input, metadata, constructor arguments) here")
def verify(rpc_url, chain_id, allow_mainnet, account_spec, manifest_dir, bundle_dir) -> None:
    """Check the code at every address of the manifest against the compiled artifacts
    (and with --bundle, write what block explorers and Sourcify need to verify each contract)."""
    from stockpile.deploy.engine import code_matches

    with _connect(rpc_url, chain_id, allow_mainnet) as conn:
        manifest = load_manifest(manifest_dir, conn.chain_id)
        if not manifest.contracts:
            _fail(f"no manifest for chain {conn.chain_id} in {manifest_dir}")
        bad = 0
        for key, rec in sorted(manifest.contracts.items()):
            ok = code_matches(conn.w3, rec.address, rec.contract)
            bad += not ok
            click.echo(f"{'ok ' if ok else 'BAD'} {key:<24} {rec.contract:<20} {rec.address}")
        if bundle_dir is not None and not bad:
            from stockpile.deploy.bundle import BundleError, write_bundle

            try:
                click.echo(f"verification bundles for {len(manifest.contracts)} contracts: {write_bundle(conn.w3, manifest, bundle_dir)}")
            except BundleError as exc:
                _fail(str(exc))
        sys.exit(1 if bad else 0)


@deploy.command("new-keystore")
@click.argument("path", type=click.Path(path_type=Path))
@options.passphrase_env_option()
@options.account_option(flag="--from-account", envvar=None, help="import this account's key instead of creating a new one")
def new_keystore(path: Path, passphrase_env: str, from_account_spec: str | None) -> None:
    """Create an encrypted keystore (a new key, or one imported from an environment variable)."""
    import os

    from eth_account import Account

    from stockpile.sdk.accounts import write_keystore

    password = os.environ.get(passphrase_env)
    if not password:
        _fail(f"environment variable {passphrase_env} is not set")
    if path.exists():
        _fail(f"{path} exists; refusing to overwrite a keystore")
    acct = options.load_account(from_account_spec) if from_account_spec else Account.create()
    write_keystore(acct, path, password)
    click.echo(f"wrote {path} for {acct.address}")
