"""Loading oracle keys: an encrypted keystore file (passphrase from an env var) or an env var.

Keys are never logged or printed; errors name the file or variable only."""

from __future__ import annotations

import json
import os

from eth_account import Account
from eth_account.signers.local import LocalAccount

from stockpile.oracle.config import KeyConfig


class KeyError_(Exception):
    pass


def load_account(cfg: KeyConfig) -> LocalAccount:
    if cfg.key_env:
        raw = os.environ.get(cfg.key_env)
        if not raw:
            raise KeyError_(f"environment variable {cfg.key_env} is not set")
        try:
            return Account.from_key(raw.strip())
        except Exception:
            raise KeyError_(f"environment variable {cfg.key_env} does not hold a valid private key") from None
    assert cfg.keystore is not None and cfg.passphrase_env
    passphrase = os.environ.get(cfg.passphrase_env)
    if passphrase is None:
        raise KeyError_(f"environment variable {cfg.passphrase_env} (passphrase of {cfg.keystore}) is not set")
    try:
        data = json.loads(cfg.keystore.read_text())
    except (OSError, ValueError) as exc:
        raise KeyError_(f"cannot read keystore {cfg.keystore}: {type(exc).__name__}") from None
    try:
        return Account.from_key(Account.decrypt(data, passphrase))
    except ValueError:
        raise KeyError_(f"wrong passphrase for keystore {cfg.keystore}") from None
