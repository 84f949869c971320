"""Custom errors decode to the same Python exceptions on ape's in-process network (py-evm via
eth-tester) as on anvil (see test_holder_journey)."""

from __future__ import annotations

import pytest
import yaml
from eth_account import Account

from stockpile.deploy import SAMPLE_DEVNET, connect, make_engine, parse_deployment
from stockpile.sdk import Stockpile, errors
from stockpile.sdk.transactions import Sender
from stockpile.toolchain.anvil import dev_keys

KEYS = dev_keys()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory):
    """The sample deployment's first product (NDPR, the one these tests use) on py-evm: each of the
    other four products and the basket cost ~0.8 s CPU more to deploy there."""
    conn = connect("in-process")
    deployer = Account.from_key(KEYS[0])
    w3 = conn.w3
    assert w3.eth.get_balance(deployer.address) > 0  # connect() funds anvil's dev accounts in process
    data = yaml.safe_load(SAMPLE_DEVNET.read_text())
    data["products"], data["baskets"] = data["products"][:1], []
    engine = make_engine(parse_deployment(data, "sample, NDPR only"), w3, tmp_path_factory.mktemp("m"))
    engine.apply(Sender(w3, deployer), progress=False)
    return w3, engine.manifest.address("directory")


def test_chain_is_py_evm(in_process):
    w3, _ = in_process
    assert w3.eth.chain_id == 131277322940537


def test_reserve_exceeded_and_access_control_decode_in_process(in_process):
    w3, directory = in_process
    op = Stockpile.connect(w3, directory=directory, account=Account.from_key(KEYS[0]))
    with pytest.raises(errors.NoAttestation):
        op.product("NDPR").mint(op.address, 1, "no attestation yet")
    holder = op.with_account(Account.from_key(KEYS[8]))
    with pytest.raises(errors.AccessControlUnauthorizedAccount) as exc:
        holder.product("NDPR").mint(holder.address, 1, "x")
    assert exc.value.args_dict["account"] == holder.address
    assert exc.value.name == "AccessControlUnauthorizedAccount"
    with pytest.raises(errors.RedemptionBelowMinimum) as below:
        holder.product("NDPR").request_redemption(1, "too small")
    assert below.value.args_dict == {"amount": 1, "minimum": 100 * 10**18}


def test_unknown_selector_becomes_unknown_revert():
    err = errors.decode_revert("0xdeadbeef")
    assert isinstance(err, errors.UnknownRevert)
    err = errors.decode_revert("0x08c379a0" + "00" * 31 + "20" + "00" * 31 + "03" + "616263" + "00" * 29)
    assert isinstance(err, errors.RevertedWithReason) and err.args_dict == {"reason": "abc"}


def test_quorum_errors_have_one_set_of_names_in_both_contracts():
    """PriceFeed and ReserveAttestor share IQuorumSignatures: QuorumNotMet, SignersNotOrdered and
    NotSigner decode with the same argument names whichever contract reverted (issue 10)."""
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    from stockpile.contracts import load

    data = function_signature_to_4byte_selector("QuorumNotMet(uint256,uint256)") + encode(["uint256", "uint256"], [2, 3])
    for name in ("PriceFeed", "ReserveAttestor"):
        assert errors.decode_revert(data, load(name).abi).args_dict == {"signatures": 2, "needed": 3}
    assert errors.decode_revert(data).name == "QuorumNotMet"

    def error_abis(name):
        return {(e["name"], tuple(i["type"] for i in e["inputs"]), tuple(i["name"] for i in e["inputs"]))
                for e in load(name).abi if e["type"] == "error"}

    shared = {"QuorumNotMet", "NotSigner", "InvalidSignature", "DuplicateSigner", "SignersNotOrdered",
              "ConfigDigestMismatch", "SignatureExpired", "InvalidQuorum"}
    feed = {e for e in error_abis("PriceFeed") if e[0] in shared}
    attestor = {e for e in error_abis("ReserveAttestor") if e[0] in shared}
    assert feed == attestor and {e[0] for e in feed} == shared


def test_a_mined_failure_is_decoded_by_replaying_it(in_process):
    """A transaction that passes estimation but reverts when mined (here: sent with a fixed gas
    limit, skipping estimation) is replayed and raised as its custom error."""
    w3, directory = in_process
    holder = Stockpile.connect(w3, directory=directory, account=Account.from_key(KEYS[8]))
    token = holder.product("NDPR").token
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        holder._sender.transact({"to": token.address, "gas": 200_000,
                                 "data": token.encode_abi("mint", args=[holder.address, 1, b"\1" * 32])})
