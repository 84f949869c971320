"""A user's mistake as one line on stderr and exit code 2, at one place: the ``stockpile`` entry point.

:func:`user_error` says whether an exception is the user's (a bad option, file, address, key
variable, an unreachable node, a contract that refuses, a port in use) and gives the line
that names it; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
import json
import sys
from typing import Any

import click

from stockpile.errors import StockpileError

EXIT_USAGE = 2

# Errors of the package raised for the user's own input. (Most derive from StockpileError, the
# package's root; those listed here are named until every class does.)
_PACKAGE_USER_ERRORS = (
    "stockpile.sdk.errors:StockpileError",
    "stockpile.sdk.accounts:AccountError",
    "stockpile.sdk.units:QuantityError",
    "stockpile.deploy.network:NetworkError",
    "stockpile.deploy.config:DeploymentFileError",
    "stockpile.deploy.engine:DeploymentError",
    "stockpile.deploy.bundle:BundleError",
    "stockpile.contracts.artifacts:ArtifactNotFound",
    "stockpile.oracle.keys:KeyError_",
    "stockpile.oracle.units:UnitError",
    "stockpile.oracle.chain:PriceFeedError",
    "stockpile.oracle.feeder:QuorumUnavailable",
    "stockpile.reconcile.config:ConfigError",
    "stockpile.reconcile.custody.parse:ExportError",
    "stockpile.reconcile.chain.reader:ChainConfigError",
    "stockpile.portal.service:PortalError",
)


class CliError(StockpileError, click.ClickException):
    """A mistake the user can fix: printed as ``error: <message>`` on one line, exit code 2."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str):
        super().__init__(squeeze(message))

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def squeeze(text: str, limit: int = 400) -> str:
    """One line: whitespace (newlines of nested messages) collapsed, long text cut."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit] + " ..."


def _package_classes() -> tuple[type[BaseException], ...]:
    """The classes of ``_PACKAGE_USER_ERRORS`` whose modules this process has imported: an exception of a
    class from a module never imported cannot have been raised, and importing them all (the oracle's and
    reconciliation's databases...) cost ~0.7 s CPU on every ``--help`` (click's ``Exit`` comes this way)."""
    out = []
    for dotted in _PACKAGE_USER_ERRORS:
        module, _, name = dotted.partition(":")
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, BaseException):
            out.append(cls)
    return tuple(out)


def _contract_error(exc: BaseException) -> str | None:
    """A revert (decoded to the Solidity error's name and arguments where the ABIs know it)."""
    from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

    if not isinstance(exc, (ContractCustomError, ContractLogicError, ContractPanicError)):
        return None
    from stockpile.sdk.errors import ContractError, translate

    decoded = translate(exc)
    if isinstance(decoded, ContractError):
        return f"refused by the contract: {decoded}"
    message = getattr(exc, "message", None) or str(exc)
    return f"refused by the contract: {message} (is the address the expected contract?)"


def _connection_error(exc: BaseException) -> str | None:
    import requests

    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        url = getattr(getattr(exc, "request", None), "url", None)
        from stockpile.deploy.network import redact_url

        where = f" at {redact_url(url)}" if url else ""
        return f"cannot reach the node{where}: {type(exc).__name__}"
    return None


def _os_error(exc: BaseException) -> str | None:
    if not isinstance(exc, OSError):
        return None
    if exc.errno == errno.EADDRINUSE:
        return f"address already in use: another process listens on that port ({exc.strerror}); give another --port"
    if exc.errno in (errno.ENOENT, errno.EACCES, errno.EISDIR, errno.ENOTDIR, errno.EADDRNOTAVAIL):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return None


def _validation_error(exc: BaseException) -> str | None:
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    errs = exc.errors()
    first = errs[0] if errs else {"loc": (), "msg": str(exc)}
    loc = ".".join(str(p) for p in first.get("loc", ())) or exc.title
    more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
    return f"{loc}: {first.get('msg')}{more}"


def user_error(exc: BaseException) -> str | None:
    """The one line naming the user's mistake, or None for an exception that is a bug."""
    for mapper in (_contract_error, _connection_error, _os_error, _validation_error):
        line = mapper(exc)
        if line:
            return squeeze(line)
    from web3.exceptions import BadFunctionCallOutput, InvalidAddress, TimeExhausted, Web3ValidationError

    if isinstance(exc, BadFunctionCallOutput):
        return squeeze("the address does not hold the expected contract (its answer could not be decoded; "
                       "is it on this chain?)")
    if isinstance(exc, (InvalidAddress, Web3ValidationError, TimeExhausted)):
        return squeeze(str(exc))
    if isinstance(exc, json.JSONDecodeError):
        return squeeze(f"not valid JSON: {exc}")
    try:
        import yaml

        if isinstance(exc, yaml.YAMLError):
            return squeeze(f"not valid YAML: {exc}")
    except ImportError:
        pass
    from stockpile.sdk.errors import ContractError

    if isinstance(exc, ContractError):
        return squeeze(f"refused by the contract: {exc}")
    if isinstance(exc, _package_classes()):
        return squeeze(str(exc) or type(exc).__name__)
    return None


def as_click_error(exc: BaseException) -> click.ClickException | None:
    """``exc`` as the ClickException the entry point shows (one line, exit 2), or None for a bug."""
    if isinstance(exc, click.ClickException):
        if isinstance(exc, click.UsageError):
            return None  # click shows usage errors itself (exit 2)
        if not isinstance(exc, CliError):
            return CliError(exc.format_message())  # exit 2, one line
        return None
    line = user_error(exc)
    return CliError(line) if line else None


def show_usage_error(exc: click.UsageError) -> None:
    """``error: <what is wrong> (see `<command> --help`)`` on one line, instead of click's usage block."""
    cmd = exc.ctx.command_path if exc.ctx is not None else "stockpile"
    click.echo(f"error: {squeeze(exc.format_message())} (see `{cmd} --help`)", err=True)
