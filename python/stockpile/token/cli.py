"""`stockpile layout ...`: storage-layout snapshots of the upgradeable contracts; `stockpile token ...`: token operations."""

from __future__ import annotations

from decimal import Decimal

import click
from web3 import Web3

from stockpile.cli import options
from stockpile.cli.errors import CliError


@click.group()
def layout() -> None:
    """Storage-layout snapshots (contracts/storage-layouts/) and the upgrade-safety check."""


@layout.command("snapshot")
def layout_snapshot() -> None:
    """(Re)write the snapshot of every upgradeable contract. Commit the result."""
    from stockpile.token.storage_layout import write_snapshots

    for path in write_snapshots():
        click.echo(f"wrote {path}")


@layout.command("check")
def layout_check() -> None:
    """Compare the sources with the committed snapshots; exit 1 if an upgrade would corrupt storage."""
    from stockpile.token.storage_layout import check_against_snapshots

    failed = False
    for contract, problems in check_against_snapshots().items():
        if problems:
            failed = True
            click.echo(f"{contract}: INCOMPATIBLE")
            for p in problems:
                click.echo(f"  - {p}")
        else:
            click.echo(f"{contract}: ok")
    raise SystemExit(1 if failed else 0)


# ---------------------------------------------------------------------------------------------
# `stockpile token ...`: the operator's and holder's token actions, through the SDK (stockpile.sdk).
# Amounts are product units (Decimal) in and out, never base units.

def _session(f):
    """SYMBOL, the node, the deployment and the account of every `stockpile token` command."""
    f = options.account_option(required=True)(f)
    f = options.deployment_options(f)
    f = options.network_options()(f)
    return click.argument("symbol")(f)


def _product(kw: dict, account: bool = True):
    sp = options.connect_deployment(kw.pop("rpc_url"), kw.pop("directory"), kw.pop("manifest"),
                                    kw.pop("account_spec", None) if account else None,
                                    kw.pop("chain_id"), kw.pop("allow_mainnet"))
    return sp, sp.product(kw.pop("symbol"))


def _dec(amount: Decimal) -> str:
    """A product amount as written by a person: 12.5, not 12.500000000000000000 (and never base units)."""
    return f"{amount.normalize():f}"


def _units(p, amount: Decimal) -> str:
    return f"{_dec(amount)} {p.symbol}"


def _tx(receipt) -> str:
    return f"tx {Web3.to_hex(receipt['transactionHash'])}, gas {receipt['gasUsed']:,}"


@click.group()
def token() -> None:
    """Operate a product's token: mint, transfer, redemptions, pause, freeze, allowlist (amounts in product units)."""


@token.command()
@_session
@click.argument("to", type=options.ADDRESS)
@click.argument("amount", type=options.AMOUNT)
@click.option("--mint-id", required=True, help="reference of this mint (e.g. the warehouse receipt); the same id "
                                               "is refused twice, so a retried mint never doubles")
def mint(to, amount, mint_id, **kw) -> None:
    """Mint AMOUNT (product units) to TO against the attested reserve (MINTER_ROLE)."""
    sp, p = _product(kw)
    receipt = p.mint(to, amount, mint_id)
    click.echo(f"minted {_units(p, amount)} to {to} (mint id {mint_id!r}); supply {_units(p, p.amount(p.total_supply()))}; "
               f"{_tx(receipt)}")


@token.command()
@_session
@click.argument("to", type=options.ADDRESS)
@click.argument("amount", type=options.AMOUNT)
def transfer(to, amount, **kw) -> None:
    """Transfer AMOUNT (product units) from the account to TO."""
    sp, p = _product(kw)
    receipt = p.transfer(to, amount)
    click.echo(f"transferred {_units(p, amount)} to {to}; balance of {sp.address}: "
               f"{_units(p, p.balance(sp.address).amount)}; {_tx(receipt)}")


@token.command()
@_session
@click.argument("amount", type=options.AMOUNT)
@click.option("--delivery", required=True, help="delivery reference (order number...; hashed on chain)")
def redeem(amount, delivery, **kw) -> None:
    """Request redemption of AMOUNT (product units): the tokens go to escrow until the operator completes or rejects."""
    sp, p = _product(kw)
    r = p.request_redemption(amount, delivery)
    click.echo(f"redemption {r.id}: {_units(p, r.amount)} {r.status} (delivery ref {r.delivery_ref})")


def _request_command(name: str, doc: str, verb: str, method: str, reason: bool = False) -> None:
    @token.command(name=name, help=doc)
    @_session
    @click.argument("request_id", type=click.IntRange(1))
    def command(request_id, reason_text=None, **kw):
        sp, p = _product(kw)
        before = p.redemption(request_id)
        if before.status == "none":
            raise CliError(f"no redemption request {request_id} on {p.symbol}")
        args = (request_id, reason_text) if reason else (request_id,)
        r = getattr(p, method)(*args)
        click.echo(f"redemption {r.id} of {r.holder}: {_units(p, r.amount)} {verb} (now {r.status})")

    if reason:
        click.option("--reason", "reason_text", required=True, help="why (hashed on chain; the escrow is refunded)")(command)


