"""The issuer operating through a 2-of-3 Safe, by the command line, on anvil: roles handed over to
the Safe, a mint proposed, co-signed in separate invocations and executed, refusals, and a timelocked
upgrade scheduled and executed through the Safe."""

from __future__ import annotations

import json

import pytest
import yaml
from eth_account import Account
from web3 import Web3

from safe_helpers import DEPLOYER, KEYS, OWNERS, STRANGER
from devkit.cli import run as stockpile  # in-process (devkit/cli.py)
from devkit.contracts import load
from stockpile.deploy import SAMPLE_DEVNET
from stockpile.reserve.signing import submit_attestation
from stockpile.reserve.models import Attestation
from stockpile.reserve.signing import default_deadline, sign_by_quorum
from stockpile.toolchain import Anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

ATTESTOR_KEYS = KEYS[2:5]
ALICE = Account.from_key(KEYS[5]).address
UNIT = 10**18
IMPLEMENTATION_SLOT = int.from_bytes(Web3.keccak(text="eip1967.proxy.implementation"), "big") - 1
ENV = {f"OWNER{i}_KEY": o.key.to_0x_hex() for i, o in enumerate(OWNERS)} | {
    "STRANGER_KEY": STRANGER.key.to_0x_hex(), "DEPLOYER_KEY": DEPLOYER.key.to_0x_hex()}


def run(*args, expect: int | None = 0):
    """`stockpile ARGS` in-process (devkit.cli: the same click app, exit codes and stderr as the
    installed command; the process itself is not what these tests are about)."""
    out = stockpile(*args, env=ENV)
    if expect is not None:
        assert out.returncode == expect, f"{args}: exit {out.returncode}\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr
    return out


