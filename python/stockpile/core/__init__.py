"""Small definitions the whole package shares, one of each, importable without web3 or any other
heavy dependency (the SDK, the reconciliation, the oracle and the deploy engine all use them):

- ``core.units``: Decimal product units <-> int base units; the one mass-unit table
- ``core.times``: ISO 8601 / unix seconds parsing and formatting
- ``core.jsonconv``: JSON conversion (ints as strings, Decimal, bytes, datetimes)
- ``core.eth``: the zero address, the EIP-712 domain type and typed-data builder, the dev mnemonic
- ``core.hashing``: keccak256 (the fastest implementation installed, with one fallback)
"""
