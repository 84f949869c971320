"""CommodityToken helpers for Python: web3.py deployment of a token stack on a dev chain,
EIP-712 signing of reserve attestations, permits and EIP-3009 authorizations, and the storage-layout
snapshot tooling."""
