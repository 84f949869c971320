"""CommodityToken helpers for Python: web3.py deployment of a token stack on a dev chain,
EIP-712 signing of reserve attestations and permits, and the storage-layout snapshot tooling."""
