"""The SafeTx struct, hash and signatures against the Safe 1.4.1 contract itself; proposal files."""

from __future__ import annotations

import copy

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractLogicError

from safe_helpers import DEPLOYER, OWNERS, STRANGER
from stockpile.safe import (BelowThreshold, Call, CallError, NotAnOwner, Proposal, ProposalFileError, SafeError,
                            SafeTx, builder_checksum, call_from_args, execute, new_proposal, parse_signature,
                            safe_contract, safe_info, sign)
from stockpile.sdk.transactions import Sender

pytestmark = pytest.mark.anvil

addresses = st.binary(min_size=20, max_size=20).map(lambda b: Web3.to_checksum_address("0x" + b.hex()))
uint = st.integers(min_value=0, max_value=2**256 - 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(to=addresses, value=uint, data=st.binary(max_size=300), operation=st.sampled_from([0, 1]), gas=st.tuples(uint, uint, uint),
       gas_token=addresses, refund=addresses, nonce=uint)
def test_safe_tx_hash_is_the_contracts_getTransactionHash(chain, to, value, data, operation, gas, gas_token, refund, nonce):
    tx = SafeTx(chain.safe, chain.w3.eth.chain_id, to, value, data, operation, nonce, *gas, gas_token, refund)
    onchain = safe_contract(chain.w3, chain.safe).functions.getTransactionHash(
        to, value, data, operation, *gas, gas_token, refund, nonce).call()
    assert tx.hash == bytes(onchain)


def test_hash_binds_chain_and_safe(chain):
    base = SafeTx(chain.safe, 31337, STRANGER.address, 1, b"", 0, 0)
    assert SafeTx(chain.safe, 11155111, STRANGER.address, 1, b"", 0, 0).hash != base.hash
    assert SafeTx(STRANGER.address, 31337, STRANGER.address, 1, b"", 0, 0).hash != base.hash
    assert SafeTx(chain.safe, 31337, STRANGER.address, 1, b"", 0, 1).hash != base.hash


def test_owner_signatures_pass_the_safes_check_only_in_owner_order_and_up_to_threshold(chain):
    safe = safe_contract(chain.w3, chain.safe)
    tx = SafeTx(chain.safe, 31337, STRANGER.address, 0, b"\x01", 0, 0)
    by_owner = sorted(OWNERS[:2], key=lambda a: int(a.address, 16))
    sigs = [tx.sign(a) for a in by_owner]
    assert [tx.recover(s) for s in sigs] == [a.address for a in by_owner]
    safe.functions.checkSignatures(tx.hash, b"", b"".join(sigs)).call()  # does not revert
    with pytest.raises(Exception, match="GS026"):
        safe.functions.checkSignatures(tx.hash, b"", b"".join(reversed(sigs))).call()
    with pytest.raises(Exception, match="GS020"):
        safe.functions.checkSignatures(tx.hash, b"", sigs[0]).call()
    with pytest.raises(Exception, match="GS026"):  # a stranger's signature
        safe.functions.checkSignatures(tx.hash, b"", b"".join(sorted([sigs[0], tx.sign(STRANGER)]))).call()


def test_builder_checksum_matches_the_transaction_builders_own_test_vector():
    # safe-react-apps apps/tx-builder/src/lib/checksum.test.js: addChecksum of this file gives 0x4ecbfd36...
    a = "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6"
    batch = {"version": "1.0", "chainId": "4", "createdAt": 1646321521061,
             "meta": {"name": "test batch file", "txBuilderVersion": "1.4.0", "checksum": "",
                      "createdFromSafeAddress": "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa", "createdFromOwnerAddress": a},
             "transactions": [
                 {"to": a, "value": "0", "contractInputsValues": {"paramAddress": a},
                  "contractMethod": {"inputs": [{"internalType": "address", "name": "paramAddress", "type": "address"}],
                                     "name": "testAddress", "payable": False}},
                 {"to": a, "value": "0", "contractInputsValues": {"paramAddress": "", "paramBool": "false"},
                  "contractMethod": {"inputs": [{"internalType": "bool", "name": "paramBool", "type": "bool"}],
                                     "name": "testBool", "payable": False}},
                 {"to": a, "value": "2000000000000000000",
                  "data": "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6"}]}
    assert builder_checksum(batch, keep_checksum_field=True) == "0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c"
    reordered = dict(reversed(list(batch.items())))
    assert builder_checksum(reordered, keep_checksum_field=True) == builder_checksum(batch, keep_checksum_field=True)
    swapped = copy.deepcopy(batch)
    swapped["transactions"].reverse()
    assert builder_checksum(swapped) != builder_checksum(batch)


MINT = "mint(address to,uint256 amount,bytes32 mintId)"


def _proposal(safe: str = "0x" + "ab" * 20, chain_id: int = 31337, nonce: int = 4) -> Proposal:
    call = call_from_args(STRANGER.address, parse_signature(MINT), [DEPLOYER.address, "1000", "0x" + "11" * 32])
    return Proposal(Web3.to_checksum_address(safe), chain_id, nonce, [call], description="mint 1000")


def test_proposal_file_is_a_transaction_builder_batch_and_round_trips(tmp_path):
    prop = _proposal()
    prop.add_signature(OWNERS[1])
    prop.add_signature(OWNERS[0])
    data = prop.to_json()
    assert data["version"] == "1.0" and data["chainId"] == "31337" and isinstance(data["createdAt"], int)
    assert data["meta"]["createdFromSafeAddress"] == prop.safe and data["meta"]["checksum"] == builder_checksum(data)
    (tx,) = data["transactions"]
    assert tx["data"] is None and tx["contractMethod"]["name"] == "mint"
    assert tx["contractInputsValues"] == {"to": DEPLOYER.address, "amount": "1000", "mintId": "0x" + "11" * 32}
    assert data["stockpile"]["safeTxHash"] == prop.safe_tx_hash
    assert [s["signer"] for s in data["stockpile"]["signatures"]] == sorted((o.address for o in OWNERS[:2]), key=lambda a: int(a, 16))
    loaded = Proposal.load(prop.save(tmp_path / "p.json"))
    assert loaded.safe_tx == prop.safe_tx and loaded.signers() == prop.signers()
    assert loaded.calls[0].data == bytes.fromhex(Web3().eth.contract(abi=[parse_signature(MINT)]).encode_abi(
        "mint", args=[DEPLOYER.address, 1000, b"\x11" * 32])[2:])


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["transactions"][0]["contractInputsValues"].update(amount="1000000"), "checksum"),
    (lambda d: d.update(chainId="1"), "checksum"),
    (lambda d: d["stockpile"].update(nonce=5), "checksum"),
])
def test_tampered_file_is_refused(tmp_path, edit, message):
    data = _proposal().to_json()
    edit(data)
    with pytest.raises(ProposalFileError, match=f"tampered: .*{message}"):
        Proposal.from_json(data)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["transactions"][0]["contractInputsValues"].update(amount="1000000"), "do not make the recorded SafeTx"),
    (lambda d: d["stockpile"].update(nonce=5), "do not make the recorded SafeTx"),
    (lambda d: d.update(chainId="1"), "chainId 1 differs"),
    (lambda d: d["stockpile"]["signatures"][0].update(signer=STRANGER.address), "is not .*'s over safeTxHash"),
])
def test_attack_edited_proposal_with_a_recomputed_checksum_is_refused(edit, message):
    prop = _proposal()
    prop.add_signature(OWNERS[0])
    data = prop.to_json()
    edit(data)
    data["meta"]["checksum"] = builder_checksum(data)  # whoever edited it also fixed the checksum
    with pytest.raises(ProposalFileError, match=f"tampered: .*{message}"):
        Proposal.from_json(data)


