"""The deployment file: every bad field gets an error naming the field and the value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from stockpile.deploy.config import DeploymentFileError, load_deployment, parse_deployment

SAMPLE = Path(__file__).resolve().parents[2] / "python/stockpile/deploy/samples/devnet.yaml"


@pytest.fixture
def data():
    return yaml.safe_load(SAMPLE.read_text())


def problems(data):
    with pytest.raises(DeploymentFileError) as exc:
        parse_deployment(data)
    return exc.value.problems


def test_sample_file_is_valid_and_converts_quantities_exactly():
    dep = load_deployment(SAMPLE)
    ndpr = dep.product("NDPR")
    assert ndpr.decimals == 18
    assert ndpr.min_redemption == Decimal("100")
    assert ndpr.to_units(Decimal("1.5")) == 15 * 10**17
    assert dep.product("AG").to_units(Decimal("1.5")) == 1_500_000
    assert dep.attestors.quorum == 2 and len(dep.attestors.signers) == 3


def test_decimals_over_18_names_field_and_value(data):
    data["products"][2]["decimals"] = 40
    assert problems(data) == ["products[2].decimals: must be <= 18, got 40"]


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["products"][0].update(min_redemption=1.5), "products[0].min_redemption: write quantities as strings or integers, not floats, got 1.5"),
        (lambda d: d["products"][4].update(min_redemption="0.0000001"), "products[4].min_redemption: 1E-7 has more than 6 decimal places"),
        (lambda d: d["products"][0].update(min_redemption="-1"), "products[0].min_redemption: must be > 0, got -1"),
        (lambda d: d["products"][1].update(symbol="nd pr"), "products[1].symbol: must be 1-16 upper-case letters, digits or '-', got 'nd pr'"),
        (lambda d: d["products"][1].update(symbol="NDPR"), "products[1].symbol: duplicate of products[0], got 'NDPR'"),
        (lambda d: d["roles"].update(admin="0x1234"), "roles.admin: must be a 0x-prefixed 20-byte hex address, got '0x1234'"),
        (lambda d: d["attestors"].update(quorum=4), "attestors.quorum: must be <= number of signers (3), got 4"),
        (lambda d: d["attestors"].update(quorum=1), "attestors.quorum: must be a strict majority of the 3 signers, got 1"),
        (lambda d: d["oracle"].update(f=2), "oracle.f: needs more than 3f signers (4 given), got 2"),
        (lambda d: d["products"][0]["feed"].update(max_report_age=86401),
         "products[0].feed.max_report_age: must be <= heartbeat (86400), got 86401"),
        (lambda d: d["products"][0]["feed"].update(max_answer="0.5"), "products[0].feed.max_answer: must be > min_answer (1), got 0.5"),
        (lambda d: d["products"][0].update(colour="red"), "products[0].colour: unknown field"),
        (lambda d: d["products"][0].pop("max_attestation_age"), "products[0].max_attestation_age: required field is missing"),
        (lambda d: d["products"][0].update(max_attestation_age=0), "products[0].max_attestation_age: must be > 0, got 0"),
        (lambda d: d["attestors"]["signers"].append(d["attestors"]["signers"][0]), "attestors.signers: duplicate address"),
    ],
)
def test_each_bad_field_is_named(data, mutate, expected):
    mutate(data)
    found = problems(data)
    assert any(p.startswith(expected) for p in found), found


def test_several_problems_are_all_reported(data):
    data["products"][0]["decimals"] = 19
    data["timelock"]["delay"] = -1
    found = problems(data)
    assert "products[0].decimals: must be <= 18, got 19" in found
    assert "timelock.delay: must be >= 0, got -1" in found


def test_bad_yaml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("products: [\n")
    with pytest.raises(DeploymentFileError, match="not valid YAML"):
        load_deployment(bad)
    with pytest.raises(DeploymentFileError, match="file not found"):
        load_deployment(tmp_path / "nope.yaml")
    lst = tmp_path / "list.yaml"
    lst.write_text("- 1\n")
    with pytest.raises(DeploymentFileError, match="top level must be a mapping"):
        load_deployment(lst)


def test_each_product_names_its_feed_symbol(data):
    dep = parse_deployment(data)
    assert [p.feed_symbol for p in dep.products] == ["NDPR-OXIDE/USD", "DY-METAL/USD", "TB-METAL/USD", "LI2CO3/USD",
                                                      "AG-BAR/USD"]
    del data["products"][1]["feed"]["symbol"]  # unnamed: <product_code>/USD
    assert parse_deployment(data).product("DY").feed_symbol == "DY-METAL/USD"


@pytest.mark.parametrize("symbol, expected", [
    ("X" * 33, f"products[2].feed.symbol: must be 1-32 printable ASCII characters, got {'X' * 33!r}"),
    ("TB/€", "products[2].feed.symbol: must be 1-32 printable ASCII characters, got 'TB/€'"),
    ("NDPR-OXIDE/USD", "products[2].feed.symbol: duplicate of products[0]'s feed, got 'NDPR-OXIDE/USD'"),
])
def test_a_bad_feed_symbol_is_named(data, symbol, expected):
    data["products"][2]["feed"]["symbol"] = symbol
    assert problems(data) == [expected]
