"""NAV per share through BasketNavFeed (AggregatorV3Interface): equal to a Decimal model of
sum(units x price) rounded down once; refused naming the component when a price is missing or older
than its heartbeat; rounds as documented; read by a consumer compiled against Chainlink's interface."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import ape
import pytest
from ethpm_types import ContractType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basket_helpers import COMPONENTS, FEED_DECIMALS, HEARTBEAT, answer_of, deploy_basket, fund
from stockpile.contracts.compile import compile_standard_json
from devkit.ape_stack import mint_id
from stockpile.toolchain import PROJECT_ROOT

ZERO = "0x" + "00" * 20


def model_nav(components, answers, share_decimals=0) -> int:
    """NAV of one whole share in USD, 8 decimals: sum(units / 10^td * 10^sd * answer / 10^fd), floored once."""
    total = sum((Decimal(units).scaleb(share_decimals - td) * Decimal(a).scaleb(-fd)
                 for (units, td, fd), a in zip(components, answers)), Decimal(0))
    return int(total.scaleb(8).to_integral_value(rounding=ROUND_FLOOR))


def spec(stack):
    return [(c.units, c.decimals, FEED_DECIMALS) for c in stack.components]


def test_nav_of_the_sample_prices_matches_the_model(priced):
    s = priced
    answers = [answer_of(p[4]) for p in COMPONENTS]
    rid, answer, started, updated, answered = s.nav.latestRoundData()
    assert answer == model_nav(spec(s), answers)
    # by hand: 0.5*62.50 + 0.1*310.25 + 0.02*1234.56789012 + 0.001*10450.1 + 1*31.07
    assert Decimal(answer).scaleb(-8) == Decimal("128.48645780")  # 128.4864578024, floored at 8 decimals
    assert s.nav.decimals() == 8 and s.nav.description() == "SMB NAV / USD per share" and s.nav.version() == 1
    assert started == updated and rid == answered
    nav, oldest, newest = s.nav.navPerShare()
    assert (nav, oldest, newest) == (answer, updated, rid)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(answers=st.lists(st.integers(min_value=1, max_value=10**20), min_size=5, max_size=5))
def test_nav_matches_the_decimal_model_for_any_prices(stack, chain, answers):
    snap = chain.snapshot()
    try:
        s = stack
        s.prices.publish({c.fid: a for c, a in zip(s.components, answers)})
        assert s.nav.latestRoundData()[1] == model_nav(spec(s), answers)
    finally:
        chain.restore(snap)


def test_nav_with_share_decimals_and_mixed_feed_decimals(stack, project, chain):
    """Share decimals 3: one whole share = 1000 base shares; NAV per whole share."""
    s = stack
    comps = s.components[:3]
    units = [5 * 10**14, 10**14, 20]  # per base share: 0.5 kg, 0.1 kg, 0.02 kg per whole share
    basket = deploy_basket(project, s.admin, s.timelock, [(c.token.address, u, c.adapter.address, HEARTBEAT)
                                                          for c, u in zip(comps, units)], symbol="SMB3", decimals=3)
    nav = s.admin.deploy(project.BasketNavFeed, basket.address)
    answers = [answer_of(Decimal("62.50")), answer_of(Decimal("310.25")), answer_of(Decimal("1234.56789012"))]
    s.prices.publish({c.fid: a for c, a in zip(comps, answers)})
    got = nav.latestRoundData()[1]
    assert got == model_nav([(u, c.decimals, 8) for c, u in zip(comps, units)], answers, share_decimals=3)
    assert Decimal(got).scaleb(-8) == Decimal("86.96635780")  # 31.25 + 31.025 + 24.6913578024, floored


def test_missing_price_is_refused_naming_the_component(stack):
    s = stack  # no price published yet: the hub has no round
    first = s.components[0].token.address
    with ape.reverts(s.nav.ComponentPriceMissing, component=first):
        s.nav.latestRoundData()
    # every component but the last priced: the last one is named
    s.prices.publish({c.fid: answer_of(p[4]) for c, p in zip(s.components[:-1], COMPONENTS)})
    with ape.reverts(s.nav.ComponentPriceMissing, component=s.components[-1].token.address):
        s.nav.latestRoundData()


def test_component_without_feed_or_with_a_broken_feed_is_missing(stack, project):
    s = stack
    c0, c1 = s.components[0], s.components[1]
    basket = deploy_basket(project, s.admin, s.timelock, [(c0.token.address, 1, c0.adapter.address, HEARTBEAT),
                                                          (c1.token.address, 1, ZERO, 0)], symbol="SMBX")
    nav = s.admin.deploy(project.BasketNavFeed, basket.address)
    s.prices.publish({c0.fid: 10**8})
    with ape.reverts(nav.ComponentPriceMissing, component=c1.token.address):
        nav.latestRoundData()
    # a "feed" that is not one (the token contract itself) cannot be set: decimals() exists, but the
    # NAV read of latestRoundData reverts inside and is reported as missing
    broken = deploy_basket(project, s.admin, s.timelock, [(c0.token.address, 1, c1.token.address, HEARTBEAT)],
                           symbol="SMBY")
    nav2 = s.admin.deploy(project.BasketNavFeed, broken.address)
    with ape.reverts(nav2.ComponentPriceMissing, component=c0.token.address):
        nav2.latestRoundData()


def test_stale_component_price_is_refused_naming_it(priced, chain):
    s = priced
    t0 = s.components[0].adapter.latestRoundData()[3]
    chain.pending_timestamp = t0 + HEARTBEAT + 10
    # refresh all but terbium: terbium is the one named
    tb = s.components[2]
    s.prices.publish({c.fid: answer_of(p[4]) for c, p in zip(s.components, COMPONENTS) if c is not tb})
    with ape.reverts(s.nav.ComponentPriceStale, component=tb.token.address, updatedAt=t0, heartbeat=HEARTBEAT):
        s.nav.latestRoundData()
    s.prices.publish({tb.fid: answer_of(COMPONENTS[2][4])})
    assert s.nav.latestRoundData()[1] == model_nav(spec(s), [answer_of(p[4]) for p in COMPONENTS])


def test_rounds_newest_id_oldest_time_and_no_history(priced, chain):
    s = priced
    rid, answer, started, updated, answered = s.nav.latestRoundData()
    chain.pending_timestamp += 100
    s.prices.publish({s.components[1].fid: answer_of(Decimal("320"))})
    rid2, answer2, started2, updated2, _ = s.nav.latestRoundData()
    new_time = s.components[1].adapter.latestRoundData()[3]
    assert rid2 == new_time > rid and updated2 == updated  # oldest input unchanged
    assert answer2 == answer + (answer_of(Decimal("320")) - answer_of(Decimal("310.25"))) // 10
    assert s.nav.getRoundData(rid2) == s.nav.latestRoundData()
    with ape.reverts(s.nav.RoundNotAvailable, roundId=rid):
        s.nav.getRoundData(rid)


def _consumer_type() -> ContractType:
    src = "tests/basket/contracts/BasketNavConsumer.sol"
    out = compile_standard_json({src: {"content": (PROJECT_ROOT / src).read_text()}})
    assert any(k.startswith("node_modules/@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface")
               for k in out["sources"])
    c = out["contracts"][src]["BasketNavConsumer"]
    return ContractType.model_validate({"contractName": "BasketNavConsumer", "abi": c["abi"],
                                        "deploymentBytecode": {"bytecode": "0x" + c["evm"]["bytecode"]["object"]}})


def test_chainlink_compiled_consumer_reads_the_nav(priced, chain):
    s = priced
    consumer = s.admin.deploy(ape.contracts.ContractContainer(_consumer_type()), s.nav.address)
    value, decimals, description, updated = consumer.collateralValue(1000)
    assert value == 1000 * s.nav.latestRoundData()[1] and decimals == 8
    assert description == "SMB NAV / USD per share" and updated == s.nav.latestRoundData()[3]
    chain.pending_timestamp = updated + HEARTBEAT + 1
    chain.mine()
    with pytest.raises(ape.exceptions.ContractLogicError):  # the NAV feed refuses a stale input
        consumer.collateralValue(1000)


def test_nav_does_not_depend_on_supply_or_donations(priced):
    s = priced
    before = s.nav.latestRoundData()[1]
    fund(s, s.alice, 3)
    s.basket.create(3, s.alice, sender=s.alice)
    ndpr = s.components[0]
    ndpr.token.mint(s.bob, 10**18, mint_id("nav donation"), sender=s.minter)
    ndpr.token.transfer(s.basket, 10**18, sender=s.bob)  # a donation: surplus, not NAV
    assert s.basket.surplus(ndpr.token) == 10**18
    assert s.nav.latestRoundData()[1] == before
