"""Plan and apply a deployment as an ordered list of idempotent steps.

A step is either a contract deployment (done when the manifest records it and the code at
that address is the artifact's) or a configuration call (done when an on-chain check says
so: a role held, a product registered, ...). ``plan`` evaluates every step against the chain,
touching nothing; ``apply`` runs the steps that are not done, recording each signed
transaction in the manifest before broadcasting it, so an interrupted run is completed by
the next one without duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard
from collections.abc import Callable

from rich.progress import Progress
from web3 import Web3
from eth_typing import HexStr
from eth_utils import to_checksum_address

from stockpile.contracts import contract, load
from stockpile.deploy.manifest import Action, DeployedContract, Manifest, Pending, load_manifest, save_manifest
from stockpile.core.eth import ZERO_ADDRESS
from stockpile.core.jsonconv import jsonable
from stockpile.sdk.transactions import Sender, SentTransaction
from stockpile.errors import StockpileError

Ctx = Any  # the ApplyContext below; steps receive it to resolve addresses of earlier steps


@dataclass
class DeployStep:
    key: str
    contract: str
    args: Callable[..., list[Any]] = lambda ctx: []  # (ctx) -> args; lambdas bind loop values as defaults
    description: str = ""

    kind = "deploy"


@dataclass
class CallStep:
    key: str
    target: str  # manifest key of the contract to call
    contract: str  # artifact name giving the ABI to call it with
    function: str
    args: Callable[..., list[Any]]  # (ctx) -> args, as above
    done: Callable[..., bool]
    description: str = ""
    # Needs GOVERNOR_ROLE on the target. At first deployment the deployer holds it (bootstrap governor) and
    # calls directly; once it renounced it (handover), the engine schedules the call on the TimelockController
    # (manifest key "timelock") and executes it on a later run, after the delay.
    governed: bool = False

    kind = "call"


Step = DeployStep | CallStep


@dataclass
class PlannedStep:
    key: str
    kind: str
    description: str
    status: str  # "done", "todo", "pending" (sent by an interrupted run), "blocked" (needs an earlier step)
    gas: int | None = None  # estimated when planned, used when applied
    address: str | None = None


@dataclass
class ApplyContext:
    w3: Web3
    manifest: Manifest
    sender_address: str
    extra: dict[str, Any] = field(default_factory=dict)

    def address(self, key: str) -> str:
        return self.manifest.address(key)

    def contract(self, key: str, artifact: str):
        return contract(self.w3, artifact, self.address(key))


class DeploymentError(StockpileError, RuntimeError):
    pass


GOVERNOR_ROLE = Web3.keccak(text="GOVERNOR_ROLE")
ZERO32 = b"\0" * 32


@dataclass
class TimelockOp:
    """A governed call as a TimelockController operation; the salt is derived from the step key and the
    call data, so every run finds the same operation again."""
    target: str
    data: bytes
    salt: bytes

    @classmethod
    def of(cls, ctx: ApplyContext, step: CallStep) -> TimelockOp:
        fn = ctx.contract(step.target, step.contract).get_function_by_name(step.function)(*step.args(ctx))
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        return cls(ctx.address(step.target), data, Web3.keccak(step.key.encode() + data))

    def call_args(self) -> list:
        return [self.target, 0, self.data, ZERO32, self.salt]


def _strip_immutables(code: bytes, artifact_name: str) -> bytes:
    """Runtime code with immutable slots zeroed (they hold per-deployment values)."""
    art = load(artifact_name)
    refs = getattr(art, "immutable_references", None) or {}
    buf = bytearray(code)
    for positions in refs.values():
        for pos in positions:
            start, length = pos["start"], pos["length"]
            buf[start:start + length] = bytes(length)
    return bytes(buf)


def code_matches(w3: Web3, address: str, artifact_name: str) -> bool:
    """True when the runtime code at ``address`` is the artifact's (immutables aside)."""
    onchain = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    expected = bytes.fromhex(load(artifact_name).deployed_bytecode[2:])
    if not onchain or len(onchain) != len(expected):
        return False
    return _strip_immutables(onchain, artifact_name) == _strip_immutables(expected, artifact_name)


