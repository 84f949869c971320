"""One of each small shared concept (stockpile.core), and the places that used to hold copies."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from stockpile.core import eth, hashing, jsonconv, times, units


def test_one_mass_table_for_custody_exports_and_price_units():
    """The custody table lacked ``mt`` and the price table lacked ``mg``: a custody export in
    metric tonnes was rejected while prices per metric tonne were accepted. Both read one table."""
    from stockpile.oracle.units import MASS_IN_KG, convert, parse_unit
    from stockpile.reconcile.custody.schema import UNITS, Product

    assert UNITS is units.MASS_IN_GRAMS and set(MASS_IN_KG) == set(units.MASS_IN_GRAMS)
    assert units.MASS_IN_GRAMS["ozt"] == Decimal("31.1034768") and units.MASS_IN_GRAMS["lb"] == Decimal("453.59237")
    assert MASS_IN_KG["ozt"] == Decimal("0.0311034768") and MASS_IN_KG["t"] == MASS_IN_KG["mt"] == 1000
    ndpr = Product("NDPR", "NdPr oxide", "kg", 3)
    assert ndpr.to_base_units(Decimal("1.5"), "mt") == ndpr.to_base_units(Decimal("1.5"), "t") == 1_500_000
    assert ndpr.to_base_units(Decimal("25000"), "mg") == 25
    assert parse_unit("USD/mg") == ("USD", "mg")
    assert convert(Decimal("62.5"), "USD/kg", "USD/mt") == Decimal("62500")
    assert convert(Decimal("1"), "USD/ozt", "USD/kg").quantize(Decimal("0.000001")) == Decimal("32.150747")


def test_base_units_refuse_floats_and_extra_decimals():
    assert units.to_units(Decimal("1.25"), 2) == 125 and units.from_units(125, 2) == Decimal("1.25")
    with pytest.raises(units.QuantityError, match="more than 2 decimal places"):
        units.to_units(Decimal("1.255"), 2)
    with pytest.raises(units.QuantityError, match="not float"):
        units.to_units(1.5, 2)  # type: ignore[arg-type]
    from stockpile.oracle.units import from_answer

    assert from_answer(6_250_000_000, 8) == Decimal("62.5")


def test_time_parsing_and_formatting():
    assert times.parse_time("2026-11-21T12:00:00Z") == times.parse_time("2026-11-21T13:00:00+01:00") == 1_795_262_400
    assert times.parse_time("2026-11-21T12:00:00") == 1_795_262_400  # naive: UTC
    assert times.parse_time("1795262400") == 1_795_262_400
    with pytest.raises(ValueError, match="give a time zone"):
        times.parse_time("2026-11-21T12:00:00", assume_utc=False)
    with pytest.raises(ValueError, match="outside 1970"):
        times.parse_time("9" * 13)
    assert times.format_time(1_795_262_400) == "2026-11-21T12:00:00Z"
    assert times.format_time(1_795_262_400, minutes=True) == "2026-11-21 12:00"
    assert times.format_time(None) == ""
    from stockpile.reconcile.custody.parse import format_time, parse_time

    assert (parse_time, format_time) == (times.parse_time, times.format_time)


def test_reserve_cli_time_option_names_a_missing_zone():
    import click

    from stockpile.reserve.cli import _parse_time

    assert _parse_time(None, None, "2026-11-21T12:00:00Z") == 1_795_262_400
    with pytest.raises(click.BadParameter, match="give a time zone"):
        _parse_time(None, None, "2026-11-21T12:00:00")
    with pytest.raises(click.BadParameter):
        _parse_time(None, None, "yesterday")


def test_json_conversion_is_one_rule():
    when = datetime(2026, 11, 21, 12, tzinfo=UTC)
    value = {"n": 2**200, "small": 5, "ok": True, "none": None, "b": b"\x01\xff", "t": (1, b"\x00"),
             "d": Decimal("1.50"), "when": when}
    assert jsonconv.jsonable(value) == {"n": str(2**200), "small": "5", "ok": True, "none": None, "b": "0x01ff",
                                        "t": ["1", "0x00"], "d": "1.50", "when": "2026-11-21T12:00:00Z"}
    assert json.loads(json.dumps({"d": Decimal("0.1"), "b": b"\xab", "when": when}, default=jsonconv.default)) == \
        {"d": "0.1", "b": "0xab", "when": "2026-11-21T12:00:00Z"}
    from stockpile.merkle import StandardMerkleTree

    dump = StandardMerkleTree.of([(1, b"\x02")], ["uint256", "bytes1"]).dump()
    assert dump["values"][0]["value"] == ["1", "0x02"]


def test_keccak_is_one_import():
    assert hashing.keccak(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    from stockpile.merkle import keccak

    assert keccak is hashing.keccak


def test_merkle_root_and_proofs_come_from_stockpile_merkle():
    """The reconciliation's root-only build and the reserve CLI's proof from a dump are the tree's."""
    from stockpile.merkle.tree import StandardMerkleTree, merkle_root, proof_from_dump, verify_proof
    from stockpile.reconcile.breaks.classify import merkle_root as classify_root

    leaves = [hashing.keccak(bytes([i])) for i in range(11)]
    tree = StandardMerkleTree(["bytes32"], [[x] for x in leaves], leaves)
    assert merkle_root(leaves) == tree.root and classify_root(leaves) == "0x" + tree.root.hex()
    assert merkle_root([]) is None
    dump = tree.dump()
    for i in range(len(leaves)):
        proof = proof_from_dump(dump, i)
        assert proof == ["0x" + p.hex() for p in tree.proof(i)]
        assert verify_proof(leaves[i], [bytes.fromhex(p[2:]) for p in proof], tree.root)


def test_eip712_domain_is_one_definition():
    from stockpile.reserve import signing

    acct = Account.create()
    msg = eth.typed_data("Stockpile", "1", 31337, "0x" + "11" * 20, "Permit", {"Permit": eth.PERMIT_TYPE},
                         {"owner": acct.address, "spender": eth.ZERO_ADDRESS, "value": 1, "nonce": 0, "deadline": 2})
    assert msg["types"]["EIP712Domain"] is eth.EIP712_DOMAIN_TYPE
    assert Account.recover_message(encode_typed_data(full_message=msg),
                                   signature=acct.sign_message(encode_typed_data(full_message=msg)).signature) == acct.address
    assert not hasattr(signing, "EIP712_DOMAIN_TYPE")
    assert eth.ZERO_ADDRESS == "0x" + "00" * 20
