"""SDK benchmark: RPC calls per SDK operation, and the time to fetch the event history of an
address with 10,000 transfers on anvil, against the same query written directly with web3.py."""

from __future__ import annotations

import time
from decimal import Decimal

from eth_account import Account
from web3 import Web3
from web3.providers.rpc import HTTPProvider

from devkit.contracts import load
from stockpile.deploy import SAMPLE_DEVNET, load_deployment, make_engine
from stockpile.sdk import Stockpile
from stockpile.sdk.transactions import Sender
from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys

N_TRANSFERS = 10_000
PER_TX = 400


class CountingProvider(HTTPProvider):
    calls: int = 0
    methods: dict

    def _make_request(self, method, request_data):  # below web3's request cache: real HTTP requests only
        self.calls += 1
        self.methods[method] = self.methods.get(method, 0) + 1
        return super()._make_request(method, request_data)


def counted(provider: CountingProvider, fn) -> int:
    provider.calls, provider.methods = 0, {}
    fn()
    return provider.calls


def run() -> list[dict]:
    keys = dev_keys()
    deployer, holder_acct = Account.from_key(keys[0]), Account.from_key(keys[8])
    metrics: list[dict] = []
    with Anvil(extra_args=["--gas-limit", "60000000"]) as node:
        provider = CountingProvider(node.url, request_kwargs={"timeout": 120})
        provider.methods = {}
        w3 = Web3(provider)
        import tempfile

        engine = make_engine(load_deployment(SAMPLE_DEVNET), w3, tempfile.mkdtemp())
        engine.apply(Sender(w3, deployer), progress=False)
        directory = engine.manifest.address("directory")
        op = Stockpile.connect(w3, directory=directory, account=deployer)
        holder = op.with_account(holder_acct)
        ndpr_op, ndpr = op.product("NDPR"), holder.product("NDPR")
        attestors = [Account.from_key(k) for k in keys[2:4]]
        lots = [("WH-1", f"LOT-{i}", "NDPR-OXIDE", "powder", 995_000, 10_000 * 10**18, f"A{i}") for i in range(50)]
        now = w3.eth.get_block("latest")["timestamp"]

        ops = {
            "attest 50 lots (2 signatures)": lambda: ndpr_op.attest(lots, now - 10, b"report", attestors),
            "mint": lambda: ndpr_op.mint(holder.address, Decimal("50000"), "bench mint"),
            "balance": lambda: ndpr.balance(holder.address),
            "holding value (balance + price)": lambda: ndpr.holding(holder.address),
            "transfer": lambda: ndpr.transfer(deployer.address, Decimal("1")),
            "request redemption": lambda: ndpr.request_redemption(Decimal("100"), "DO-1"),
            "redemption status": lambda: ndpr.redemption(1),
            "reserve status": ndpr.reserve_status,
            "verify lot proof": lambda: ndpr.verify_lot(lots[7], ndpr.lot_proof(lots, 7)),
        }
        for name, fn in ops.items():
            metrics.append({"metric": f"rpc calls: {name}", "value": counted(provider, fn), "unit": "calls"})

        # 10,000 transfers out of the holder's account, through a spray contract
        spray_art = load("TransferSpray")
        sender = Sender(w3, deployer)
        spray = w3.eth.contract(address=sender.deploy(spray_art.abi, spray_art.bytecode)["contractAddress"], abi=spray_art.abi)
        holder.send(ndpr.token.functions.approve(spray.address, 2**256 - 1))
        for batch in range(N_TRANSFERS // PER_TX):
            sender.transact(spray.functions.spray(ndpr.token.address, holder.address, PER_TX, 1, batch))

        start = time.perf_counter()
        provider.calls = 0
        events = list(ndpr.iter_history(holder.address, page_size=5000, block_span=1_000_000))
        sdk_time, sdk_calls = time.perf_counter() - start, provider.calls
        transfers = sum(e.event == "Transfer" for e in events)

        start = time.perf_counter()
        provider.calls = 0
        t = w3.eth.contract(address=ndpr.token.address, abi=load("CommodityToken").abi)
        sent = t.events.Transfer.get_logs(argument_filters={"from": holder.address}, from_block=0)
        received = t.events.Transfer.get_logs(argument_filters={"to": holder.address}, from_block=0)
        direct_time, direct_calls = time.perf_counter() - start, provider.calls
        assert transfers == len(sent) + len(received) >= N_TRANSFERS, (transfers, len(sent), len(received))

        metrics += [
            {"metric": f"history of an address with {transfers} transfers (SDK, typed, paginated)", "value": round(sdk_time, 3),
             "unit": "s", "baseline": "web3.py get_logs of Transfer from/to the address", "baseline_value": round(direct_time, 3)},
            {"metric": "history rpc calls (SDK)", "value": sdk_calls, "unit": "calls",
             "baseline": "web3.py get_logs", "baseline_value": direct_calls},
            {"metric": "history events returned (SDK, all kinds)", "value": len(events), "unit": "events"},
        ]
    return metrics
