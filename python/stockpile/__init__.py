"""Stockpile: warehouse-backed strategic metal and rare earth tokens.

Subpackages, one capability each:

- ``stockpile.toolchain``: the offline Solidity compiler (solc-js shim) and local chains (anvil).
- ``stockpile.core``: one of each small shared concept (units, times, JSON, EIP-712, keccak).
- ``stockpile.sdk``: web3.py client for wallets and integrators (no ape needed); its
  ``transactions.Sender``, ``rpc.connect`` and ``accounts`` are the package's one way to send, to
  connect and to load a key.
- ``stockpile.deploy``: declarative deployments and manifests.
- ``stockpile.oracle``: the reference price feeder.
- ``stockpile.reconcile``: custody reconciliation.
- ``stockpile.cli``: the ``stockpile`` command (``stockpile.extras``: which extra each command needs).
- ``stockpile.errors``: ``StockpileError``, the root of every exception the package raises.
"""

__version__ = "0.1.0"
