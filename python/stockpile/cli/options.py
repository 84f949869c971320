"""The options every ``stockpile`` command shares, each defined once (as ape's ``cli/options.py``).

- ``--rpc-url URL`` (or ``$STOCKPILE_RPC_URL``): the node to talk to.
- ``--chain-id N``: refuse unless the node answers this chain id.
- ``--allow-mainnet``: a mainnet chain id is refused without it.
- ``--account SPEC`` (or ``$STOCKPILE_ACCOUNT``): ``env:VAR`` (private key in VAR),
  ``keystore:PATH[:PASSPHRASE_VAR]`` (prompted when no variable is named) or
  ``mnemonic-env:VAR[:INDEX]``. The one account syntax; keys never on the command line.
- ``--passphrase-env VAR``: the variable holding a keystore passphrase.
- Addresses: ``--<what> ADDRESS`` (``--attestor``, ``--feed``, ``--directory``, ``--safe``, ``--to``),
  checked and checksummed by :class:`AddressType` before the command runs.
- ``--host`` / ``--port`` of daemons: loopback by default, one distinct default port per daemon
  (:data:`DEFAULT_PORTS`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

RPC_URL_ENV = "STOCKPILE_RPC_URL"
ACCOUNT_ENV = "STOCKPILE_ACCOUNT"
ACCOUNT_SPECS = "env:VAR (private key in VAR), keystore:PATH[:PASSPHRASE_VAR] or mnemonic-env:VAR[:INDEX]"
LOCAL_HOST = "127.0.0.1"

# One default port per listening process, so two daemons on one machine never collide.
DEFAULT_PORTS = {
    "anvil": 8545,
    "portal": 8600,
    "oracle-metrics": 9464,
    "reconcile-metrics": 9465,
}


class AddressType(click.ParamType):
    """An Ethereum address: refused with the value named unless it is one; given back checksummed."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from eth_utils import is_address, to_checksum_address

        if not isinstance(value, str) or not is_address(value):
            self.fail(f"not an address: {value!r} (expected 0x followed by 40 hex digits)", param, ctx)
        return str(to_checksum_address(value))


ADDRESS = AddressType()


def rpc_url_option(required: bool = True, default: str | None = None, help: str | None = None) -> Callable[[F], F]:
    """``--rpc-url`` (or ``$STOCKPILE_RPC_URL``)."""
    text = help or "JSON-RPC URL of the node"
    return click.option("--rpc-url", "rpc_url", envvar=RPC_URL_ENV, required=required and default is None,
                        default=default, show_default=default is not None, show_envvar=True,
                        help=text)


def chain_id_option(help: str = "refuse unless the node answers this chain id") -> Callable[[F], F]:
    return click.option("--chain-id", "chain_id", type=int, default=None, help=help)


def allow_mainnet_option() -> Callable[[F], F]:
    return click.option("--allow-mainnet", is_flag=True, help="allow a mainnet chain id (refused otherwise)")


def network_options(rpc_required: bool = True, rpc_default: str | None = None,
                    rpc_help: str | None = None) -> Callable[[F], F]:
    """``--rpc-url``, ``--chain-id`` and ``--allow-mainnet``: the node and the checks on it."""
    def decorate(f: F) -> F:
        f = allow_mainnet_option()(f)
        f = chain_id_option()(f)
        return rpc_url_option(rpc_required, rpc_default, rpc_help)(f)
    return decorate


def account_option(required: bool = False, help: str | None = None, flag: str = "--account",
                   envvar: str | None = ACCOUNT_ENV) -> Callable[[F], F]:
    """``--account SPEC``: the one account syntax (``stockpile.sdk.accounts.from_env``)."""
    dest = flag.lstrip("-").replace("-", "_") + "_spec"
    text = (help + ": " if help else "account that signs: ") + ACCOUNT_SPECS
    return click.option(flag, dest, envvar=envvar, required=required, show_envvar=envvar is not None,
                        metavar="SPEC", help=text)