def increase_time(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    """A chain with Safe contracts, a 2-of-3 Safe, and one product deployed with the Safe as admin,
    minter, redemption operator, compliance and timelock proposer/executor; handover begun."""
    work = tmp_path_factory.mktemp("issuer")
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        created = json.loads(run("safe", "create", "--rpc-url", node.url, "--account", "env:DEPLOYER_KEY",
                                 "--deploy-contracts", "--threshold", 2,
                                 *[x for o in OWNERS for x in ("--owner", o.address)]).stdout)
        safe = created["safe"]
        dep = yaml.safe_load(SAMPLE_DEVNET.read_text())
        dep["products"] = dep["products"][:1]
        dep["baskets"] = []  # the sample's basket SMB bundles products trimmed above
        for field in ("minters", "redemption_operators", "compliance"):
            dep["roles"][field] = [safe]
        dep["roles"]["admin"] = safe
        dep["timelock"] = {"delay": 300, "proposers": [safe], "executors": [safe]}
        file = work / "deploy.yaml"
        file.write_text(yaml.safe_dump(dep))
        manifest_dir = work / "deployments"
        common = ["--rpc-url", node.url, "--manifest-dir", manifest_dir]
        run("deploy", "apply", file, *common)
        handover = run("deploy", "handover", file, *common)
        assert "transfer begun" in handover.stdout
        manifest = json.loads((manifest_dir / "31337.json").read_text())
        yield dict(node=node, w3=w3, safe=safe, file=file, common=common, work=work, manifest=manifest,
                   multisend=created["multisend_call_only"], created=created)


def contract(issuer, key: str, artifact: str):
    return issuer["w3"].eth.contract(address=issuer["manifest"]["contracts"][key]["address"], abi=load(artifact).abi)


def rpc(issuer):
    return ["--rpc-url", issuer["node"].url]


def sign_as(issuer, file, *owners):
    for i in owners:
        out = run("safe", "sign", file, *rpc(issuer), "--account", f"env:OWNER{i}_KEY")
        assert f"as {OWNERS[i].address}" in out.stdout
    return out


def test_admin_roles_handed_to_the_safe_through_a_batched_proposal(issuer):
    w3, safe = issuer["w3"], issuer["safe"]
    token, attestor = contract(issuer, "NDPR.token", "CommodityToken"), contract(issuer, "NDPR.attestor", "ReserveAttestor")
    assert token.functions.pendingDefaultAdmin().call()[0] == safe
    too_early = run("deploy", "accept-admin", issuer["file"], *issuer["common"], "--via-safe", safe, expect=2)
    assert "nothing to accept now: waiting until" in too_early.stderr
    increase_time(w3, 61)
    proposal = issuer["work"] / "accept-admin.json"
    out = run("deploy", "accept-admin", issuer["file"], *issuer["common"], "--via-safe", safe,
              "--proposal", proposal, "--multisend", issuer["multisend"])
    batch = json.loads(proposal.read_text())
    assert {t["contractMethod"]["name"] for t in batch["transactions"]} == {"acceptDefaultAdminTransfer"}
    targets = {t["to"] for t in batch["transactions"]}
    assert {token.address, attestor.address, issuer["manifest"]["contracts"]["price-feed"]["address"]} <= targets
    assert f"{len(targets)} call(s) for Safe" in out.stdout
    assert batch["stockpile"]["safeTx"]["operation"] == 1  # delegatecall into MultiSendCallOnly
    assert token.functions.defaultAdmin().call() == DEPLOYER.address  # nothing sent yet

    assert "1 of 2 signatures" in sign_as(issuer, proposal, 0).stdout
    assert "2 of 2 signatures for Safe" in sign_as(issuer, proposal, 2).stdout
    run("safe", "execute", proposal, *rpc(issuer), "--account", "env:STRANGER_KEY")  # anyone may submit
    assert token.functions.defaultAdmin().call() == safe and attestor.functions.defaultAdmin().call() == safe
    feed = contract(issuer, "price-feed", "PriceFeed")
    assert feed.functions.defaultAdmin().call() == safe
    # price trust and governed token changes stay behind the timelock: neither the deployer nor the Safe holds them
    timelock = issuer["manifest"]["contracts"]["timelock"]["address"]
    for c, role in ((token, "GOVERNOR_ROLE"), (feed, "SIGNER_ADMIN_ROLE"), (feed, "FEED_ADMIN_ROLE")):
        rid = getattr(c.functions, role)().call()
        assert c.functions.hasRole(rid, timelock).call(), role
        assert not c.functions.hasRole(rid, DEPLOYER.address).call() and not c.functions.hasRole(rid, safe).call(), role


def test_handover_via_safe_proposes_the_same_calls_and_sends_nothing(issuer):
    """The Safe, now admin, hands over to another Safe: `deploy handover --via-safe` builds the calls
    handover would send, as one proposal, and sends nothing."""
    from stockpile.safe import SafeSingletons, create_safe, safe_info
    from stockpile.sdk.transactions import Sender

    w3, safe = issuer["w3"], issuer["safe"]
    singletons = SafeSingletons(**{k: issuer["created"][k] for k in ("singleton", "factory", "fallback_handler",
                                                                       "multisend_call_only")})
    new_safe = create_safe(Sender(w3, DEPLOYER), singletons, [o.address for o in OWNERS], 2, salt_nonce=7)
    dep = yaml.safe_load(issuer["file"].read_text())
    dep["roles"]["admin"] = new_safe
    file = issuer["work"] / "to-new-safe.yaml"
    file.write_text(yaml.safe_dump(dep))
    nonce_before, deployer_nonce = safe_info(w3, safe).nonce, w3.eth.get_transaction_count(DEPLOYER.address)
    proposal = issuer["work"] / "handover.json"
    out = run("deploy", "handover", file, *issuer["common"], "--via-safe", safe, "--proposal", proposal,
              "--multisend", issuer["multisend"])
    assert "proposed, not sent" in out.stdout
    batch = json.loads(proposal.read_text())
    token = contract(issuer, "NDPR.token", "CommodityToken")
    calls = [(t["to"], t["contractMethod"]["name"], t["contractInputsValues"]) for t in batch["transactions"]]
    assert (token.address, "beginDefaultAdminTransfer", {"newAdmin": new_safe}) in calls
    assert any(name == "grantRole" and values.get("account") == new_safe for _, name, values in calls)
    feed = issuer["manifest"]["contracts"]["price-feed"]["address"]
    assert (feed, "beginDefaultAdminTransfer", {"newAdmin": new_safe}) in calls
    # the price feed's config roles and the tokens' GOVERNOR_ROLE are the timelock's: nothing grants them to a Safe
    assert not any(to == feed and name in ("grantRole", "renounceRole") for to, name, _ in calls), calls
    governor = "0x" + bytes(token.functions.GOVERNOR_ROLE().call()).hex()
    assert not any(str(values.get("role", "")).lower() == governor for _, _, values in calls), calls
    assert batch["stockpile"]["safe"] == safe and batch["stockpile"]["nonce"] == nonce_before
    assert safe_info(w3, safe).nonce == nonce_before and w3.eth.get_transaction_count(DEPLOYER.address) == deployer_nonce
    assert token.functions.pendingDefaultAdmin().call()[0] != new_safe


def _attest(issuer, quantity: int) -> None:
    w3 = issuer["w3"]
    attestor = contract(issuer, "NDPR.attestor", "ReserveAttestor")
    att = Attestation(merkle_root=b"\x01" * 32, total_quantity=quantity, lot_count=3,
                      as_of=w3.eth.get_block("latest")["timestamp"] - 1, report_hash=b"\x02" * 32)
    digest, deadline = attestor.functions.configDigest().call(), default_deadline(att)
    sigs = sign_by_quorum([Account.from_key(k) for k in ATTESTOR_KEYS[:2]], 31337, attestor.address, att, digest, deadline)
    submit_attestation(w3, DEPLOYER, attestor, att, digest, deadline, sigs)


def test_mint_proposed_signed_by_two_owners_in_separate_steps_and_executed(issuer):
    token = contract(issuer, "NDPR.token", "CommodityToken")
    _attest(issuer, 5_000 * UNIT)
    file = issuer["work"] / "mint.json"
    mint_id = "0x" + Web3.keccak(text="deposit-2026-0001").hex().removeprefix("0x")
    out = run("safe", "propose", *rpc(issuer), "--safe", issuer["safe"], "--to", token.address,
              "--contract", "CommodityToken", "--function", "mint", "--args", ALICE, 1_000 * UNIT, mint_id,
              "--description", "deposit 2026-0001", "--out", file)
    assert f"mint(to={ALICE}, amount={1_000 * UNIT}, mintId={mint_id})" in out.stdout
    assert token.functions.balanceOf(ALICE).call() == 0

    sign_as(issuer, file, 1)
    refused = run("safe", "execute", file, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert "below threshold: 1 owner signature(s) of the 2" in refused.stderr
    assert token.functions.balanceOf(ALICE).call() == 0

    stranger = run("safe", "sign", file, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert f"{STRANGER.address} is not an owner of Safe" in stranger.stderr

    sign_as(issuer, file, 2)
    done = run("safe", "execute", file, *rpc(issuer), "--account", "env:STRANGER_KEY")
    assert "executed Safe" in done.stdout
    assert token.functions.balanceOf(ALICE).call() == 1_000 * UNIT
    assert token.functions.mintIdUsed(bytes.fromhex(mint_id[2:])).call()

    again = run("safe", "execute", file, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert "already used" in again.stderr and "executed or superseded" in again.stderr


def test_one_signature_sent_anyway_is_refused_by_the_safe(issuer):
    from stockpile.safe import Proposal, execute
    from stockpile.sdk.transactions import Sender

    token = contract(issuer, "NDPR.token", "CommodityToken")
    file = issuer["work"] / "one-signature.json"
    run("safe", "propose", *rpc(issuer), "--safe", issuer["safe"], "--to", token.address,
        "--abi-fn", "setAllowlisted(address,bool)", "--args", STRANGER.address, "true", "--out", file)
    sign_as(issuer, file, 0)
    with pytest.raises(Exception, match="GS020"):
        execute(issuer["w3"], Proposal.load(file), Sender(issuer["w3"], STRANGER), check_threshold=False)
    assert not token.functions.isAllowlisted(STRANGER.address).call()


def test_refusals_name_what_is_wrong(issuer):
    token = contract(issuer, "NDPR.token", "CommodityToken")
    file = issuer["work"] / "allow.json"
    run("safe", "propose", *rpc(issuer), "--safe", issuer["safe"], "--to", token.address,
        "--abi-fn", "setAllowlisted(address account,bool allowed)", "--args", ALICE, "true", "--out", file)
    wrong_safe = run("safe", "sign", file, *rpc(issuer), "--account", "env:OWNER0_KEY", "--safe", STRANGER.address, expect=2)
    assert f"not {STRANGER.address}" in wrong_safe.stderr
    wrong_chain = run("safe", "sign", file, *rpc(issuer), "--chain-id", 11155111, "--account", "env:OWNER0_KEY", expect=2)
    assert "chain id 11155111 was expected" in wrong_chain.stderr

    tampered = issuer["work"] / "tampered.json"
    data = json.loads(file.read_text())
    data["transactions"][0]["contractInputsValues"]["account"] = STRANGER.address
    tampered.write_text(json.dumps(data))
    bad = run("safe", "sign", tampered, *rpc(issuer), "--account", "env:OWNER0_KEY", expect=2)
    assert "tampered" in bad.stderr

    not_a_safe = run("safe", "propose", *rpc(issuer), "--safe", token.address, "--to", token.address,
                     "--abi-fn", "pause()", "--out", issuer["work"] / "x.json", expect=2)
    assert "does not answer as a Safe" in not_a_safe.stderr
    bad_arg = run("safe", "propose", *rpc(issuer), "--safe", issuer["safe"], "--to", token.address,
                  "--contract", "CommodityToken", "--function", "mint", "--args", ALICE, "ten", "0x00", "--out",
                  issuer["work"] / "y.json", expect=2)
    assert "mint.amount: uint256 needs an integer, got 'ten'" in bad_arg.stderr

    no_safe_here = run("safe", "create", *rpc(issuer), "--account", "env:DEPLOYER_KEY", "--owner", ALICE,
                       "--threshold", 1, expect=2)
    assert "no canonical Safe 1.4.1 deployment known on chain 31337: give --deploy-contracts" in no_safe_here.stderr

    # a call the Safe is not allowed to make is reported before anything is sent
    unauthorised = issuer["work"] / "unauthorised.json"
    run("safe", "propose", *rpc(issuer), "--safe", issuer["safe"], "--to", token.address,
        "--abi-fn", "pause()", "--out", unauthorised)
    sign_as(issuer, unauthorised, 0, 1)
    refused = run("safe", "execute", unauthorised, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert "AccessControlUnauthorizedAccount" in refused.stderr


def test_timelocked_upgrade_scheduled_and_executed_through_the_safe(issuer):
    from stockpile.safe import safe_info
    from devkit.devnet import deploy_token_implementation

    w3, safe = issuer["w3"], issuer["safe"]
    token, timelock = contract(issuer, "NDPR.token", "CommodityToken"), contract(issuer, "timelock", "StockpileTimelock")
    v2 = deploy_token_implementation(w3, DEPLOYER.key.to_0x_hex(), "CommodityTokenV2")
    data = token.encode_abi("upgradeToAndCall", args=[v2.address, b""])
    salt = "0x" + "5a" * 32
    zero = "0x" + "00" * 32
    op_args = [token.address, 0, data, zero, salt]
    nonce = safe_info(w3, safe).nonce

    schedule = issuer["work"] / "schedule.json"
    run("safe", "propose", *rpc(issuer), "--safe", safe, "--to", timelock.address, "--contract", "StockpileTimelock",
        "--function", "schedule", "--args", *op_args, 300, "--out", schedule)
    # the execute proposal is prepared (and signed) ahead, for the next nonce
    execute_file = issuer["work"] / "execute.json"
    run("safe", "propose", *rpc(issuer), "--safe", safe, "--to", timelock.address, "--contract", "StockpileTimelock",
        "--function", "execute", "--args", *op_args, "--nonce", nonce + 1, "--out", execute_file)
    sign_as(issuer, execute_file, 0, 2)
    early = run("safe", "execute", execute_file, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert f"execute the proposals for nonces {nonce}..{nonce}" in early.stderr

    sign_as(issuer, schedule, 1, 2)
    run("safe", "execute", schedule, *rpc(issuer), "--account", "env:STRANGER_KEY")
    op = timelock.functions.hashOperation(token.address, 0, bytes.fromhex(data[2:]), bytes(32), bytes.fromhex("5a" * 32)).call()
    assert timelock.functions.isOperationPending(op).call() and not timelock.functions.isOperationReady(op).call()

    before_delay = run("safe", "execute", execute_file, *rpc(issuer), "--account", "env:STRANGER_KEY", expect=2)
    assert "TimelockUnexpectedOperationState" in before_delay.stderr  # the Safe's call is simulated first
    increase_time(w3, 301)
    run("safe", "execute", execute_file, *rpc(issuer), "--account", "env:STRANGER_KEY")
    assert timelock.functions.isOperationDone(op).call()
    impl = Web3.to_checksum_address(bytes(w3.eth.get_storage_at(token.address, IMPLEMENTATION_SLOT))[-20:])
    assert impl == v2.address
    assert w3.eth.contract(address=token.address, abi=load("CommodityTokenV2").abi).functions.version().call() == 2
