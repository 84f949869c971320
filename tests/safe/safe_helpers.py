"""Shared names for the Safe tests: a 2-of-3 Safe's owners are anvil dev keys 7, 8, 9."""

from __future__ import annotations

from eth_account import Account

from stockpile.toolchain.anvil import dev_keys

KEYS = dev_keys()
DEPLOYER = Account.from_key(KEYS[0])
OWNERS = [Account.from_key(k) for k in KEYS[7:10]]
STRANGER = Account.from_key(KEYS[6])