def test_python_values_are_written_as_the_transaction_builder_writes_them():
    from hexbytes import HexBytes

    fn = {"name": "f", "type": "function", "inputs": [
        {"name": "role", "type": "bytes32"}, {"name": "on", "type": "bool"}, {"name": "ids", "type": "uint256[]"},
        {"name": "who", "type": "address"}]}
    call = call_from_args(STRANGER.address, fn, [HexBytes(b"\x07" * 32), True, [1, 2], DEPLOYER.address.lower()])
    assert call.values == {"role": "0x" + "07" * 32, "on": "true", "ids": '["1","2"]', "who": DEPLOYER.address}
    assert Call.from_builder(call.to_builder()).data == call.data


def test_bad_call_values_name_the_argument():
    fn = parse_signature(MINT)
    with pytest.raises(CallError, match="mint.amount: uint256 needs an integer, got '1.5'"):
        call_from_args(STRANGER.address, fn, [DEPLOYER.address, "1.5", "0x" + "11" * 32])
    with pytest.raises(CallError, match="mint.mintId: bytes32 needs 32 bytes, got 2"):
        call_from_args(STRANGER.address, fn, [DEPLOYER.address, "1", "0x1111"])
    with pytest.raises(CallError, match="takes 3 argument"):
        call_from_args(STRANGER.address, fn, [DEPLOYER.address])
    with pytest.raises(CallError, match="not a function signature"):
        parse_signature("mint address")


def _fund(chain, amount=10**18):
    chain.sender.transact({"to": chain.safe, "value": amount})


