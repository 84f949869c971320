"""``stockpile safe``: create a Safe, propose any call, sign a proposal, execute it."""

from __future__ import annotations

from typing import NoReturn

import json
from contextlib import contextmanager
from pathlib import Path

import click

from stockpile.cli import options
from stockpile.cli.errors import CliError


def _fail(msg: str) -> NoReturn:
    raise CliError(msg)


@contextmanager
def _errors():
    """Our own mistakes as one line and exit 2, never a traceback."""
    from stockpile.deploy.network import NetworkError
    from stockpile.safe.errors import SafeError
    from stockpile.sdk.accounts import AccountError
    from stockpile.sdk.errors import ContractError

    try:
        yield
    except (SafeError, AccountError, NetworkError, ContractError) as exc:
        _fail(str(exc))


def _network_options(f):
    return options.network_options(rpc_help="RPC URL of the chain")(f)


def _account_option(required: bool = True):
    return options.account_option(required=required)


@contextmanager
def _connected(rpc_url: str, chain_id: int | None, allow_mainnet: bool):
    conn = options.connect_rpc(rpc_url, chain_id, allow_mainnet)
    with conn, _errors():
        yield conn.w3


def _account(spec: str):
    return options.load_account(spec)


def _load(file: Path):
    from stockpile.safe.proposal import Proposal

    with _errors():
        return Proposal.load(file)


@click.group()
def safe() -> None:
    """Operate through a Safe multisig: propose, sign, execute (Safe 1.4.1)."""


@safe.command("create")
@_network_options
@_account_option()
@click.option("--owner", "owners", multiple=True, required=True, type=options.ADDRESS, help="owner address (repeat)")
@click.option("--threshold", type=click.IntRange(1), required=True, help="owner signatures a transaction needs")
@click.option("--deploy-contracts", is_flag=True,
              help="deploy the Safe singleton, factory, fallback handler and MultiSendCallOnly first (local/rehearsal chains)")
@click.option("--salt-nonce", type=int, default=0, show_default=True, help="CREATE2 salt nonce of the Safe proxy")
def create_cmd(rpc_url, chain_id, allow_mainnet, account_spec, owners, threshold, deploy_contracts, salt_nonce) -> None:
    """Create an N-of-M Safe; prints its address and the Safe contracts used (JSON)."""
    from stockpile.safe.contracts import SafeSingletons, create_safe, deploy_safe_singletons
    from stockpile.sdk.transactions import Sender

    with _connected(rpc_url, chain_id, allow_mainnet) as w3:
        sender = Sender(w3, _account(account_spec))
        if deploy_contracts:
            singletons = deploy_safe_singletons(sender)
        else:
            from safe_eth.safe.safe_deployments import safe_deployments

            known = safe_deployments["1.4.1"]
            cid = str(w3.eth.chain_id)
            try:
                singletons = SafeSingletons(known["Safe"][cid][0], known["SafeProxyFactory"][cid][0],
                                            known["CompatibilityFallbackHandler"][cid][0], known["MultiSendCallOnly"][cid][0])
            except KeyError:
                _fail(f"no canonical Safe 1.4.1 deployment known on chain {cid}: give --deploy-contracts")
        for name, address in singletons.__dict__.items():
            if not w3.eth.get_code(address):
                _fail(f"no {name} contract at {address} on chain {w3.eth.chain_id}: give --deploy-contracts")
        address = create_safe(sender, singletons, list(owners), threshold, salt_nonce)
        click.echo(json.dumps({"safe": address, "owners": list(owners), "threshold": threshold,
                               **singletons.__dict__}, indent=2))


