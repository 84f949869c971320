"""Accounts for signing: from a private key, a mnemonic or an encrypted keystore file.

The one account loader of the package: ``load`` (a private-key variable or a keystore),
``from_env`` (the same as a one-string spec, plus the development mnemonic) and ``dev_account``
(local chains). Keys never come from the command line: a private key or passphrase is read from
an environment variable (or a prompt), and is never printed or logged.
"""

from __future__ import annotations

import getpass
import json
import os
from pathlib import Path
from typing import Literal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from stockpile.errors import StockpileError

from stockpile.core.eth import DEV_MNEMONIC

Account.enable_unaudited_hdwallet_features()




class AccountError(StockpileError, ValueError):
    pass


def from_private_key(key: str) -> LocalAccount:
    try:
        account: LocalAccount = Account.from_key(key)
        return account
    except Exception as exc:  # never echo the key itself
        raise AccountError(f"invalid private key ({type(exc).__name__})") from None


def from_mnemonic(mnemonic: str, index: int = 0, passphrase: str = "") -> LocalAccount:
    try:
        account: LocalAccount = Account.from_mnemonic(mnemonic, passphrase=passphrase, account_path=f"m/44'/60'/0'/0/{index}")
        return account
    except Exception as exc:
        raise AccountError(f"invalid mnemonic ({type(exc).__name__})") from None


def from_keystore(path: str | Path, password: str | None = None, password_env: str | None = None,
                  prompt: bool = False) -> LocalAccount:
    """Decrypt an encrypted JSON keystore (web3 secret storage v3).

    The passphrase comes from ``password``, or the environment variable ``password_env``, or an
    interactive prompt when ``prompt`` is true."""
    path = Path(path)
    if not path.exists():
        raise AccountError(f"keystore not found: {path}")
    if password is None and password_env:
        password = os.environ.get(password_env)
        if password is None and not prompt:
            raise AccountError(f"keystore passphrase variable {password_env} is not set")
    if password is None:
        if not prompt:
            raise AccountError(f"no passphrase given for keystore {path}")
        password = getpass.getpass(f"passphrase for {path.name}: ")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise AccountError(f"cannot read keystore {path}: {type(exc).__name__}") from None
    try:
        key = Account.decrypt(data, password)
    except ValueError:
        raise AccountError(f"wrong passphrase for keystore {path}") from None
    account: LocalAccount = Account.from_key(key)
    return account


def write_keystore(account: LocalAccount, path: str | Path, password: str, kdf: Literal["pbkdf2", "scrypt"] = "scrypt",
                   iterations: int | None = None) -> Path:
    """Encrypt ``account`` into a keystore file (mode 0600)."""
    path = Path(path)
    data = Account.encrypt(account.key, password, kdf=kdf, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def dev_account(index: int = 0) -> LocalAccount:
    """Account ``index`` of the development mnemonic (anvil's funded accounts)."""
    return from_mnemonic(DEV_MNEMONIC, index)


def load(key_env: str | None = None, keystore: str | Path | None = None, passphrase_env: str | None = None,
         prompt: bool = False) -> LocalAccount:
    """The account from a private key in environment variable ``key_env``, or from the keystore
    file ``keystore`` (passphrase from ``passphrase_env``, or a prompt when ``prompt``)."""
    if key_env:
        value = os.environ.get(key_env)
        if not value:
            raise AccountError(f"environment variable {key_env} is not set")
        try:
            account: LocalAccount = Account.from_key(value.strip())
            return account
        except Exception:  # never echo the key itself
            raise AccountError(f"environment variable {key_env} does not hold a valid private key") from None
    if keystore:
        return from_keystore(keystore, password_env=passphrase_env, prompt=prompt)
    raise AccountError("no account given: a private key variable or a keystore file")


def from_env(spec: str) -> LocalAccount:
    """Resolve an account spec:

    - ``env:NAME``: private key in environment variable NAME
    - ``keystore:PATH[:PASSPHRASE_ENV]``: keystore file, passphrase from PASSPHRASE_ENV or a prompt
    - ``mnemonic-env:NAME[:INDEX]``: mnemonic in environment variable NAME, derivation index
    - ``dev:INDEX``: account INDEX of the development mnemonic (local chains)
    """
    kind, _, rest = spec.partition(":")
    if kind == "env":
        return load(key_env=rest)
    if kind == "keystore":
        path, _, pw_env = rest.partition(":")
        return load(keystore=path, passphrase_env=pw_env or None, prompt=not pw_env)
    if kind == "dev":
        try:
            return dev_account(int(rest or 0))
        except ValueError:
            raise AccountError(f"dev:INDEX takes a whole number, not {rest!r}") from None
    if kind == "mnemonic-env":
        name, _, index = rest.partition(":")
        value = os.environ.get(name)
        if not value:
            raise AccountError(f"environment variable {name} is not set")
        return from_mnemonic(value, int(index or 0))
    raise AccountError(f"unknown account spec {kind!r}: use env:NAME, keystore:PATH[:PASSPHRASE_ENV], "
                       "mnemonic-env:NAME[:INDEX] or dev:INDEX")
