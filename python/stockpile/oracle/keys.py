"""Loading oracle keys: an encrypted keystore file (passphrase from an env var) or an env var.

Keys are never logged or printed; errors name the file or variable only."""

from __future__ import annotations


from eth_account.signers.local import LocalAccount

from stockpile.oracle.config import KeyConfig
from stockpile.sdk.accounts import AccountError, load


KeyError_ = AccountError  # the SDK's: one account loader, one error


def load_account(cfg: KeyConfig) -> LocalAccount:
    """The account of a feeder config key entry (``stockpile.sdk.accounts.load``; no prompt: a
    daemon has no terminal)."""
    return load(key_env=cfg.key_env, keystore=cfg.keystore, passphrase_env=cfg.passphrase_env)

