"""PriceFeed on a real node (anvil) through web3.py: custom errors by name, and a consumer compiled
against @chainlink/contracts' AggregatorV3Interface applying its own staleness check."""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_utils import keccak
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from oracle_helpers import advance
from stockpile.contracts.compile import compile_standard_json
from stockpile.oracle.chain import hub_contract, signer_config
from stockpile.sdk.errors import ContractError
from stockpile.sdk.transactions import Sender
from stockpile.oracle.report import FeedEntry, build_report, feed_id
from stockpile.toolchain import PROJECT_ROOT

pytestmark = pytest.mark.anvil

NDPR, DY = feed_id("NDPR-OXIDE/USD"), feed_id("DY-METAL/USD")
P = 10**8


@pytest.fixture
def hub(w3, deployed_hub):
    return hub_contract(w3, deployed_hub["address"])


@pytest.fixture
def sender(w3, anvil_keys):
    return Sender(w3, anvil_keys[1])  # (tests/conftest.py's keys 2 and 7 are not anvil's: avoided)


def signed(w3, hub, keys, fids, answers, observed_at=None, rounds=None, chain_id=None):
    t = observed_at if observed_at is not None else w3.eth.get_block("latest")["timestamp"]
    entries = [FeedEntry(f, rounds[i] if rounds else hub.functions.feedConfig(f).call()[5] + 1) for i, f in enumerate(fids)]
    return build_report(keys, chain_id or w3.eth.chain_id, hub.address, signer_config(hub), entries, t, answers)


def send(sender, hub, report):
    return sender.transact(hub.functions.transmit(*report.transmit_args()))


def test_quorum_report_on_anvil_and_errors_by_name(w3, hub, sender, signer_keys):
    advance(w3, 5)
    receipt = send(sender, hub, signed(w3, hub, signer_keys[:3], [NDPR, DY], [[60 * P, 300 * P], [62 * P, 310 * P], [61 * P, 305 * P]]))
    assert receipt["status"] == 1 and receipt["gasUsed"] < 120_000
    assert hub.functions.latestRoundData(NDPR).call()[:2] == [1, 61 * P]
    assert hub.functions.latestRoundData(DY).call()[:2] == [1, 305 * P]

    report = signed(w3, hub, signer_keys[:2], [NDPR], [[61 * P]] * 2)
    with pytest.raises(ContractError) as info:
        send(sender, hub, report)
    assert info.value.name == "QuorumNotMet" and info.value.args_dict == {"signatures": 2, "needed": 3}

    # the raw web3 error carries the selector of our custom error
    with pytest.raises(ContractCustomError) as raw:
        hub.functions.transmit(*report.transmit_args()).call({"from": sender.address})
    assert raw.value.data[:10] == "0x" + keccak(text="QuorumNotMet(uint256,uint256)")[:4].hex()


def test_replay_wrong_chain_and_future_on_anvil(w3, hub, sender, signer_keys):
    advance(w3, 5)
    report = signed(w3, hub, signer_keys[:3], [NDPR], [[61 * P]] * 3)
    send(sender, hub, report)
    advance(w3, 5)
    with pytest.raises(ContractError, match="UnexpectedRound") as info:
        send(sender, hub, report)
    assert info.value.args_dict["expected"] == 2

    other_chain = signed(w3, hub, signer_keys[:3], [NDPR], [[61 * P]] * 3, chain_id=1)
    with pytest.raises(ContractError) as info:
        send(sender, hub, other_chain)
    assert info.value.name == "NotSigner"

    future = signed(w3, hub, signer_keys[:3], [NDPR], [[61 * P]] * 3,
                    observed_at=w3.eth.get_block("latest")["timestamp"] + 600)
    with pytest.raises(ContractError, match="ObservationInFuture"):
        send(sender, hub, future)

    stale = signed(w3, hub, signer_keys[:3], [NDPR], [[61 * P]] * 3,
                   observed_at=hub.functions.feedConfig(NDPR).call()[6])
    with pytest.raises(ContractError, match="ObservationNotNewer"):
        send(sender, hub, stale)
    assert hub.functions.feedConfig(NDPR).call()[5] == 1

    # a signed report that never landed, posted after the feed's maximum report age (audit M-3)
    late = signed(w3, hub, signer_keys[:3], [NDPR], [[61 * P]] * 3)
    advance(w3, hub.functions.feedConfig(NDPR).call()[2] + 1)
    with pytest.raises(ContractError, match="SignatureExpired|ReportTooOld"):
        send(sender, hub, late)


def test_batch_with_one_bad_entry_on_anvil(w3, hub, sender, signer_keys, deployed_hub):
    advance(w3, 5)
    report = signed(w3, hub, signer_keys[:3], [NDPR, DY], [[61 * P, 10**15]] * 3)  # DY above its max
    receipt = send(sender, hub, report)
    skipped = hub.events.FeedUpdateSkipped().process_receipt(receipt, errors=DISCARD)
    assert [e["args"]["feedId"] for e in skipped] == [DY]
    from stockpile.oracle.chain import decode_error

    err = decode_error(skipped[0]["args"]["reason"])
    assert err.name == "AnswerOutOfBounds" and err.args_dict["answer"] == 10**15
    assert hub.functions.feedConfig(DY).call()[5] == 0
    assert hub.functions.latestRoundData(NDPR).call()[1] == 61 * P


def test_admin_refused_for_non_admin_on_anvil(w3, hub, signer_keys, anvil_keys):
    stranger = Sender(w3, anvil_keys[6])
    with pytest.raises(Exception) as info:
        stranger.transact(hub.functions.setConfig([Account.from_key(k).address for k in signer_keys[:4]], 1))
    assert "AccessControlUnauthorizedAccount" in repr(info.value) or "0xe2517d3f" in repr(info.value)
    assert hub.functions.quorum().call() == 3


def _compile_consumer():
    src = "tests/oracle/contracts/StalenessCheckedConsumer.sol"
    out = compile_standard_json({src: {"content": (PROJECT_ROOT / src).read_text()}})
    c = out["contracts"][src]["StalenessCheckedConsumer"]
    assert any(k.startswith("node_modules/@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface")
               for k in out["sources"])
    return c["abi"], "0x" + c["evm"]["bytecode"]["object"]


def test_chainlink_consumer_reads_feed_and_applies_heartbeat(w3, hub, sender, signer_keys, deployed_hub):
    abi, bytecode = _compile_consumer()
    adapter = deployed_hub["adapters"]["NDPR-OXIDE/USD"]
    ctor = w3.eth.contract(abi=abi, bytecode=bytecode).constructor(adapter)
    receipt = sender.transact(ctor)
    consumer = w3.eth.contract(address=receipt["contractAddress"], abi=abi)
    advance(w3, 5)
    send(sender, hub, signed(w3, hub, signer_keys[:3], [NDPR], [[6_250_000_000]] * 3))
    assert consumer.functions.price().call() == [6_250_000_000, 8, "NDPR-OXIDE/USD per kg"]
    heartbeat = hub.functions.feedConfig(NDPR).call()[1]
    advance(w3, heartbeat + 1)
    with pytest.raises(ContractCustomError):
        consumer.functions.price().call()