_request_command("accept", "Operator: take pending redemption REQUEST_ID into processing (the holder can no longer cancel).",
                 "accepted", "accept_redemption")
_request_command("complete", "Operator: burn the escrow of accepted redemption REQUEST_ID (the material was delivered).",
                 "completed", "complete_redemption")
_request_command("reject", "Operator: refund redemption REQUEST_ID to its holder.", "rejected", "reject_redemption",
                 reason=True)


def _switch_command(name: str, doc: str, method: str, state: str, reads: str) -> None:
    @token.command(name=name, help=doc)
    @_session
    def command(**kw):
        sp, p = _product(kw)
        receipt = getattr(p, method)()
        click.echo(f"{p.symbol}: {state} ({reads} = {getattr(p, reads)()}); {_tx(receipt)}")


_switch_command("pause", "Guardian (PAUSER_ROLE): stop transfers, mints and redemptions now; only the admin unpauses.",
                "pause", "paused", "paused")
_switch_command("unpause", "Admin: lift a pause.", "unpause", "unpaused", "paused")
_switch_command("pause-minting", "Guardian (PAUSER_ROLE): stop minting only; only the admin resumes it.",
                "pause_minting", "minting paused", "minting_paused")
_switch_command("unpause-minting", "Admin: resume minting.", "unpause_minting", "minting resumed", "minting_paused")


@token.command()
@_session
@click.argument("holder", type=options.ADDRESS)
@click.option("--amount", type=options.AMOUNT, default=None,
              help="freeze only this amount (product units) of the holder's balance instead of the address")
def freeze(holder, amount, **kw) -> None:
    """Asset protection: freeze HOLDER (it can neither send nor spend), or with --amount part of its balance."""
    sp, p = _product(kw)
    receipt = p.freeze(holder) if amount is None else p.freeze_amount(holder, amount)
    what = "address frozen" if amount is None else f"{_units(p, amount)} frozen"
    click.echo(f"{p.symbol} {holder}: {what}; {_tx(receipt)}")


@token.command()
@_session
@click.argument("holder", type=options.ADDRESS)
def unfreeze(holder, **kw) -> None:
    """Asset protection: unfreeze HOLDER (the address and any frozen amount)."""
    sp, p = _product(kw)
    receipt = p.freeze(holder, False)
    if p.balance(holder).frozen_units:
        p.freeze_amount(holder, 0)
    click.echo(f"{p.symbol} {holder}: unfrozen; {_tx(receipt)}")


@token.command()
@_session
@click.argument("holder", type=options.ADDRESS)
@click.option("--remove", is_flag=True, help="take HOLDER off the allowlist")
def allowlist(holder, remove, **kw) -> None:
    """Compliance: allow HOLDER to hold a product in allowlist mode (or --remove it)."""
    sp, p = _product(kw)
    receipt = p.allowlist(holder, not remove)
    click.echo(f"{p.symbol} {holder}: {'removed from' if remove else 'added to'} the allowlist; {_tx(receipt)}")


def _read_session(f):
    f = options.deployment_options(f)
    f = options.network_options()(f)
    return click.argument("symbol")(f)


@token.command()
@_read_session
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def info(as_json, **kw) -> None:
    """Supply, escrow, attested reserve, collateralisation, pause state and price of a product (product units)."""
    import json

    sp, p = _product(kw, account=False)
    st = p.reserve_status()
    price = p.price()
    out = {"symbol": p.symbol, "name": p.info.name, "unit": p.info.unit, "token": p.info.token,
           "supply": _dec(p.amount(st.total_supply)), "escrowed": _dec(p.amount(st.escrowed)),
           "attested_reserve": _dec(p.amount(st.attested_total)),
           "collateralisation": None if st.collateralization is None else str(round(st.collateralization, 6)),
           "backed": st.backed, "attestation_stale": st.stale, "paused": p.paused(), "minting_paused": p.minting_paused(),
           "price": None if price is None else str(price.price), "price_stale": None if price is None else price.stale}
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for k, v in out.items():
        click.echo(f"{k:<18} {v}")


@token.command()
@_read_session
@click.argument("holder", type=options.ADDRESS)
def balance(holder, **kw) -> None:
    """HOLDER's balance (product units) and what of it is frozen."""
    sp, p = _product(kw, account=False)
    b = p.balance(holder)
    click.echo(f"{p.symbol} {holder}: {_units(p, b.amount)} (frozen {_units(p, p.amount(b.frozen_units))})")