def test_two_of_three_execute_and_one_signature_is_refused_by_the_safe(chain):
    w3 = chain.w3
    _fund(chain)
    before = w3.eth.get_balance(STRANGER.address)
    prop = new_proposal(w3, chain.safe, [Call(STRANGER.address, 12345)])
    sign(w3, prop, OWNERS[2])
    executor = Sender(w3, Account.from_key(DEPLOYER.key))
    with pytest.raises(BelowThreshold, match="1 owner signature.*of the 2"):
        execute(w3, prop, executor)
    with pytest.raises(SafeError, match="the Safe refused the transaction: GS020"):
        execute(w3, prop, executor, check_threshold=False)  # sent anyway: the Safe itself refuses
    assert safe_info(w3, chain.safe).nonce == prop.nonce
    with pytest.raises(NotAnOwner):
        sign(w3, prop, STRANGER)
    sign(w3, prop, OWNERS[0])
    receipt = execute(w3, prop, executor)
    assert receipt["status"] == 1
    assert w3.eth.get_balance(STRANGER.address) == before + 12345
    with pytest.raises(ProposalFileError, match="already used .*executed or superseded"):
        execute(w3, prop, executor)


def test_batch_through_multisend_call_only(chain):
    w3 = chain.w3
    _fund(chain)
    safe = safe_contract(w3, chain.safe)
    calls = [Call(STRANGER.address, 7), call_from_args(chain.safe, next(
        e for e in safe.abi if e.get("name") == "changeThreshold"), ["3"]), call_from_args(chain.safe, next(
            e for e in safe.abi if e.get("name") == "changeThreshold"), ["2"])]
    prop = new_proposal(w3, chain.safe, calls, multisend=chain.singletons.multisend_call_only)
    assert prop.safe_tx.operation == 1 and prop.safe_tx.to == chain.singletons.multisend_call_only
    for owner in OWNERS[:2]:
        sign(w3, prop, owner)
    before = w3.eth.get_balance(STRANGER.address)
    execute(w3, prop, chain.sender)
    assert w3.eth.get_balance(STRANGER.address) == before + 7 and safe_info(w3, chain.safe).threshold == 2


def test_proposal_for_another_chain_safe_or_a_future_nonce(chain):
    w3 = chain.w3
    current = safe_info(w3, chain.safe).nonce
    other_chain = Proposal(chain.safe, 11155111, current, [Call(STRANGER.address, 1)])
    with pytest.raises(ProposalFileError, match="for chain id 11155111, but the node answers chain id 31337"):
        sign(w3, other_chain, OWNERS[0])
    prop = new_proposal(w3, chain.safe, [Call(STRANGER.address, 1)])
    with pytest.raises(ProposalFileError, match=f"for Safe {chain.safe}, not {STRANGER.address}"):
        sign(w3, prop, OWNERS[0], expected_safe=STRANGER.address)
    ahead = new_proposal(w3, chain.safe, [Call(STRANGER.address, 1)], nonce=current + 1)
    for owner in OWNERS[:2]:
        sign(w3, ahead, owner)  # signing ahead is fine
    with pytest.raises(ProposalFileError, match=f"at nonce {current}: execute the proposals for nonces {current}..{current}"):
        execute(w3, ahead, chain.sender)
    with pytest.raises(SafeError, match="Safe address: not an address: '0x1234'"):
        safe_info(w3, "0x1234")
    not_a_safe = Proposal(STRANGER.address, 31337, 0, [Call(STRANGER.address, 1)])
    with pytest.raises(SafeError, match="no contract at"):
        sign(w3, not_a_safe, OWNERS[0])


def test_attack_a_strangers_signature_added_to_the_file_does_not_count(chain):
    """A non-owner signs the SafeTx itself and writes the signature into the file (checksum fixed):
    the file loads (the signature is genuine) but execution refuses it, and so would the Safe."""
    w3 = chain.w3
    _fund(chain)
    prop = new_proposal(w3, chain.safe, [Call(STRANGER.address, 99)])
    sign(w3, prop, OWNERS[0])
    prop.add_signature(STRANGER)  # bypasses sign()'s owner check, as a hand-edited file would
    data = prop.to_json()
    data["meta"]["checksum"] = builder_checksum(data)
    forged = Proposal.from_json(data)
    assert STRANGER.address in forged.signers()
    with pytest.raises(NotAnOwner, match=f"{STRANGER.address} is not an owner"):
        execute(w3, forged, chain.sender)
    with pytest.raises(ContractLogicError, match="GS026"):
        safe_contract(w3, chain.safe).functions.checkSignatures(prop.safe_tx.hash, b"", forged.packed_signatures()).call()
    assert safe_info(w3, chain.safe).nonce == prop.nonce
