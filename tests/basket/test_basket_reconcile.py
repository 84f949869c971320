"""Reconciliation: a basket's component holdings tie to its shares (held == totalSupply x units);
a shortfall is a critical break naming the component, a donation an info-level surplus."""

from __future__ import annotations

from stockpile.reconcile.baskets import check_basket
from stockpile.reconcile.breaks.model import Severity
from devkit.ape_stack import mint_id

from basket_helpers import fund


def test_clean_basket_has_no_break(stack, chain):
    s = stack
    fund(s, s.alice, 3)
    s.basket.create(3, s.alice, sender=s.alice)
    summary, breaks = check_basket(chain.provider.web3, s.basket.address)
    assert breaks == [] and summary["backed"] and summary["total_supply"] == "3"
    assert [c["held"] for c in summary["components"]] == [str(3 * c.units) for c in s.components]


def test_component_taken_from_the_basket_is_a_critical_break(stack, chain):
    s = stack
    fund(s, s.alice, 3)
    s.basket.create(3, s.alice, sender=s.alice)
    tb = s.components[2]
    tb.token.forcedTransfer(s.basket, s.carol, 7, sender=s.protector)  # the component issuer's power
    summary, breaks = check_basket(chain.provider.web3, s.basket.address)
    assert [(b.kind, b.severity, b.amount, b.evidence["component"]) for b in breaks] == [
        ("basket_under_backed", Severity.critical, 7, tb.token.address)]
    assert breaks[0].product == "SMB" and "short by 7" in breaks[0].message and not summary["backed"]


def test_donation_is_reported_as_surplus_not_as_a_shortfall(stack, chain):
    s = stack
    fund(s, s.alice, 1)
    s.basket.create(1, s.alice, sender=s.alice)
    ag = s.components[4]
    ag.token.mint(s.bob, 5, mint_id("reconcile donation"), sender=s.minter)
    ag.token.transfer(s.basket, 5, sender=s.bob)
    summary, breaks = check_basket(chain.provider.web3, s.basket.address)
    assert [(b.kind, b.severity, b.amount) for b in breaks] == [("basket_surplus", Severity.info, 5)]
    assert summary["backed"]


def test_reconcile_run_includes_the_baskets(stack, chain, tmp_path):
    from stockpile.reconcile.db.store import Database
    from stockpile.reconcile.service import RunConfig, reconcile

    s = stack
    fund(s, s.alice, 2)
    s.basket.create(2, s.alice, sender=s.alice)
    s.components[0].token.forcedTransfer(s.basket, s.carol, 1, sender=s.protector)
    chain.mine(2)
    db = Database(tmp_path / "custody.db")
    report = reconcile(db, chain.provider.web3, RunConfig(products=[], confirmations=0, baskets=[s.basket.address]))
    db.dispose()
    assert report["baskets"][0]["basket"] == "SMB" and not report["baskets"][0]["backed"]
    assert [b["kind"] for b in report["breaks"]] == ["basket_under_backed"] and report["exit_code"] == 1


def test_products_file_names_baskets_as_a_list_or_by_symbol():
    from stockpile.reconcile.cli import _baskets

    assert _baskets({"baskets": ["0x" + "11" * 20]}) == ["0x" + "11" * 20]
    assert _baskets({"baskets": {"SMB": "0x" + "22" * 20}}) == ["0x" + "22" * 20]
    assert _baskets({"products": {}}) == []
