"""`stockpile token ...` and `stockpile deploy accept-admin` on anvil, against the sample deployment:
each command succeeds for the role holder and is refused (one line, exit 2) for an account without
the role. Amounts are product units in and out, never base units."""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account

from devkit.cli import run

DEPLOYER, ADMIN, HOLDER, FRIEND = 0, 1, 8, 9  # the sample file: #0 deploys and holds every operator role
ATTESTORS = (2, 3, 4)


@pytest.fixture(scope="module")
def ops(chain):
    """The NDPR reserve attested (1,000 kg) so that mints have room; an SDK client as the deployer."""
    from stockpile.sdk import Stockpile

    sp = Stockpile.connect(chain.w3, manifest=chain.manifest, account=Account.from_key(chain.keys[DEPLOYER]))
    now = chain.w3.eth.get_block("latest")["timestamp"]
    sp.product("NDPR").attest_root("0x" + "11" * 32, 1000 * 10**18, 1, now - 1, "cli token test",
                                   [Account.from_key(chain.keys[i]) for i in ATTESTORS])
    return sp


def addr(chain, i: int) -> str:
    return Account.from_key(chain.keys[i]).address


def token(chain, *args, who: int = DEPLOYER):
    env = {"OPERATOR_KEY": chain.keys[who], "STOCKPILE_RPC_URL": chain.url, "STOCKPILE_MANIFEST": str(chain.manifest),
           "STOCKPILE_ACCOUNT": "env:OPERATOR_KEY", "STOCKPILE_DIRECTORY": None}
    r = run("token", *args, env=env)
    assert "Traceback" not in r.stdout + r.stderr
    return r


