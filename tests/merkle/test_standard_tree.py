"""Our StandardMerkleTree equals @openzeppelin/merkle-tree's, leaf for leaf and proof for proof."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eth_abi import encode
from hypothesis import given, settings
from hypothesis import strategies as st

from stockpile.merkle import LOT_LEAF_TYPES, Lot, StandardMerkleTree, lot_tree, verify_proof
from stockpile.merkle.lots import encode_lot

REFERENCE = Path(__file__).with_name("oz_reference.js")


class Reference:
    """One node process running oz_reference.js for the whole module: a request per line."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", str(REFERENCE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="utf-8")

    def __call__(self, types, values, load=None):
        payload = {"types": types, "values": [[str(x) if isinstance(x, int) else x for x in v] for v in values],
                   "load": load}
        self.proc.stdin.write(json.dumps(payload) + "\n")  # ensure_ascii: no raw line break inside
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"oz_reference.js exited with {self.proc.poll()}"
        reply = json.loads(line)
        assert "error" not in reply, reply.get("error")
        return reply

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def oz():
    ref = Reference()
    yield ref
    ref.close()


def hexes(items):
    return ["0x" + b.hex() for b in items]


text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
lots = st.tuples(text.filter(bool), text.filter(bool), text.filter(bool), text,
                 st.integers(0, 2**32 - 1), st.integers(1, 2**256 - 1), text)


@settings(max_examples=40, deadline=None)
@given(st.lists(lots, min_size=1, max_size=12))
def test_lot_trees_match_openzeppelin(oz, values):
    ours = lot_tree(values)
    ref = oz(LOT_LEAF_TYPES, values)
    assert "0x" + ours.root.hex() == ref["root"]
    assert [hexes(ours.proof(i)) for i in range(len(values))] == ref["proofs"]
    assert ours.dump()["tree"] == ref["dump"]["tree"]


@settings(max_examples=30, deadline=None)
@given(lots)
def test_fast_lot_encoder_equals_abi_encode(value):
    assert encode_lot(value) == encode(LOT_LEAF_TYPES, list(value))


def test_generic_types_match_openzeppelin(oz):
    types = ["address", "uint256"]
    values = [["0x1111111111111111111111111111111111111111", 5000], ["0x2222222222222222222222222222222222222222", 2500],
              ["0x3333333333333333333333333333333333333333", 1]]
    ours = StandardMerkleTree.of(values, types)
    assert "0x" + ours.root.hex() == oz(types, values)["root"]


def test_openzeppelin_loads_and_verifies_our_dump(oz):
    values = [("WH-1", f"LOT-{i}", "NDPR-OXIDE", "powder", 995_000, 10**18 * (i + 1), f"SGS-{i}") for i in range(7)]
    ours = lot_tree(values)
    assert oz(LOT_LEAF_TYPES, values, load=ours.dump())["verifiedLoaded"] is True


def test_our_verifier_accepts_openzeppelin_proofs_and_rejects_tampering(oz):
    values = [("WH-1", f"LOT-{i}", "DY-METAL", "ingot", 999_000, 1000 + i, "") for i in range(5)]
    ref = oz(LOT_LEAF_TYPES, values)
    tree = lot_tree(values)
    root = bytes.fromhex(ref["root"][2:])
    for i in range(5):
        proof = [bytes.fromhex(p[2:]) for p in ref["proofs"][i]]
        assert verify_proof(tree.leaf(i), proof, root)
    tampered = ("WH-1", "LOT-0", "DY-METAL", "ingot", 999_000, 1001, "")  # quantity changed
    assert not verify_proof(lot_tree([tampered]).leaf(0), [bytes.fromhex(p[2:]) for p in ref["proofs"][0]], root)


def test_single_lot_tree_root_is_its_leaf_and_proof_is_empty():
    tree = lot_tree([Lot(warehouse_id="W", lot_id="L", product_code="P", purity_ppm=1, quantity=1)])
    assert tree.root == tree.leaf(0) and tree.proof(0) == []


def test_empty_tree_is_refused():
    with pytest.raises(ValueError, match="at least one leaf"):
        lot_tree([])


def test_lot_model_refuses_bad_values():
    with pytest.raises(ValueError):
        Lot(warehouse_id="W", lot_id="L", product_code="P", purity_ppm=1, quantity=0)
    with pytest.raises(ValueError):
        Lot(warehouse_id="W", lot_id="L", product_code="P", purity_ppm=1_000_001, quantity=1)
    assert Lot.purity_to_ppm("99.5") == 995_000
    with pytest.raises(ValueError, match="precision"):
        Lot.purity_to_ppm("99.12345678")