class Engine:
    def __init__(self, w3: Web3, steps: list[Step], manifest_dir: str | Path, deployment_name: str = "stockpile",
                 extra: dict[str, Any] | None = None):
        self.w3 = w3
        self.steps = steps
        self.feed_symbols: dict[str, str] = {}  # product symbol -> its feed's symbol on the hub (make_engine)
        self.manifest_dir = Path(manifest_dir)
        self.chain_id = w3.eth.chain_id
        self.manifest = load_manifest(self.manifest_dir, self.chain_id)
        self.archived: Path | None = None
        if self.manifest.contracts and not any(
                self.w3.eth.get_code(Web3.to_checksum_address(c.address)) for c in self.manifest.contracts.values()):
            # None of the recorded contracts exists: a local chain was restarted. Keep the old
            # manifest aside and start afresh (on a real network this cannot happen).
            self.archived = self._archive()
            self.manifest = load_manifest(self.manifest_dir, self.chain_id)
        self.manifest.deployment = deployment_name
        self.extra = extra or {}
        keys = [s.key for s in steps]
        if len(keys) != len(set(keys)):
            raise DeploymentError("duplicate step keys")

    def _archive(self) -> Path:
        import time

        from stockpile.deploy.manifest import manifest_path

        path = manifest_path(self.manifest_dir, self.chain_id)
        target = path.with_name(f"{path.stem}.stale-{int(time.time())}.json")
        path.rename(target)
        return target

    # -- evaluation ---------------------------------------------------------------------
    def _ctx(self, sender_address: str) -> ApplyContext:
        return ApplyContext(self.w3, self.manifest, sender_address, self.extra)

    def _deployed(self, step: DeployStep) -> bool:
        rec = self.manifest.contracts.get(step.key)
        return rec is not None and code_matches(self.w3, rec.address, step.contract)

    def _ready(self, step: Step) -> bool:
        try:
            ctx = self._ctx(ZERO_ADDRESS)
            if isinstance(step, CallStep):
                ctx.address(step.target)
            step.args(ctx)
            return True
        except KeyError:
            return False

    def _through_timelock(self, step: Step, ctx: ApplyContext) -> TypeGuard[CallStep]:
        """A governed step the sender cannot make directly (it holds no GOVERNOR_ROLE on the target)."""
        if not (isinstance(step, CallStep) and step.governed) or "timelock" not in self.manifest.contracts:
            return False
        target = ctx.contract(step.target, step.contract)
        return not target.functions.hasRole(GOVERNOR_ROLE, ctx.sender_address).call()

    def _timelock_state(self, op: TimelockOp, ctx: ApplyContext) -> tuple[str, int]:
        """("unscheduled" | "waiting" | "ready" | "done", ready-at timestamp) of a governed call."""
        tl = ctx.contract("timelock", "StockpileTimelock")
        op_id = tl.functions.hashOperation(*op.call_args()).call()
        ts = tl.functions.getTimestamp(op_id).call()
        if ts == 0:
            return "unscheduled", 0
        if tl.functions.isOperationDone(op_id).call():
            return "done", ts
        return ("ready" if tl.functions.isOperationReady(op_id).call() else "waiting"), ts

    def _is_done(self, step: Step, ctx: ApplyContext) -> bool:
        if isinstance(step, DeployStep):
            return self._deployed(step)
        if step.target not in self.manifest.contracts:
            return False
        return bool(step.done(ctx))

    def plan(self, sender_address: str) -> list[PlannedStep]:
        """What apply would do, with gas estimates where the inputs exist already."""
        ctx = self._ctx(sender_address)
        out = []
        for step in self.steps:
            desc = step.description or step.key
            if step.key in self.manifest.pending:
                out.append(PlannedStep(step.key, step.kind, desc, "pending"))
                continue
            if self._is_done(step, ctx):
                addr = self.manifest.contracts[step.key].address if isinstance(step, DeployStep) else None
                out.append(PlannedStep(step.key, step.kind, desc, "done", address=addr))
                continue
            if not self._ready(step):
                out.append(PlannedStep(step.key, step.kind, desc, "blocked"))
                continue
            if self._through_timelock(step, ctx):
                state, ts = self._timelock_state(TimelockOp.of(ctx, step), ctx)
                status = {"unscheduled": "timelock: to schedule", "waiting": f"timelock: waiting until {ts}",
                          "ready": "timelock: ready to execute", "done": "timelock: executed"}[state]
                out.append(PlannedStep(step.key, step.kind, desc, status))
                continue
            gas = None
            try:
                if isinstance(step, DeployStep):
                    art = load(step.contract)
                    tx = self.w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(*step.args(ctx)).build_transaction(
                        {"from": sender_address, "gas": 30_000_000})
                    gas = self.w3.eth.estimate_gas({"from": sender_address, "data": tx["data"]})
                else:
                    fn = ctx.contract(step.target, step.contract).get_function_by_name(step.function)(*step.args(ctx))
                    gas = fn.estimate_gas({"from": sender_address})
            except Exception:
                gas = None
            out.append(PlannedStep(step.key, step.kind, desc, "todo", gas=gas))
        return out

    # -- execution ----------------------------------------------------------------------
    def _save(self) -> None:
        save_manifest(self.manifest_dir, self.manifest)

    def _recover_pending(self, sender: Sender) -> None:
        """Finish what an interrupted run sent: record mined transactions, re-broadcast the rest."""
        for key, pend in list(self.manifest.pending.items()):
            receipt = None
            try:
                receipt = self.w3.eth.get_transaction_receipt(HexStr(pend.tx_hash))
            except Exception:
                receipt = None
            if receipt is None:
                nonce_now = self.w3.eth.get_transaction_count(to_checksum_address(pend.sender), "latest")
                if nonce_now > pend.nonce:
                    # The nonce was used by another transaction: ours can never be mined.
                    del self.manifest.pending[key]
                    self._save()
                    continue
                sender.broadcast(SentTransaction(pend.tx_hash, pend.nonce, bytes.fromhex(pend.raw[2:])))
                receipt = sender.wait(pend.tx_hash)
            self._record(key, receipt)
            del self.manifest.pending[key]
            self._save()
        sender.resync()

    def _record(self, key: str, receipt: Any) -> None:
        step = next(s for s in self.steps if s.key == key)
        if receipt["status"] != 1:
            return  # a failed transaction records nothing; the step stays to do
        if isinstance(step, DeployStep):
            address = receipt["contractAddress"]
            code = bytes(self.w3.eth.get_code(address))
            self.manifest.contracts[key] = DeployedContract(
                contract=step.contract, address=address, tx_hash=Web3.to_hex(receipt["transactionHash"]),
                block_number=receipt["blockNumber"], args=[jsonable(a) for a in step.args(self._ctx(receipt["from"]))],
                code_hash=Web3.to_hex(Web3.keccak(code)))
        else:
            self.manifest.actions[key] = Action(description=step.description or step.key,
                                                tx_hash=Web3.to_hex(receipt["transactionHash"]),
                                                block_number=receipt["blockNumber"])

    def apply(self, sender: Sender, progress: bool = True) -> list[PlannedStep]:
        from stockpile.contracts.artifacts import load as load_art

        self.manifest.compiler = load_art(next(s.contract for s in self.steps)).compiler
        self._recover_pending(sender)
        ctx = self._ctx(sender.address)
        results = []
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task("deploying", total=len(self.steps))
            for step in self.steps:
                bar.update(task, description=step.key)
                if self._is_done(step, ctx):
                    results.append(PlannedStep(step.key, step.kind, step.description or step.key, "done",
                                               address=self.manifest.contracts[step.key].address if isinstance(step, DeployStep) else None))
                    bar.advance(task)
                    continue
                if isinstance(step, DeployStep) and step.key in self.manifest.contracts:
                    raise DeploymentError(
                        f"{step.key}: the code at {self.manifest.contracts[step.key].address} is not {step.contract}'s; "
                        "refusing to continue (was the contract changed or the chain reset?)")

                def remember(sent: SentTransaction, key=step.key) -> None:
                    self.manifest.pending[key] = Pending(tx_hash=sent.tx_hash, nonce=sent.nonce, sender=sender.address,
                                                         raw="0x" + sent.raw.hex())
                    self._save()

                if self._through_timelock(step, ctx):
                    results.append(self._apply_through_timelock(step, ctx, sender))
                    bar.advance(task)
                    continue
                if isinstance(step, DeployStep):
                    art = load(step.contract)
                    receipt = sender.deploy(art.abi, art.bytecode, *step.args(ctx), before_broadcast=remember)
                else:
                    fn = ctx.contract(step.target, step.contract).get_function_by_name(step.function)(*step.args(ctx))
                    receipt = sender.transact(fn, before_broadcast=remember)
                self._record(step.key, receipt)
                self.manifest.pending.pop(step.key, None)
                self._save()
                results.append(PlannedStep(step.key, step.kind, step.description or step.key, "applied",
                                           gas=receipt["gasUsed"],
                                           address=receipt.get("contractAddress")))
                bar.advance(task)
        self._record_feeds()
        return results

    def _record_feeds(self) -> None:
        """Each product's feed symbol, feed id and AggregatorV3 adapter address (created by the hub's addFeed)."""
        from stockpile.deploy.manifest import FeedRecord
        from stockpile.deploy.steps import symbol_feed_id

        if "price-feed" not in self.manifest.contracts:
            return
        hub_address = self.manifest.address("price-feed")
        hub = self.w3.eth.contract(address=to_checksum_address(hub_address), abi=load("PriceFeed").abi)
        for product, symbol in self.feed_symbols.items():
            fid = symbol_feed_id(symbol)
            adapter = hub.functions.adapterOf(fid).call()
            if int(adapter, 16):
                self.manifest.feeds[product] = FeedRecord(symbol=symbol, feed_id="0x" + fid.hex(), adapter=adapter,
                                                          hub=hub_address)
        self._save()

    def _apply_through_timelock(self, step: CallStep, ctx: ApplyContext, sender: Sender) -> PlannedStep:
        """Schedule the governed call on the timelock (sender: a proposer), or execute it once its delay has
        passed (sender: an executor). Nothing is recorded as done until the call itself ran."""
        op = TimelockOp.of(ctx, step)
        tl = ctx.contract("timelock", "StockpileTimelock")
        desc = step.description or step.key
        state, ts = self._timelock_state(op, ctx)
        role = {"unscheduled": "PROPOSER_ROLE", "ready": "EXECUTOR_ROLE"}.get(state)
        if role and not (tl.functions.hasRole(Web3.keccak(text=role), sender.address).call()
                         or tl.functions.hasRole(Web3.keccak(text=role), ZERO_ADDRESS).call()):
            raise DeploymentError(
                f"{step.key}: needs GOVERNOR_ROLE, which only the timelock holds now; {sender.address} is not a "
                f"timelock {role.split('_')[0].lower()}: run apply with --account of one")
        if state == "unscheduled":
            delay = tl.functions.getMinDelay().call()
            receipt = sender.transact(tl.functions.schedule(*op.call_args(), delay))
            _, ts = self._timelock_state(op, ctx)
            return PlannedStep(step.key, step.kind, desc, f"scheduled on the timelock (ready at {ts})",
                               gas=receipt["gasUsed"])
        if state == "waiting":
            return PlannedStep(step.key, step.kind, desc, f"timelock: waiting until {ts}")
        if state == "done":
            return PlannedStep(step.key, step.kind, desc, "timelock: executed")
        receipt = sender.transact(tl.functions.execute(*op.call_args()))
        self._record(step.key, receipt)
        self._save()
        return PlannedStep(step.key, step.kind, desc, "applied", gas=receipt["gasUsed"])

    def verify(self) -> dict[str, bool]:
        """Check the code at every recorded address against its artifact."""
        return {key: code_matches(self.w3, rec.address, rec.contract) for key, rec in self.manifest.contracts.items()}