def passphrase_env_option(required: bool = True) -> Callable[[F], F]:
    return click.option("--passphrase-env", "passphrase_env", required=required, metavar="VAR",
                        help="environment variable holding the keystore passphrase")


def address_option(flag: str, what: str, required: bool = True, default: str | None = None,
                   dest: str | None = None, multiple: bool = False) -> Callable[[F], F]:
    """``--<flag> ADDRESS``, e.g. ``address_option("--attestor", "the product's ReserveAttestor")``."""
    dest = dest or flag.lstrip("-").replace("-", "_")
    if multiple:
        return click.option(flag, dest, type=ADDRESS, required=required, multiple=True, help=f"{what} (address; repeat)")
    return click.option(flag, dest, type=ADDRESS, required=required, default=default, help=f"{what} (address)")


def host_option(help: str = "address to bind") -> Callable[[F], F]:
    return click.option("--host", default=LOCAL_HOST, show_default=True, help=f"{help} (loopback by default)")


def port_option(daemon: str, flag: str = "--port", help: str = "port to listen on") -> Callable[[F], F]:
    dest = flag.lstrip("-").replace("-", "_")
    return click.option(flag, dest, type=click.IntRange(0, 65535), default=DEFAULT_PORTS[daemon], show_default=True,
                        help=f"{help} (0: off)" if daemon.endswith("metrics") else help)


def check_port_free(host: str, port: int, what: str) -> None:
    """Refuse in one line, before any work, a port another process already listens on."""
    import errno
    import socket

    from stockpile.cli.errors import CliError

    if not port:
        return
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        # as servers bind: a port left in TIME_WAIT by a process that just stopped is free, a listener is not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(f"{what}: {host}:{port} is already in use (another process listens there); "
                               "give another port") from None
            raise CliError(f"{what}: cannot bind {host}:{port}: {exc.strerror}") from None


def load_account(spec: str) -> Any:
    """The account of an ``--account`` spec (a bad spec or a missing variable: one line, exit 2)."""
    from stockpile.cli.errors import CliError
    from stockpile.sdk.accounts import AccountError, from_env

    try:
        return from_env(spec)
    except AccountError as exc:
        raise CliError(f"--account: {exc}") from None


def connect_rpc(rpc_url: str, chain_id: int | None = None, allow_mainnet: bool = False, timeout: float = 30) -> Any:
    """A ``Connection`` (``.w3``, ``.chain_id``) to ``--rpc-url``, its chain id checked (stockpile.deploy.network)."""
    from stockpile.cli.errors import CliError
    from stockpile.deploy.network import NetworkError, connect

    _refused_at_once(rpc_url)
    try:
        return connect(rpc_url, expected_chain_id=chain_id, allow_mainnet=allow_mainnet, timeout=timeout)
    except NetworkError as exc:
        msg = str(exc)
        if msg.startswith("cannot reach"):
            from stockpile.deploy.network import redact_url

            low = msg.lower()
            why = "connection refused" if "refused" in low else "timed out" if "timed out" in low else \
                "name not resolved" if "resolution" in low or "name or service" in low else "no JSON-RPC answer"
            msg = f"cannot reach the node at {redact_url(rpc_url) if '://' in rpc_url else rpc_url}: {why}"
        raise CliError(msg) from None


