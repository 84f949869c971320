"""Every break kind planted and found; nothing found on clean data.

Custody-side kinds use exports from the generator ingested into a real database; the chain
state is the plain value object the chain reader produces (the anvil tests drive the same
classifier from real contracts)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stockpile.merkle import lot_tree
from stockpile.reconcile.breaks.classify import Classifier, Thresholds
from stockpile.reconcile.breaks.model import KINDS
from stockpile.reconcile.chain.state import Attestation, PendingRedemption, ProductChainState
from stockpile.reconcile.custody.generator import DISCREPANCY_KINDS, generate
from stockpile.reconcile.custody.parse import parse_time

T = parse_time("2026-11-20T00:00:00Z")
N = 90
LOT_LEVEL = {"lot_not_in_custody", "lot_not_attested", "quantity_mismatch", "product_mismatch", "warehouse_mismatch",
             "lot_attribute_mismatch", "released_lot_backing", "in_transit_lot_backing",
             "duplicate_lot_across_warehouses"}


def attestation_of(g, product, as_of=T, total_delta=0, count_delta=0):
    lots = g.attested[product]
    return Attestation("0x" + lot_tree(lots).root.hex(), sum(x[5] for x in lots) + total_delta,
                       len(lots) + count_delta, as_of, "0x" + "ab" * 32, 1, as_of + 10)


def states_for(g, now=T + 100, supply_fraction=2, **overrides):
    out = {}
    for product in g.attested:
        att = attestation_of(g, product)
        st = ProductChainState(product, "0x" + "11" * 20, "0x" + "22" * 20, 100, now,
                               att.total_quantity // supply_fraction, 18, 0, att,
                               att.total_quantity // supply_fraction, 0, [], {})
        out[product] = st
    return out


def run(db, g_states, now=T + 100, thresholds=None):
    results = Classifier(db, thresholds=thresholds).classify(g_states, now)
    return [b for r in results for b in r.breaks], {r.product: r.summary for r in results}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_data_has_no_breaks(db, tmp_path, seed):
    g = generate(N, seed=seed)
    db.ingest(g.write_csv(tmp_path / "c.csv"))
    breaks, summaries = run(db, states_for(g))
    assert breaks == []
    for s in summaries.values():
        assert s["root_matches"] is True and s["collateralisation_ratio"] is not None


EXPECTED = {
    "quantity_mismatch": "quantity_mismatch",
    "product_mismatch": "product_mismatch",
    "warehouse_mismatch": "warehouse_mismatch",
    "missing_lot": "lot_not_in_custody",
    "extra_lot": "lot_not_attested",
    "released": "released_lot_backing",
    "in_transit": "in_transit_lot_backing",
    "duplicate_across_warehouses": "duplicate_lot_across_warehouses",
}


def _check_planted(breaks, g, kind):
    planted = g.planted
    lot_breaks = [b for b in breaks if b.kind in LOT_LEVEL]
    planted_ids = {p["lot_id"] for p in planted}
    # nothing lot-level about lots that were not planted
    assert {b.lot_id for b in lot_breaks} <= planted_ids, [b.as_dict() for b in lot_breaks]
    for p in planted:
        found = [b for b in breaks if b.lot_id == p["lot_id"] and b.kind == EXPECTED[kind]]
        assert found, (kind, p, [b.as_dict() for b in breaks])
        b = found[0]
        assert b.evidence and b.message and b.severity == KINDS[b.kind][0]
        if kind in ("duplicate_across_warehouses", "extra_lot", "product_mismatch"):
            continue
        assert b.product == p["product"]


@pytest.mark.parametrize("kind", DISCREPANCY_KINDS)
def test_planted_discrepancy_found_with_attested_list_ingested(kind, db, tmp_path):
    clean = generate(N, seed=7)
    db.ingest(clean.write_csv(tmp_path / "attested.csv"), kind="attested")
    g = generate(N, seed=7, discrepancies={kind: 2})
    assert g.attested == clean.attested
    db.ingest(g.write_csv(tmp_path / "custody.csv"))
    breaks, summaries = run(db, states_for(g))
    _check_planted(breaks, g, kind)
    if kind != "duplicate_across_warehouses":
        mism = [b for b in breaks if b.kind == "root_mismatch"]
        assert mism and all(b.evidence["attested_list"].startswith("ingested attested list") for b in mism)
        assert summaries[g.planted[0]["product"]]["root_matches"] is False
    else:
        assert not [b for b in breaks if b.kind == "root_mismatch"]


@pytest.mark.parametrize("kind", ["quantity_mismatch", "missing_lot", "released"])
def test_lot_differences_named_from_previous_matching_snapshot(kind, sqlite_db, tmp_path):
    """No attested list stored: a re-issued export for the same as-of is compared with the earlier
    snapshot that reproduces the attested root."""
    db = sqlite_db
    db.ingest(generate(N, seed=8).write_csv(tmp_path / "first.csv"))
    g = generate(N, seed=8, discrepancies={kind: 1})
    db.ingest(g.write_csv(tmp_path / "reissued.csv"))
    breaks, _ = run(db, states_for(g))
    _check_planted(breaks, g, kind)
    assert any(b.kind == "root_mismatch" and "previous matching custody view" in b.evidence["attested_list"]
               for b in breaks)


def test_root_mismatch_without_any_attested_list_says_so(sqlite_db, tmp_path):
    g = generate(N, seed=9, discrepancies={"quantity_mismatch": 1})
    sqlite_db.ingest(g.write_csv(tmp_path / "only.csv"))
    breaks, _ = run(sqlite_db, states_for(g))
    kinds = {b.kind for b in breaks}
    assert "root_mismatch" in kinds and not kinds & LOT_LEVEL
    rm = next(b for b in breaks if b.kind == "root_mismatch")
    assert rm.product == g.planted[0]["product"] and "unavailable" in rm.evidence["attested_list"]


def test_lot_released_after_the_attestation_still_backing(sqlite_db, tmp_path):
    sqlite_db.ingest(generate(N, seed=4).write_csv(tmp_path / "a.csv"))
    later = generate(N, seed=4, as_of="2026-11-20T06:00:00Z", discrepancies={"released": 1, "in_transit": 1})
    sqlite_db.ingest(later.write_csv(tmp_path / "b.csv"))
    breaks, summaries = run(sqlite_db, states_for(later, now=T + 7 * 3600), now=T + 7 * 3600)
    assert {(b.kind, b.lot_id) for b in breaks if b.kind in LOT_LEVEL} == {
        ("released_lot_backing", later.planted[0]["lot_id"]), ("in_transit_lot_backing", later.planted[1]["lot_id"])}
    assert all(s["root_matches"] for s in summaries.values())  # the attestation matched its own as-of


def test_chain_side_kinds(sqlite_db, tmp_path):
    g = generate(N, seed=5)
    sqlite_db.ingest(g.write_csv(tmp_path / "c.csv"))
    products = sorted(g.attested)
    st = states_for(g)
    a, b, c, d = products[:4]
    att = st[a].attestation
    st[a].total_supply = att.total_quantity + 5  # supply above attested reserve (and above custody)
    st[a].minted_from_events = att.total_quantity + 5
    st[b].minted_from_events += 7  # events say more was minted than totalSupply
    st[c].total_escrowed = 10**18
    st[c].pending = [PendingRedemption(1, "0x" + "33" * 20, 10**18, T - 4 * 86_400, 50)]
    st[d].attestation = None
    breaks, summaries = run(sqlite_db, st, now=T + 100)
    got = {(x.product, x.kind) for x in breaks}
    assert (a, "supply_above_reserve") in got and (a, "supply_above_custody") in got
    sar = next(x for x in breaks if x.kind == "supply_above_reserve")
    assert sar.amount == 5 and sar.severity.name == "critical"
    assert (b, "supply_event_mismatch") in got
    assert (c, "redemption_pending_too_long") in got and (c, "escrow_mismatch") not in got
    assert (d, "attestation_missing") in got
    assert got <= {(a, "supply_above_reserve"), (a, "supply_above_custody"), (b, "supply_event_mismatch"),
                   (c, "redemption_pending_too_long"), (d, "attestation_missing")}
    assert Decimal(summaries[a]["collateralisation_ratio"]) < 1  # rounded down, never shown as 1


def test_escrow_stale_total_and_missing_custody(sqlite_db, tmp_path):
    g = generate(N, seed=6)
    sqlite_db.ingest(g.write_csv(tmp_path / "c.csv"))
    products = sorted(g.attested)
    st = states_for(g, now=T + 3 * 86_400)
    a, b, c = products[:3]
    st[a].total_escrowed = 123  # no pending requests explain it
    st[b].attestation = attestation_of(g, b, total_delta=1000)  # root right, total wrong
    st[c].attestation = attestation_of(g, c, as_of=T - 86_400)  # before any custody snapshot
    breaks, _ = run(sqlite_db, st, now=T + 3 * 86_400, thresholds=Thresholds(max_attestation_age=2 * 86_400))
    got = {(x.product, x.kind) for x in breaks}
    assert (a, "escrow_mismatch") in got
    assert (b, "attestation_total_mismatch") in got
    assert (c, "custody_missing") in got
    stale = {p for p, k in got if k == "attestation_stale"}
    assert stale == set(products)  # every attestation is older than 2 days at T+3d


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), mix=st.dictionaries(st.sampled_from(DISCREPANCY_KINDS), st.integers(0, 2), max_size=4))
def test_any_mix_of_discrepancies_is_found_and_nothing_else(tmp_path_factory, seed, mix):
    from stockpile.reconcile.db.store import Database

    tmp = tmp_path_factory.mktemp("mix")
    db = Database(tmp / "m.db")
    try:
        clean = generate(N, seed=seed)
        db.ingest(clean.write_csv(tmp / "attested.csv"), kind="attested")
        g = generate(N, seed=seed, discrepancies=mix)
        db.ingest(g.write_csv(tmp / "custody.csv"))
        breaks, _ = run(db, states_for(g))
        planted_ids = {p["lot_id"] for p in g.planted}
        assert {b.lot_id for b in breaks if b.kind in LOT_LEVEL} <= planted_ids
        for p in g.planted:
            assert any(b.lot_id == p["lot_id"] and b.kind == EXPECTED[p["kind"]] for b in breaks), (p, mix)
        if not g.planted:
            assert breaks == []
    finally:
        db.dispose()


def test_attested_list_found_by_report_hash(db, tmp_path):
    """The attestation's reportHash is keccak256 of the custodian's report file: that export is the
    list the attestation was built from, even when a later re-issue for the same as-of replaced it."""
    from stockpile.reserve.models import report_hash

    clean = generate(N, seed=12)
    first = clean.write_csv(tmp_path / "report.csv")
    db.ingest(first)
    g = generate(N, seed=12, discrepancies={"quantity_mismatch": 1, "missing_lot": 1})
    db.ingest(g.write_csv(tmp_path / "reissued.csv"))
    states = states_for(g)
    rh = "0x" + report_hash(first.read_bytes()).hex()
    for state in states.values():
        a = state.attestation
        state.attestation = Attestation(a.merkle_root, a.total_quantity, a.lot_count, a.as_of, rh, a.round_id, a.attested_at)
    breaks, summaries = run(db, states)
    for p in g.planted:
        assert any(b.lot_id == p["lot_id"] and b.kind == EXPECTED[p["kind"]] for b in breaks), p
    sources = {s["attested_list_source"] for s in summaries.values() if s["root_matches"] is False}
    assert sources and all(s.startswith("the custodian's report (snapshot 1") for s in sources)


def test_catalogue_problems(sqlite_db, tmp_path):
    g = generate(N, seed=13)
    sqlite_db.ingest(g.write_csv(tmp_path / "c.csv"))
    st = states_for(g)
    a = sorted(st)[0]
    st[a].decimals = 6
    st["XX-UNKNOWN"] = ProductChainState("XX-UNKNOWN", "0x" + "44" * 20, None, 100, T + 100, 0, 18)
    breaks, _ = run(sqlite_db, st)
    got = {(b.product, b.kind) for b in breaks}
    assert got == {(a, "decimals_mismatch"), ("XX-UNKNOWN", "product_not_in_catalogue")}


def test_quantity_changed_after_the_attestation_is_its_own_break(sqlite_db, tmp_path):
    """Issue 16 #7: a lot attested at 304.409 kg and exported later at 290.000 kg showed only inside
    "custody reserve now"."""
    g = generate(N, seed=4)
    sqlite_db.ingest(g.write_csv(tmp_path / "a.csv"))
    later = generate(N, seed=4, as_of="2026-11-20T06:00:00Z")
    victim = next(r for r in later.rows if r[2] == "NDPR-OXIDE" and r[9] == "in_stock")
    attested_kg, victim[6] = victim[6], str(Decimal(victim[6]) - Decimal("14.409"))
    grown = next(r for r in later.rows if r[2] == "DY-METAL" and r[9] == "in_stock")
    grown[6] = str(Decimal(grown[6]) + 1)
    grown[5] = str(Decimal(grown[5]) + 1)
    sqlite_db.ingest(later.write_csv(tmp_path / "b.csv"))
    now = T + 7 * 3600
    breaks, _ = run(sqlite_db, states_for(g, now=now), now=now)
    changed = {b.lot_id: b for b in breaks if b.kind == "quantity_changed_since_attestation"}
    assert set(changed) == {victim[1], grown[1]}
    b = changed[victim[1]]
    assert b.product == "NDPR-OXIDE" and b.warehouse_id == victim[0] and b.severity.name == "critical"
    assert Decimal(b.evidence["attested_quantity"]) == Decimal(attested_kg)
    assert Decimal(b.evidence["current_quantity"]) == Decimal(victim[6])
    assert b.evidence["unit"] == "kg" and b.amount == 14_409 * 10**15
    human = lambda x: f"{Decimal(x).normalize():f}"  # noqa: E731
    assert f"{human(attested_kg)} kg" in b.message and f"{human(victim[6])} kg" in b.message and victim[0] in b.message
    up = changed[grown[1]]
    assert up.severity.name == "medium" and up.amount == -(10**18)
    assert not {b.kind for b in breaks} & {"quantity_mismatch", "root_mismatch"}  # the attestation itself matched


def test_supply_bar_with_no_supply_or_no_attestation():
    """The supply-vs-reserve bar was full blue (looks 100 % used) with no supply or no attestation."""
    from stockpile.reconcile.report import supply_bar

    assert supply_bar({"total_supply": "0", "attested_reserve": None}) == (0.0, "", "no supply and no attestation")
    assert supply_bar({"total_supply": "5", "attested_reserve": None})[:2] == (100.0, "over")
    assert supply_bar({"total_supply": "0", "attested_reserve": "100"})[:2] == (0.0, "")
    assert supply_bar({"total_supply": "25", "attested_reserve": "100"})[:2] == (25.0, "")
    assert supply_bar({"total_supply": "150", "attested_reserve": "100"})[:2] == (100.0, "over")
    assert supply_bar({"total_supply": "3", "attested_reserve": "0"})[:2] == (100.0, "over")


def test_summaries_and_breaks_fit_the_report_types(sqlite_db, tmp_path):
    """What the classifier builds for the report (per product, per break, the ranked summary) has
    exactly the keys and value types declared in stockpile.reconcile.report.model."""
    from reconcile_typed import assert_typed

    from stockpile.reconcile.report import rank_products
    from stockpile.reconcile.report.model import BreakRecord, ProductSummary, SummaryRow

    clean = generate(N, seed=5)
    sqlite_db.ingest(clean.write_csv(tmp_path / "attested.csv"), kind="attested")
    g = generate(N, seed=5, discrepancies={"quantity_mismatch": 1, "released": 1, "duplicate_across_warehouses": 1})
    sqlite_db.ingest(g.write_csv(tmp_path / "custody.csv"))
    states = states_for(g)
    first = next(iter(states))
    states[first].attestation = None  # a product without attestation: the summary's None fields
    breaks, summaries = run(sqlite_db, states)
    assert breaks and len(summaries) > 1
    for s in summaries.values():
        assert_typed(ProductSummary, s)
    for b in breaks:
        assert_typed(BreakRecord, b.as_dict())
    ranked = rank_products(list(summaries.values()))
    assert ranked
    for r in ranked:
        assert_typed(SummaryRow, r)


def test_failed_report_fits_the_report_type_as_built_and_as_written(tmp_path):
    import json

    from reconcile_typed import assert_typed

    from stockpile.reconcile.report.model import Report
    from stockpile.reconcile.service import failed_report

    report = failed_report("node unreachable", tmp_path, stage="setup")
    assert_typed(Report, report)
    assert_typed(Report, json.loads((tmp_path / "reconcile.json").read_text()))


def test_the_report_type_check_names_an_undeclared_key_a_missing_key_and_a_wrong_type():
    from reconcile_typed import mismatches

    from stockpile.reconcile.report.model import BreakRecord

    good = {"product": "P", "kind": "k", "severity": "high", "lot_id": None, "warehouse_id": "W", "amount": "5",
            "message": "m", "evidence": {"a": [1]}}
    assert mismatches(BreakRecord, good) == []
    assert mismatches(BreakRecord, {**good, "extra": 1}) == ["report.extra: not declared in BreakRecord"]
    assert mismatches(BreakRecord, {k: v for k, v in good.items() if k != "kind"}) == \
        ["report.kind: missing (required by BreakRecord)"]
    assert mismatches(BreakRecord, {**good, "amount": 5}) == ["report.amount: 5 is not a str"]
    assert mismatches(BreakRecord, {**good, "evidence": {1: "x"}}) == ["report.evidence key: 1 is not a str"]
