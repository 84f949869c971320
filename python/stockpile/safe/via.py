"""One way for a privileged command to act: send each call from an account, or collect the calls
into a Safe proposal (``--via-safe SAFE``).

A command builds its calls (``contract.functions.f(...)`` objects or ``Call``s) and hands them
to ``submitter.transact``; it does not know which of the two it has. ``via_safe_options`` is the
one definition of the options every such command takes::

    @via_safe_options
    def cmd(..., via_safe, proposal_out, safe_nonce, multisend):
        submitter = make_submitter(w3, via_safe, proposal_out, safe_nonce, multisend, account=lambda: acct)
        submitter.transact(token.functions.pause())
        click.echo(submitter.finish())
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable

import click
from web3 import Web3

from stockpile.safe.calls import Call, call_from_function
from stockpile.safe.contracts import safe_info


def via_safe_options(f):
    from stockpile.cli.options import ADDRESS

    f = click.option("--multisend", default=None, envvar="STOCKPILE_SAFE_MULTISEND", type=ADDRESS,
                     help="MultiSendCallOnly address for batches (default: Safe's canonical 1.4.1 one of the chain)")(f)
    f = click.option("--safe-nonce", type=int, default=None, help="with --via-safe: the Safe nonce to propose for "
                     "(default: the Safe's next nonce)")(f)
    f = click.option("--proposal", "proposal_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="with --via-safe: the proposal file to write (default: safe-proposal-<nonce>.json)")(f)
    f = click.option("--via-safe", "via_safe", default=None, type=ADDRESS,
                     help="do not send: write a Safe proposal (Transaction Builder JSON + SafeTx hash) for the owners "
                          "to sign (`stockpile safe sign`) and execute (`stockpile safe execute`)")(f)
    return f


class DirectSubmitter:
    """Sends every call at once from the account."""

    def __init__(self, sender: Any):
        self.sender = sender
        self.sent: list[Any] = []

    @property
    def address(self) -> str:
        return self.sender.address

    @property
    def w3(self) -> Web3:
        return self.sender.w3

    def transact(self, call: Any, value: int = 0, **kw: Any) -> Any:
        if isinstance(call, Call):
            call = {"to": call.to, "value": call.value, "data": "0x" + call.data.hex()}
        receipt = self.sender.transact(call, value=value, **kw)
        self.sent.append(receipt)
        return receipt

    def finish(self) -> str:
        return f"sent {len(self.sent)} transaction(s) from {self.address}"


class SafeProposalSubmitter:
    """Collects the calls the Safe is to make; ``finish`` writes them as one proposal."""

    def __init__(self, w3: Web3, safe: str, out: Path | None = None, nonce: int | None = None,
                 multisend: str | None = None, description: str = ""):
        self.w3 = w3
        self.info = safe_info(w3, safe)  # refuses an address that is not a Safe before anything is built
        self.out, self.nonce, self.multisend, self.description = out, nonce, multisend, description
        self.calls: list[Call] = []
        self.path: Path | None = None

    @property
    def address(self) -> str:
        return self.info.address

    def transact(self, call: Any, value: int = 0, **kw: Any) -> None:
        self.calls.append(call if isinstance(call, Call) else call_from_function(call, value))
        return None

    def finish(self) -> str:
        from stockpile.safe.workflow import new_proposal

        if not self.calls:
            return f"nothing to propose for Safe {self.address}"
        prop = new_proposal(self.w3, self.address, self.calls, self.nonce, self.multisend, self.description)
        self.path = prop.save(self.out or Path(f"safe-proposal-{prop.nonce}.json"))
        lines = [f"wrote {self.path}: {len(self.calls)} call(s) for Safe {self.address} (nonce {prop.nonce}, "
                 f"{self.info.threshold} of {len(self.info.owners)} owners must sign)"]
        lines += [f"  {c.summary()}" for c in self.calls]
        lines.append(f"safeTxHash {prop.safe_tx_hash}")
        return "\n".join(lines)


def make_submitter(w3: Web3, via_safe: str | None, proposal_out: Path | None, safe_nonce: int | None,
                   multisend: str | None, account: Callable[[], Any], description: str = ""):
    """A SafeProposalSubmitter with ``--via-safe``, else a DirectSubmitter for ``account()`` (only
    resolved when sending)."""
    if via_safe:
        return SafeProposalSubmitter(w3, via_safe, proposal_out, safe_nonce, multisend, description)
    from stockpile.sdk.transactions import Sender

    return DirectSubmitter(Sender(w3, account()))