def _refused_at_once(rpc_url: str) -> None:
    """Nothing listens at an http(s) URL (the TCP connection is refused): say so now, without the
    retries that ride out a public endpoint's rate limits and dropped connections."""
    import errno

    from stockpile.cli.errors import CliError

    if not rpc_url.startswith(("http://", "https://")):
        return
    import requests

    try:
        requests.post(rpc_url, json={"jsonrpc": "2.0", "id": 0, "method": "eth_chainId", "params": []}, timeout=10)
    except requests.ConnectionError as exc:
        cause: BaseException | None = exc
        while cause is not None and not (isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED):
            reason = getattr(cause, "reason", None)  # urllib3's MaxRetryError -> NewConnectionError
            cause = reason if isinstance(reason, BaseException) else cause.__cause__ or cause.__context__ or (
                cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        if cause is not None:
            from stockpile.deploy.network import redact_url

            raise CliError(f"cannot reach the node at {redact_url(rpc_url)}: connection refused") from None
    except requests.RequestException:
        pass  # the node's own retrying connection below decides


def expect_contract(w3: Any, address: str, artifact: str, probe: str, what: str | None = None) -> Any:
    """The web3 contract ``artifact`` at ``address``, refused in one line when nothing is deployed there
    or the code there does not answer ``probe()`` as that contract does (a token given for an attestor)."""
    from stockpile.contracts import contract

    check_contract(w3, address, artifact, probe, what)
    return contract(w3, artifact, address)


def check_contract(w3: Any, address: str, artifact: str, probe: str, what: str | None = None) -> None:
    """``expect_contract``'s check alone, through the probe's ABI entry only (a web3 contract object over a
    whole ABI costs milliseconds of CPU)."""
    from stockpile.cli.errors import CliError
    from stockpile.contracts import load

    label = what or artifact
    if not w3.eth.get_code(address):
        raise CliError(f"no contract at {address} (expected the {label})")
    abi = [e for e in load(artifact).abi if e.get("type") == "function" and e.get("name") == probe]
    try:
        getattr(w3.eth.contract(address=address, abi=abi).functions, probe)().call()
    except Exception:
        raise CliError(f"{address} is not a {label}: it does not answer {probe}()") from None


class AmountType(click.ParamType):
    """A quantity in product units (kg, t, oz ... as the product says): a Decimal, never a float, > 0."""

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from decimal import Decimal, InvalidOperation

        if isinstance(value, Decimal):
            return value
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"not a number: {value!r} (an amount in product units, e.g. 12.5)", param, ctx)
        if not amount.is_finite() or amount <= 0:
            self.fail(f"must be a positive amount in product units, got {value!r}", param, ctx)
        return amount


AMOUNT = AmountType()


def deployment_options(f: F) -> F:
    """``--directory ADDRESS`` or ``--manifest FILE``: where the products of a deployment are found."""
    f = click.option("--manifest", "manifest", envvar="STOCKPILE_MANIFEST", show_envvar=True,
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="deployment manifest <chain-id>.json (its Directory); instead of --directory")(f)
    return click.option("--directory", "directory", envvar="STOCKPILE_DIRECTORY", show_envvar=True, type=ADDRESS,
                        help="the Directory contract (address)")(f)


def connect_deployment(rpc_url: str, directory: str | None, manifest: Path | None, account_spec: str | None = None,
                       chain_id: int | None = None, allow_mainnet: bool = False) -> Any:
    """An SDK client (``stockpile.sdk.Stockpile``) on the deployment at ``--directory`` or in ``--manifest``,
    acting as ``--account``; each mistake (node, chain, file, address, key) one line."""
    import json

    from stockpile.cli.errors import CliError
    from stockpile.sdk import Stockpile

    account = load_account(account_spec) if account_spec else None
    baskets = None
    if directory is None:
        if manifest is None:
            raise CliError("give --directory ADDRESS or --manifest FILE (or $STOCKPILE_DIRECTORY / $STOCKPILE_MANIFEST)")
        try:
            data = json.loads(Path(manifest).read_text())
            directory = str(data["contracts"]["directory"]["address"])
        except FileNotFoundError:
            raise CliError(f"manifest not found: {manifest}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError(f"{manifest}: not a deployment manifest with a directory ({type(exc).__name__}: {exc})") from None
        baskets = data
    conn = connect_rpc(rpc_url, chain_id, allow_mainnet)
    if baskets is not None and baskets.get("chain_id") not in (None, conn.chain_id):
        raise CliError(f"{manifest} is for chain id {baskets['chain_id']}, the node answers {conn.chain_id}")
    check_contract(conn.w3, directory, "Directory", "symbols", "Directory")
    return Stockpile.connect(conn.w3, directory=directory, manifest=baskets, account=account)
