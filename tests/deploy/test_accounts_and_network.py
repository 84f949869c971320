"""Keystore accounts and network checks (mainnet refusal, chain id)."""

from __future__ import annotations

import pytest
from eth_account import Account

from stockpile.deploy.network import NetworkError, connect, redact_url
from stockpile.sdk.accounts import AccountError, from_env, from_keystore, from_mnemonic, write_keystore
from stockpile.toolchain import Anvil

MNEMONIC = "test test test test test test test test test test test junk"


def test_keystore_round_trip(tmp_path, monkeypatch):
    acct = Account.create()
    path = write_keystore(acct, tmp_path / "k.json", "correct horse", kdf="pbkdf2", iterations=2)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert acct.key.hex() not in path.read_text()
    assert from_keystore(path, password="correct horse").address == acct.address
    monkeypatch.setenv("KS_PASS", "correct horse")
    assert from_env(f"keystore:{path}:KS_PASS").address == acct.address
    with pytest.raises(AccountError, match="wrong passphrase"):
        from_keystore(path, password="nope")
    monkeypatch.delenv("KS_PASS")
    with pytest.raises(AccountError, match="KS_PASS is not set"):
        from_env(f"keystore:{path}:KS_PASS")


def test_mnemonic_and_env_key(monkeypatch):
    first = from_mnemonic(MNEMONIC, 0)
    assert first.address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    monkeypatch.setenv("DEPLOYER_KEY", first.key.hex())
    assert from_env("env:DEPLOYER_KEY").address == first.address
    monkeypatch.setenv("M", MNEMONIC)
    assert from_env("mnemonic-env:M:1").address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_bad_key_error_does_not_echo_the_secret(monkeypatch):
    monkeypatch.setenv("BAD", "0xdeadbeefsecret")
    with pytest.raises(AccountError) as exc:
        from_env("env:BAD")
    assert "deadbeef" not in str(exc.value)
    with pytest.raises(AccountError, match="unknown account spec"):
        from_env("0xabc")


def test_rpc_url_is_redacted():
    assert redact_url("https://sepolia.infura.io/v3/SECRETKEY") == "https://sepolia.infura.io/..."
    assert redact_url("http://127.0.0.1:8545") == "http://127.0.0.1:8545"


@pytest.mark.anvil
def test_mainnet_chain_id_is_refused_unless_allowed():
    with Anvil(chain_id=1) as node:
        with pytest.raises(NetworkError, match="chain id 1 is Ethereum mainnet: refusing without --allow-mainnet"):
            connect(node.url)
        with connect(node.url, allow_mainnet=True) as conn:
            assert conn.chain_id == 1


@pytest.mark.anvil
def test_chain_id_is_checked_against_the_url(anvil):
    with pytest.raises(NetworkError, match="answers chain id 31337, but chain id 11155111 was expected"):
        connect(anvil.url, expected_chain_id=11155111)
    assert connect(anvil.url, expected_chain_id=31337).chain_id == 31337


def test_unreachable_and_unknown_networks():
    with pytest.raises(NetworkError, match="cannot reach"):
        connect("http://127.0.0.1:1", timeout=2)
    with pytest.raises(NetworkError, match="unknown network"):
        connect("sepolia")


def test_one_loader_for_every_account_source(tmp_path, monkeypatch):
    """``accounts.load`` serves the feeder's key config, the CLIs' options and the spec strings."""
    from stockpile.oracle.config import KeyConfig
    from stockpile.oracle.keys import load_account
    from stockpile.sdk.accounts import dev_account, load

    acct = Account.create()
    monkeypatch.setenv("K", acct.key.hex())
    assert load(key_env="K").address == load_account(KeyConfig(key_env="K")).address == acct.address
    path = write_keystore(acct, tmp_path / "k.json", "pw", kdf="pbkdf2", iterations=2)
    monkeypatch.setenv("PW", "pw")
    assert load(keystore=path, passphrase_env="PW").address == acct.address
    assert load_account(KeyConfig(keystore=path, passphrase_env="PW")).address == acct.address
    assert from_env("dev:1").address == dev_account(1).address == from_mnemonic(MNEMONIC, 1).address
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(AccountError, match="cannot read keystore"):
        load(keystore=tmp_path / "broken.json", passphrase_env="PW")
    with pytest.raises(AccountError, match="no account given"):
        load()
    with pytest.raises(AccountError, match="whole number"):
        from_env("dev:x")


@pytest.mark.anvil
def test_sdk_connect_checks_the_chain_id():
    from stockpile.sdk.rpc import RpcError, connect as rpc_connect

    with Anvil() as node:
        w3 = rpc_connect(node.url, chain_id=31337)
        assert w3.eth.chain_id == 31337
        assert w3.provider.exception_retry_configuration.retries > 0  # the retrying provider
        with pytest.raises(RpcError, match="chain id 31337, not the expected 1"):
            rpc_connect(node.url, chain_id=1)
    with pytest.raises(RpcError, match="not an http"):
        rpc_connect("ftp://example.org/SECRET")
