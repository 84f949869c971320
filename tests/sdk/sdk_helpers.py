"""Keys and helpers of the SDK tests (fixtures are in conftest.py)."""

from __future__ import annotations


from devkit.rpc_front import RpcFront
from stockpile.sdk import Stockpile
from stockpile.toolchain.anvil import dev_keys

ANVIL_KEYS = dev_keys()

DEPLOYER, ADMIN = ANVIL_KEYS[0], ANVIL_KEYS[1]
ATTESTOR_KEYS = ANVIL_KEYS[2:5]
ORACLE_KEYS = ANVIL_KEYS[5:8]
HOLDER, SPENDER = ANVIL_KEYS[8], ANVIL_KEYS[9]


def publish_price(sp: Stockpile, symbol: str, usd: str) -> None:
    """Publish a reference price observed and signed by 2f + 1 oracle signers (real EIP-712 signatures)."""
    from decimal import Decimal

    from stockpile.oracle.report import FeedEntry, build_report
    from stockpile.deploy.steps import feed_id

    product = sp.product(symbol)
    hub = product.feed.functions.hub().call() if hasattr(product.feed.functions, "hub") else None
    decimals = product.feed.functions.decimals().call()
    latest = product.price()
    round_id = 1 if latest is None else latest.round_id + 1
    now = sp.w3.eth.get_block("latest")["timestamp"]
    answer = int(Decimal(usd).scaleb(decimals))
    entry = FeedEntry(feed_id=feed_id(product.info.product_code), round_id=round_id)
    from stockpile.contracts import load
    from stockpile.oracle.chain import signer_config

    hub_c = sp.w3.eth.contract(address=hub, abi=load("PriceFeed").abi)
    # the sample deployment: 4 oracle signers, f = 1: three observations, each signing the whole report
    report = build_report(ORACLE_KEYS[:3], sp.chain_id, hub, signer_config(hub_c), [entry], now, [[answer]] * 3)
    sp.send(hub_c.functions.transmit(*report.transmit_args()))


def quickstart_code() -> str:
    """The README's SDK quickstart, as written."""
    import re

    from stockpile.toolchain import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## SDK quickstart", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def prepare_quickstart(operator: Stockpile):
    """What the quickstart's holder finds on a fresh devnet: an attested reserve, 500 NDPR, a price.
    Returns the holder's NDPR balance before the quickstart runs."""
    from decimal import Decimal

    from eth_account import Account

    holder = Account.from_key(HOLDER)
    ndpr = operator.product("NDPR")
    now = operator.w3.eth.get_block("latest")["timestamp"]
    last = ndpr.attestation()
    lots = [("WH-ROTTERDAM-01", "Q-1", "NDPR-OXIDE", "powder", 995_000, 5_000 * 10**18, "SGS-Q1")]
    ndpr.attest(lots, as_of=max(now - 30, (last.as_of + 1) if last else 0), report=b"r",
                signers=[Account.from_key(k) for k in ATTESTOR_KEYS[:2]])
    ndpr.mint(holder.address, Decimal("500"), "quickstart funding")
    publish_price(operator, "NDPR", "64")
    return ndpr.balance(holder.address).amount


def check_quickstart_output(text: str, before, operator: Stockpile) -> None:
    """What the quickstart prints, and the holder's balance after it (2.5 sent, 100 in redemption)."""
    import re
    from decimal import Decimal

    from eth_account import Account

    assert "NDPR | Stockpile NdPr Oxide | NdPr oxide, 1 kg, 99.5%" in text
    assert f"balance: {before} kg" in text
    value, price = re.search(r"value: (\S+) USD at (\S+) USD/kg", text).groups()
    assert Decimal(price) == 64 and Decimal(value) == before * 64
    assert re.search(r"redemption \d+ pending", text)
    assert "backed: True" in text
    assert "refused: AccessControlUnauthorizedAccount True" in text
    holder = Account.from_key(HOLDER)
    assert operator.product("NDPR").balance(holder.address).amount == before - Decimal("102.5")


class BatchCountingProxy(RpcFront):
    """An HTTP JSON-RPC front for a node that counts the requests (and each method) and batches it forwards; with
    ``refuse`` it answers every batch as nodes without batch support do (``"error"``: a JSON-RPC
    error object, HTTP 200; ``"http"``: HTTP 400) or leaves its last answer out (``"short"``), and forwards
    single requests as they are."""

    def __init__(self, upstream: str, refuse: str | None = None):
        from collections import Counter

        super().__init__(upstream, timeout=30)
        self.refuse = refuse
        self.stats: Counter[str] = Counter()

    def answer(self, body: bytes, path: str) -> tuple[int, bytes] | None:
        import json

        batch = body.lstrip().startswith(b"[")
        self.stats["batches" if batch else "requests"] += 1
        if not batch:
            self.stats[json.loads(body)["method"]] += 1
            return None
        if self.refuse == "error":
            self.stats["refused"] += 1
            return 200, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch requests are not supported"}}'
        if self.refuse == "http":
            self.stats["refused"] += 1
            return 400, b'{"error":"batch requests are not supported"}'
        out = self.forward(body)
        if self.refuse == "short":
            self.stats["refused"] += 1
            out = json.dumps(json.loads(out)[:-1]).encode()
        return 200, out
