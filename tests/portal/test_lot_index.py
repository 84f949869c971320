"""The portal's lot index against brute force: every search (lot id prefix, warehouse, form, pages)
returns what filtering the whole list in Python returns, every proof is the StandardMerkleTree's,
and the allocation walk finds the lots under a quantity range. No chain needed."""

from __future__ import annotations

import random

import pytest

from stockpile.merkle import LOT_LEAF_TYPES, StandardMerkleTree, lot_leaf
from stockpile.portal.index import LotIndex

WAREHOUSES = ["WH-A", "WH-B", "WH-C"]
FORMS = ["bar", "ingot", ""]


def make_lots(n: int, seed: int = 3) -> list[tuple]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        wh = rnd.choice(WAREHOUSES)
        lot = f"{rnd.choice(['AB', 'AC', 'B', 'Z9'])}-{rnd.randrange(10**5):05d}-{i}"
        vals = (wh, lot, "AG-BAR", rnd.choice(FORMS), rnd.randrange(990_000, 1_000_000), rnd.randrange(1, 10**24), f"AS-{i}")
        out.append((*vals, "in_stock", lot_leaf(vals)))
    # the same lot id in two warehouses (a break elsewhere; here it must still be found twice)
    vals = ("WH-A", "DUP-1", "AG-BAR", "bar", 999_000, 5, "AS-D1")
    out.append((*vals, "in_stock", lot_leaf(vals)))
    vals = ("WH-B", "DUP-1", "AG-BAR", "bar", 999_000, 7, "AS-D2")
    out.append((*vals, "in_stock", lot_leaf(vals)))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    lots = make_lots(3000)
    tree = StandardMerkleTree(LOT_LEAF_TYPES, [None] * len(lots), [x[8] for x in lots])
    index = LotIndex(tmp_path_factory.mktemp("idx") / "index.sqlite")
    lst = index.build("AG-BAR", "0x" + tree.root.hex(), lots, "test")
    return index, lst, lots, tree


def brute(lots, prefix="", warehouse=None, form=None):
    sel = [x for x in lots if x[1].startswith(prefix) and (warehouse is None or x[0] == warehouse)
           and (form is None or x[3] == form)]
    return sorted(sel, key=lambda x: (x[1], x[0]))


@pytest.mark.parametrize("prefix", ["", "A", "AB", "AC-0", "B-", "Z9-9", "DUP-1", "nothing"])
@pytest.mark.parametrize("warehouse", [None, "WH-B"])
@pytest.mark.parametrize("form", [None, "ingot", ""])
def test_search_matches_brute_force(built, prefix, warehouse, form):
    index, lst, lots, _ = built
    want = brute(lots, prefix, warehouse, form)
    for offset, limit in ((0, 50), (37, 13), (max(0, len(want) - 5), 50)):
        count, rows = index.search(lst, prefix, warehouse, form, offset, limit)
        assert count == len(want)
        assert [(r.warehouse_id, r.lot_id, r.form, r.quantity) for r in rows] == \
               [(x[0], x[1], x[3], x[5]) for x in want[offset:offset + limit]]


def test_unknown_warehouse_finds_nothing(built):
    index, lst, _, _ = built
    assert index.search(lst, "", "WH-NOPE", None) == (0, [])


def test_proofs_are_the_standard_merkle_trees(built):
    index, lst, lots, tree = built
    by_key = {(x[0], x[1]): i for i, x in enumerate(lots)}
    for lot_id in ("DUP-1", lots[0][1], lots[1234][1], lots[-3][1]):
        for row in index.lots_by_id(lst, lot_id):
            i = by_key[(row.warehouse_id, row.lot_id)]
            assert index.proof(lst, row) == ["0x" + h.hex() for h in tree.proof(i)]
            assert index.leaf(lst, row) == "0x" + tree.leaf(i).hex()
    assert len(index.lots_by_id(lst, "DUP-1")) == 2


def test_build_refuses_a_list_that_is_not_the_attested_one(built, tmp_path):
    _, _, lots, _ = built
    with pytest.raises(ValueError, match="not the attested"):
        LotIndex(tmp_path / "i.sqlite").build("AG-BAR", "0x" + "ab" * 32, lots, "test")


def test_covering_walks_the_quantity_line(built):
    index, lst, lots, _ = built
    ordered = sorted(lots, key=lambda x: (x[1], x[0]))
    starts, cum = [], 0
    for x in ordered:
        starts.append(cum)
        cum += x[5]
    rnd = random.Random(5)
    for _ in range(20):
        a = rnd.randrange(cum)
        b = min(cum, a + rnd.randrange(1, 10**25))
        want = [(x[1], s) for x, s in zip(ordered, starts) if s < b and s + x[5] > a]
        got = [(r.lot_id, s) for r, s in index.covering(lst, a, b, 10_000)]
        assert got == want
