"""Loading oracle keys: an encrypted keystore file (passphrase from an env var) or an env var.

Keys are never logged or printed; errors name the file or variable only."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr

from stockpile.oracle.config import KeyConfig
from stockpile.sdk.accounts import AccountError, load


KeyError_ = AccountError  # the SDK's: one account loader, one error


def load_account(cfg: KeyConfig) -> LocalAccount:
    """The account of a feeder config key entry (``stockpile.sdk.accounts.load``; no prompt: a
    daemon has no terminal)."""
    return load(key_env=cfg.key_env, keystore=cfg.keystore, passphrase_env=cfg.passphrase_env)


def write_keystore(private_key: str, path, passphrase: str) -> None:
    """Encrypt a key into a keystore file (for set-up and tests)."""
    from pathlib import Path

    Path(path).write_text(json.dumps(Account.encrypt(HexStr(private_key), passphrase, kdf="scrypt", iterations=2**10)))
