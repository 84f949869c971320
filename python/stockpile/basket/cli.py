"""``stockpile basket``: composition, nav, create, redeem of a basket from a deployment manifest."""

from __future__ import annotations

from typing import NoReturn

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from stockpile.cli import options
from stockpile.cli.errors import CliError
from rich.console import Console
from rich.table import Table

console = Console(width=140)


def _fail(msg: str) -> NoReturn:
    raise CliError(msg)


def _options(f):
    f = click.argument("symbol")(f)
    f = options.network_options()(f)
    f = click.option("--manifest", envvar="STOCKPILE_MANIFEST", required=True,
                     type=click.Path(path_type=Path), help="deployment manifest <chain-id>.json (or $STOCKPILE_MANIFEST)")(f)
    return f


def _client(kw: dict, symbol: str, account_spec: str | None = None):
    sp = options.connect_deployment(kw["rpc_url"], None, kw["manifest"], account_spec, kw["chain_id"], kw["allow_mainnet"])
    if symbol not in sp.baskets():
        _fail(f"unknown basket {symbol!r}; the manifest has {sp.baskets() or 'none'}")
    return sp, sp.basket(symbol)


def _shares(value: str):
    try:
        d = Decimal(value)
    except InvalidOperation:
        _fail(f"shares must be a number, got {value!r}")
    if not d.is_finite() or d <= 0:
        _fail(f"shares must be > 0, got {value!r}")
    return d


def _run(fn):
    from stockpile.sdk import errors
    from stockpile.sdk.units import QuantityError

    try:
        return fn()
    except errors.ContractError as exc:
        _fail(f"refused by the contract: {exc}")
    except (QuantityError, errors.StockpileError) as exc:
        _fail(str(exc))


@click.group()
def basket() -> None:
    """Basket shares: one token for a fixed bundle of commodity tokens (contracts/basket/README.md)."""


@basket.command()
@_options
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def composition(symbol, as_json, **kw) -> None:
    """The components of a basket and what one share holds of each."""
    _, smb = _client(kw, symbol)
    info = smb.info()
    supply = smb.total_supply()
    backing = {b.symbol: b for b in smb.backing()}
    if as_json:
        click.echo(json.dumps({**info.model_dump(mode="json"), "total_supply": supply,
                               "backing": {k: v.model_dump(mode="json") for k, v in backing.items()}}))
        return
    table = Table(title=f"{info.symbol} - {info.name} ({info.address}); {supply} shares")
    for col in ("component", "per share", "units per base share", "held by basket", "shares x units", "surplus"):
        table.add_column(col, justify="right" if col != "component" else "left")
    for c in info.components:
        b = backing[c.symbol]
        table.add_row(c.symbol, f"{c.amount_per_share.normalize():f}", f"{c.units}", f"{b.held}", f"{b.required}", f"{b.surplus}")
    console.print(table)


@basket.command()
@_options
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def nav(symbol, as_json, **kw) -> None:
    """NAV per share from the basket's NAV feed, next to each component's price."""
    _, smb = _client(kw, symbol)
    n = _run(smb.nav)
    if as_json:
        click.echo(n.model_dump_json())
        return
    table = Table(title=f"{n.symbol} NAV {n.nav} USD per share (round {n.round_id}, oldest price at {n.updated_at})")
    for col in ("component", "per share", "price USD", "value per share USD", "price age s"):
        table.add_column(col, justify="right" if col != "component" else "left")
    for c in n.components:
        table.add_row(c.symbol, f"{c.amount_per_share.normalize():f}", f"{c.price.price}", f"{c.value_per_share}", f"{c.price.age}")
    console.print(table)


def _write_command(name: str, doc: str):
    @basket.command(name=name, help=doc)
    @_options
    @click.argument("shares")
    @options.account_option(required=True)
    @options.address_option("--to", "receiver (default: the account)", required=False)
    @click.option("--permit", is_flag=True, help="create only: sign EIP-2612 permits instead of approving")
    @click.option("--authorization", is_flag=True,
                  help="create only: sign one EIP-3009 ReceiveWithAuthorization per component (no approvals)")
    def command(symbol, shares, account_spec, to, permit, authorization, **kw):
        if permit and authorization:
            _fail("give --permit or --authorization, not both")
        if name != "create" and (permit or authorization):
            _fail(f"{'--permit' if permit else '--authorization'} applies to create only")
        sp, smb = _client(kw, symbol, account_spec)
        n = _shares(shares)
        if name == "create":
            method = "authorization" if authorization else "permit" if permit else "approve"
            _run(lambda: smb.create(n, to, method=method))
        else:
            _run(lambda: smb.redeem(n, to))
        amounts = ", ".join(f"{k} {v}" for k, v in smb.amounts_for(n).items())
        done = {"create": "created", "redeem": "redeemed"}[name]
        click.echo(f"{done} {n} {symbol} share(s) (component base units: {amounts}); "
                   f"balance of {sp.address}: {smb.balance(sp.address).amount}")
    return command


_write_command("create", "Deposit the components for SHARES whole shares (approving what is missing, or --permit, "
                         "or --authorization) and receive the shares.")
_write_command("redeem", "Burn SHARES whole shares and receive exactly the components.")
