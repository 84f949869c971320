"""`ape run deploy [--network ...]`: the same deployment engine as `stockpile deploy apply`.

Deployment file: $STOCKPILE_DEPLOYMENT (default: the sample devnet file).
Account: on a local network (ape's in-process test network, anvil) ape's first test account;
elsewhere $STOCKPILE_ACCOUNT (keystore:PATH:PASSPHRASE_VAR or env:VAR), never a key on the
command line. Manifest: deployments/<chain-id>.json (or $STOCKPILE_MANIFEST_DIR).
"""

from __future__ import annotations

import os

import click
from ape import accounts, networks
from ape.cli import ConnectedProviderCommand
from eth_account import Account

from stockpile.deploy import SAMPLE_DEVNET, check_chain, load_deployment, make_engine
from stockpile.sdk.accounts import from_env
from stockpile.sdk.transactions import Sender


@click.command(cls=ConnectedProviderCommand)
@click.option("--allow-mainnet", is_flag=True)
def cli(allow_mainnet: bool) -> None:
    provider = networks.provider
    w3 = provider.web3
    chain_id = w3.eth.chain_id
    check_chain(chain_id, allow_mainnet=allow_mainnet)
    if provider.network.is_local:
        signer = Account.from_key(accounts.test_accounts[0].private_key)
    else:
        spec = os.environ.get("STOCKPILE_ACCOUNT")
        if not spec:
            raise click.UsageError("set STOCKPILE_ACCOUNT=keystore:PATH:PASSPHRASE_VAR (or env:VAR) for a live network")
        signer = from_env(spec)
    dep = load_deployment(os.environ.get("STOCKPILE_DEPLOYMENT", SAMPLE_DEVNET))
    engine = make_engine(dep, w3, os.environ.get("STOCKPILE_MANIFEST_DIR", "deployments"))
    results = engine.apply(Sender(w3, signer), progress=False)
    applied = [r for r in results if r.status == "applied"]
    click.echo(f"{provider.network.name} (chain id {chain_id}): {len(applied)} steps applied, "
               f"{len(results) - len(applied)} already done; directory {engine.manifest.address('directory')}")