@safe.command("propose")
@_network_options
@options.address_option("--safe", "the Safe that is to make the call", dest="safe_address")
@options.address_option("--to", "contract (or account) the Safe calls")
@click.option("--abi-fn", default=None, help='function signature, e.g. "mint(address,uint256,bytes32)"')
@click.option("--contract", "artifact", default=None, help="artifact name giving the ABI, e.g. CommodityToken (with --function)")
@click.option("--function", "function", default=None, help="function name or signature in --contract's ABI")
@click.option("--data", "raw_data", default=None, help="raw calldata (0x...) instead of a function and arguments")
@click.option("--args", "args_flag", is_flag=True, help="marks where the function's arguments start (optional)")
@click.argument("args", nargs=-1)
@click.option("--value", type=int, default=0, show_default=True, help="wei the Safe sends with the call")
@click.option("--nonce", type=int, default=None, help="Safe nonce (default: the Safe's next nonce)")
@click.option("--description", default="", help="shown in the Safe app's Transaction Builder")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="proposal file to write")
def propose_cmd(rpc_url, chain_id, allow_mainnet, safe_address, to, abi_fn, artifact, function, raw_data, args_flag, args,
                value, nonce, description, out) -> None:
    """Propose any call for the Safe: by signature (--abi-fn), by artifact (--contract/--function), or raw --data.

    Arguments are written as in the Safe Transaction Builder: integers in base units, addresses,
    true/false, 0x-hex bytes, arrays as JSON."""
    from stockpile.safe.calls import Call, call_from_args, find_function, parse_signature
    from stockpile.safe.via import SafeProposalSubmitter

    forms = sum(x is not None for x in (abi_fn, artifact, raw_data))
    if forms != 1:
        _fail("give exactly one of --abi-fn SIGNATURE, --contract NAME --function F, or --data 0x...")
    if artifact and not function:
        _fail("--contract needs --function")
    with _connected(rpc_url, chain_id, allow_mainnet) as w3:
        if raw_data is not None:
            if args:
                _fail("--data takes no function arguments")
            try:
                data = bytes.fromhex(raw_data.removeprefix("0x"))
            except ValueError:
                _fail(f"--data: not hex: {raw_data!r}")
            call = Call(w3.to_checksum_address(to), value, data)
        else:
            if abi_fn:
                entry = parse_signature(abi_fn)
            else:
                from stockpile.contracts import ArtifactNotFound, load

                try:
                    entry = find_function(load(artifact).abi, function)
                except ArtifactNotFound as exc:
                    _fail(str(exc))
            call = call_from_args(to, entry, list(args), value)
        submitter = SafeProposalSubmitter(w3, safe_address, out, nonce, None, description)
        submitter.transact(call)
        click.echo(submitter.finish())


@safe.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_network_options
@_account_option()
@options.address_option("--safe", "refuse unless the proposal is for this Safe", required=False, dest="expected_safe")
def sign_cmd(file, rpc_url, chain_id, allow_mainnet, account_spec, expected_safe) -> None:
    """Add an owner's EIP-712 signature to a proposal file (after checking it against the chain)."""
    from stockpile.safe.workflow import owner_signatures, sign

    prop = _load(file)
    with _connected(rpc_url, chain_id, allow_mainnet) as w3:
        acct = _account(account_spec)
        for c in prop.calls:
            click.echo(f"  {c.summary()}")
        info = sign(w3, prop, acct, expected_safe)
        prop.save(file)
        have = len(owner_signatures(prop, info))
        click.echo(f"signed {prop.safe_tx_hash} as {acct.address}: {have} of {info.threshold} signatures "
                   f"for Safe {prop.safe} nonce {prop.nonce}" + (" (ready to execute)" if have >= info.threshold else ""))


@safe.command("execute")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_network_options
@_account_option()
@options.address_option("--safe", "refuse unless the proposal is for this Safe", required=False, dest="expected_safe")
def execute_cmd(file, rpc_url, chain_id, allow_mainnet, account_spec, expected_safe) -> None:
    """Submit execTransaction once the proposal holds the threshold of owner signatures (any account may submit)."""
    from stockpile.safe.workflow import execute
    from stockpile.sdk.transactions import Sender

    prop = _load(file)
    with _connected(rpc_url, chain_id, allow_mainnet) as w3:
        receipt = execute(w3, prop, Sender(w3, _account(account_spec)), expected_safe=expected_safe)
        click.echo(f"executed Safe {prop.safe} nonce {prop.nonce} ({len(prop.calls)} call(s)) in tx "
                   f"{w3.to_hex(receipt['transactionHash'])}, gas used {receipt['gasUsed']:,}")


@safe.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@options.rpc_url_option(required=False, help="also check against this chain")
def show_cmd(file, rpc_url) -> None:
    """Print what a proposal does, its hash and signatures (and, with --rpc-url, what is missing)."""
    prop = _load(file)
    click.echo(f"Safe {prop.safe} on chain {prop.chain_id}, nonce {prop.nonce}, safeTxHash {prop.safe_tx_hash}")
    for c in prop.calls:
        click.echo(f"  {c.summary()}")
    click.echo(f"signatures: {', '.join(prop.signers()) or 'none'}")
    if rpc_url:
        from stockpile.safe.workflow import check_against_chain, owner_signatures

        with _connected(rpc_url, None, True) as w3:
            info = check_against_chain(w3, prop)
            click.echo(f"{len(owner_signatures(prop, info))} of {info.threshold} owner signatures; Safe at nonce {info.nonce}")