def refused(r, name: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert name in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_mint_in_product_units_and_refused_for_a_non_minter(chain, ops):
    ndpr = ops.product("NDPR")
    r = token(chain, "mint", "NDPR", addr(chain, HOLDER), "12.5", "--mint-id", "WR-0001")
    assert r.returncode == 0, r.stderr
    assert f"minted 12.5 NDPR to {addr(chain, HOLDER)}" in r.stdout and "supply 12.5 NDPR" in r.stdout
    assert ndpr.balance(addr(chain, HOLDER)).amount == Decimal("12.5")
    refused(token(chain, "mint", "NDPR", addr(chain, HOLDER), "1", "--mint-id", "WR-0002", who=HOLDER),
            "AccessControlUnauthorizedAccount")
    refused(token(chain, "mint", "NDPR", addr(chain, HOLDER), "1", "--mint-id", "WR-0001"), "MintIdUsed")
    refused(token(chain, "mint", "NDPR", addr(chain, HOLDER), "5000", "--mint-id", "WR-0003"), "Reserve")
    refused(token(chain, "mint", "NDPR", addr(chain, HOLDER), "0.0000000000000000001", "--mint-id", "WR-4"),
            "decimal places")
    refused(token(chain, "mint", "NDPR", addr(chain, HOLDER), "0", "--mint-id", "WR-5"), "positive")
    assert ndpr.total_supply() == 125 * 10**17


def test_transfer_and_a_transfer_beyond_the_balance(chain, ops):
    token(chain, "mint", "NDPR", addr(chain, HOLDER), "300", "--mint-id", "WR-T")
    before = ops.product("NDPR").balance(addr(chain, FRIEND)).amount
    r = token(chain, "transfer", "NDPR", addr(chain, FRIEND), "2.5", who=HOLDER)
    assert r.returncode == 0, r.stderr
    assert "transferred 2.5 NDPR" in r.stdout
    assert ops.product("NDPR").balance(addr(chain, FRIEND)).amount == before + Decimal("2.5")
    refused(token(chain, "transfer", "NDPR", addr(chain, HOLDER), "1000000", who=FRIEND), "ERC20InsufficientBalance")


def test_redemption_accept_complete_reject_and_refusals(chain, ops):
    token(chain, "mint", "NDPR", addr(chain, HOLDER), "400", "--mint-id", "WR-R")
    r = token(chain, "redeem", "NDPR", "100", "--delivery", "DO-1001", who=HOLDER)
    assert r.returncode == 0, r.stderr
    first = int(r.stdout.split()[1].rstrip(":"))
    assert f"redemption {first}: 100 NDPR pending" in r.stdout
    refused(token(chain, "redeem", "NDPR", "1", "--delivery", "DO-small", who=HOLDER), "Below")  # min_redemption 100
    refused(token(chain, "accept", "NDPR", first, who=HOLDER), "AccessControlUnauthorizedAccount")
    r = token(chain, "accept", "NDPR", first)
    assert r.returncode == 0 and "accepted (now processing)" in r.stdout, r.stderr
    refused(token(chain, "complete", "NDPR", first, who=HOLDER), "AccessControlUnauthorizedAccount")
    r = token(chain, "complete", "NDPR", first)
    assert r.returncode == 0 and "100 NDPR completed" in r.stdout, r.stderr
    assert ops.product("NDPR").redemption(first).status == "completed"

    second = int(token(chain, "redeem", "NDPR", "150", "--delivery", "DO-1002", who=HOLDER).stdout.split()[1].rstrip(":"))
    refused(token(chain, "reject", "NDPR", second, "--reason", "no", who=HOLDER), "AccessControlUnauthorizedAccount")
    held = ops.product("NDPR").balance(addr(chain, HOLDER)).amount
    r = token(chain, "reject", "NDPR", second, "--reason", "wrong warehouse")
    assert r.returncode == 0 and "150 NDPR rejected" in r.stdout, r.stderr
    assert ops.product("NDPR").balance(addr(chain, HOLDER)).amount == held + 150
    refused(token(chain, "accept", "NDPR", 999), "no redemption request 999")


@pytest.mark.parametrize("on,off,reads", [("pause", "unpause", "paused"),
                                         ("pause-minting", "unpause-minting", "minting_paused")])
def test_pause_and_unpause(chain, ops, on, off, reads):
    ndpr = ops.product("NDPR")
    refused(token(chain, on, "NDPR", who=HOLDER), "AccessControlUnauthorizedAccount")
    r = token(chain, on, "NDPR")
    assert r.returncode == 0 and f"{reads} = True" in r.stdout, r.stderr
    assert getattr(ndpr, reads)() is True
    refused(token(chain, off, "NDPR", who=HOLDER), "AccessControlUnauthorizedAccount")
    r = token(chain, off, "NDPR")  # the deployer is still the admin (no handover yet)
    assert r.returncode == 0 and f"{reads} = False" in r.stdout, r.stderr
    assert getattr(ndpr, reads)() is False


def test_freeze_unfreeze_and_allowlist(chain, ops):
    ndpr = ops.product("NDPR")
    token(chain, "mint", "NDPR", addr(chain, FRIEND), "20", "--mint-id", "WR-F")
    refused(token(chain, "freeze", "NDPR", addr(chain, FRIEND), who=HOLDER), "AccessControlUnauthorizedAccount")
    assert token(chain, "freeze", "NDPR", addr(chain, FRIEND)).returncode == 0
    refused(token(chain, "transfer", "NDPR", addr(chain, HOLDER), "1", who=FRIEND), "refused by the contract: ERC7943CannotSend")
    assert token(chain, "unfreeze", "NDPR", addr(chain, FRIEND)).returncode == 0
    r = token(chain, "freeze", "NDPR", addr(chain, FRIEND), "--amount", "15")
    assert r.returncode == 0 and "15 NDPR frozen" in r.stdout, r.stderr
    assert ndpr.balance(addr(chain, FRIEND)).frozen_units == 15 * 10**18
    refused(token(chain, "unfreeze", "NDPR", addr(chain, FRIEND), who=HOLDER), "AccessControlUnauthorizedAccount")
    assert token(chain, "unfreeze", "NDPR", addr(chain, FRIEND)).returncode == 0
    assert ndpr.balance(addr(chain, FRIEND)).frozen_units == 0
    assert token(chain, "transfer", "NDPR", addr(chain, HOLDER), "1", who=FRIEND).returncode == 0

    li = ops.product("LI2CO3")
    refused(token(chain, "allowlist", "LI2CO3", addr(chain, FRIEND), who=HOLDER), "AccessControlUnauthorizedAccount")
    r = token(chain, "allowlist", "LI2CO3", addr(chain, FRIEND))
    assert r.returncode == 0 and "added to the allowlist" in r.stdout, r.stderr
    assert li.token.functions.isAllowlisted(addr(chain, FRIEND)).call() is True
    assert token(chain, "allowlist", "LI2CO3", addr(chain, FRIEND), "--remove").returncode == 0
    assert li.token.functions.isAllowlisted(addr(chain, FRIEND)).call() is False


def test_info_and_balance_in_product_units(chain, ops):
    ndpr = ops.product("NDPR")
    r = token(chain, "info", "NDPR", "--json")
    assert r.returncode == 0, r.stderr
    import json

    info = json.loads(r.stdout)
    assert Decimal(info["supply"]) == ndpr.amount(ndpr.total_supply())
    assert Decimal(info["attested_reserve"]) == Decimal(1000)
    assert "000000000000000000" not in r.stdout  # never base units
    r = token(chain, "balance", "NDPR", addr(chain, HOLDER))
    assert r.returncode == 0 and f"{ndpr.balance(addr(chain, HOLDER)).amount.normalize():f} NDPR" in r.stdout


def test_accept_admin_after_the_handover_delay(chain, ops, tmp_path):
    """handover begins the two-step transfer to the file's admin; accept-admin is refused for another account
    and before the delay, then moves DEFAULT_ADMIN_ROLE; the old admin can no longer unpause."""
    def deploy(*args, who: int):
        env = {"K": chain.keys[who], "STOCKPILE_RPC_URL": None, "STOCKPILE_ACCOUNT": None}
        r = run("deploy", *args, "--rpc-url", chain.url, "--manifest-dir", chain.manifest_dir, "--account", "env:K",
                env=env)
        assert "Traceback" not in r.stdout + r.stderr
        return r

    r = deploy("handover", chain.deployment, who=DEPLOYER)
    assert r.returncode == 0 and "accept after" in r.stdout, r.stderr
    refused(deploy("accept-admin", chain.deployment, who=DEPLOYER), "is not the admin")
    refused(deploy("accept-admin", chain.deployment, who=ADMIN), "nothing to accept now: waiting until")
    chain.w3.provider.make_request("evm_increaseTime", [61])
    chain.w3.provider.make_request("evm_mine", [])
    r = deploy("accept-admin", chain.deployment, who=ADMIN)
    assert r.returncode == 0 and "ready" in r.stdout, r.stderr
    ndpr = ops.product("NDPR")
    assert ndpr.token.functions.defaultAdmin().call() == addr(chain, ADMIN)
    assert token(chain, "pause", "NDPR").returncode == 0  # the guardian still pauses
    refused(token(chain, "unpause", "NDPR"), "AccessControlUnauthorizedAccount")  # ... but no longer unpauses
    assert token(chain, "unpause", "NDPR", who=ADMIN).returncode == 0
