"""Unit/FX conversion, source parsing and aggregation rules (pure Python, Decimal only)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from stockpile.oracle.aggregate import AggregationError, aggregate, should_publish
from stockpile.oracle.config import ProductConfig
from stockpile.oracle.sources import Quote, SimulatedSource, SourceError, parse_csv_document, parse_json_document
from stockpile.oracle.units import UnitError, convert, to_answer

FX = {"CNY/USD": Decimal("7.25")}


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        (Decimal("62500"), "USD/t", Decimal("62.5")),
        (Decimal("28.35"), "USD/lb", Decimal("62.501051329412794134963072681315164097667692249762")),
        (Decimal("453.125"), "CNY/kg", Decimal("62.5")),
        (Decimal("453125"), "CNY/t", Decimal("62.5")),
        (Decimal("62.5"), "USD/kg", Decimal("62.5")),
    ],
)
def test_conversion_to_usd_per_kg_is_exact_decimal(value, unit, expected):
    got = convert(value, unit, "USD/kg", FX)
    assert isinstance(got, Decimal)
    assert got == expected


def test_fx_either_direction_and_missing_rate():
    assert convert(Decimal("62.5"), "USD/kg", "CNY/kg", FX) == Decimal("453.125")
    assert convert(Decimal("1"), "USD/kg", "CNY/kg", {"USD/CNY": Decimal("0.125")}) == Decimal(8)
    with pytest.raises(UnitError, match="no FX rate to convert CNY to USD"):
        convert(Decimal(1), "CNY/kg", "USD/kg", {})
    with pytest.raises(UnitError, match="unknown mass unit"):
        convert(Decimal(1), "USD/bushel", "USD/kg", {})
    with pytest.raises(TypeError, match="never float"):
        convert(62.5, "USD/kg", "USD/kg")


def test_scaling_to_feed_decimals():
    assert to_answer(Decimal("62.123456789"), 8) == 6212345679
    assert to_answer(convert(Decimal("28.35"), "USD/lb", "USD/kg"), 8) == 6250105133
    assert to_answer(Decimal("0.000000005"), 8) == 0  # half-even
    assert to_answer(Decimal("0.000000015"), 8) == 2


@pytest.mark.parametrize(
    "body, reason",
    [
        ("<html><body>502 Bad Gateway</body></html>", "HTML"),
        ("", "empty body"),
        ("   \n", "empty body"),
        ('{"NDPR": {"price": NaN}}', "not a number"),
        ('{"NDPR": {"price": "NaN"}}', "not a number"),
        ('{"NDPR": {"price": Infinity}}', "not a number"),
        ('{"NDPR": {"price": -5}}', "not positive"),
        ('{"NDPR": {"price": 0}}', "not positive"),
        ('{"NDPR": {"price": "12,5"}}', "not a number"),
        ('{"NDPR": {"price": null}}', "empty price"),
        ("[1, 2]", "list items"),
        ('{"NDPR": {"price": "62.5"}', "not JSON"),
    ],
)
def test_garbage_json_is_rejected_with_a_reason(body, reason):
    with pytest.raises(SourceError, match=reason) as info:
        parse_json_document("agency", body, "USD/kg", 0)
    assert info.value.source == "agency"


def test_json_numbers_stay_exact_decimals():
    q = parse_json_document("a", '{"NDPR": {"price": 62.10000000000000001, "unit": "USD/t", "timestamp": 17}}', None, 0)
    assert q["NDPR"].value == Decimal("62.10000000000000001")
    assert (q["NDPR"].unit, q["NDPR"].observed_at) == ("USD/t", 17.0)


def test_csv_rows_are_checked_line_by_line():
    good = parse_csv_document("f", "key,price,unit\nNDPR,62.5,USD/kg\nDY,310000,USD/t\n", None, 5)
    assert good["DY"].value == Decimal(310000)
    with pytest.raises(SourceError, match="line 3: DY: price -1 is not positive"):
        parse_csv_document("f", "key,price,unit\nNDPR,62.5,USD/kg\nDY,-1,USD/t\n", None, 5)
    with pytest.raises(SourceError, match="header"):
        parse_csv_document("f", "a,b\n1,2\n", None, 5)


def test_simulated_market_is_seeded_and_decimal():
    a = SimulatedSource("sim", {"X": "100"}, seed=3)
    b = SimulatedSource("sim", {"X": "100"}, seed=3)
    seq_a = [a.fetch()["X"].value for _ in range(5)]
    assert seq_a == [b.fetch()["X"].value for _ in range(5)]
    assert all(isinstance(v, Decimal) for v in seq_a) and len(set(seq_a)) > 1


def _product(**kw):
    base = dict(symbol="NDPR", sources=[{"source": s, "key": "NDPR"} for s in ("a", "b", "c")], min_sources=2,
                outlier_bps=300)
    base.update(kw)
    return ProductConfig.model_validate(base)


def _q(src, value, unit="USD/kg", t=1000):
    return Quote(src, "NDPR", Decimal(value), unit, t)


def test_outlier_is_rejected_naming_the_source():
    agg = aggregate(_product(), {"a": _q("a", "62.5"), "b": _q("b", "62000", "USD/t"), "c": _q("c", "80")}, {}, {}, 1000)
    assert agg.value == Decimal("62.25")
    assert [r.source for r in agg.rejected] == ["c"]
    assert "outlier" in agg.rejected[0].reason and "bps from the median" in agg.rejected[0].reason


def test_not_enough_fresh_sources():
    with pytest.raises(AggregationError, match="1 fresh source") as info:
        aggregate(_product(), {"a": _q("a", "62.5", t=0), "b": _q("b", "62.5", t=99_000)}, {"c": "HTML instead of JSON"},
                  {}, 100_000)
    reasons = {r.source: r.reason for r in info.value.rejected}
    assert "stale" in reasons["a"] and reasons["c"] == "HTML instead of JSON"


def test_ten_x_jump_against_last_published_is_refused():
    p = _product(min_sources=1, sources=[{"source": "a", "key": "NDPR"}])
    with pytest.raises(AggregationError, match="jump"):
        aggregate(p, {"a": _q("a", "625")}, {}, {}, 1000, last_published=Decimal("62.5"))
    with pytest.raises(AggregationError, match="jump"):
        aggregate(p, {"a": _q("a", "6.25")}, {}, {}, 1000, last_published=Decimal("62.5"))
    assert aggregate(p, {"a": _q("a", "70")}, {}, {}, 1000, last_published=Decimal("62.5")).value == 70


def test_publish_policy_deviation_and_heartbeat():
    assert should_publish(100, None, None, 0, 50, 3600).publish
    assert not should_publish(10040, 10000, 1000, 1100, 50, 3600).publish  # 40 bps, 100 s
    assert should_publish(10050, 10000, 1000, 1100, 50, 3600).publish  # 50 bps
    assert should_publish(9950, 10000, 1000, 1100, 50, 3600).publish
    hb = should_publish(10000, 10000, 1000, 4600, 50, 3600)
    assert hb.publish and "heartbeat" in hb.reason
    assert not should_publish(10000, 10000, 1000, 4599, 50, 3600).publish


def _cfg(**over):
    base = {
        "rpc_url": "http://127.0.0.1:1",
        "feed_address": "0x" + "11" * 20,
        "transmitter": {"key_env": "TX"},
        "sources": {"drop": {"kind": "file", "path": "p.csv"}},
        "products": [{"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "drop", "key": "NDPR"}]}],
    }
    base.update(over)
    return base


@pytest.mark.parametrize(
    "over, message",
    [
        ({"products": [{"symbol": "X", "sources": [{"source": "nope", "key": "X"}]}]}, "unknown source 'nope'"),
        ({"products": [{"symbol": "X", "min_sources": 2, "sources": [{"source": "drop", "key": "X"}]}]}, "min_sources"),
        ({"products": [{"symbol": "X", "unit": "USD/bushel", "sources": [{"source": "drop", "key": "X"}]}]},
         "unknown mass unit"),
        ({"products": [{"symbol": "X" * 33, "sources": [{"source": "drop", "key": "X"}]}]}, "longer than 32"),
        ({"sources": {"drop": {"kind": "ftp", "path": "p"}}}, "kind"),
        ({"transmitter": {"keystore": "k.json"}}, "passphrase_env"),
        ({"transmitter": {"keystore": "k.json", "passphrase_env": "P", "key_env": "K"}}, "exactly one"),
        ({"fx": [{"pair": "CNY/USD", "source": "missing", "key": "k"}]}, "fx CNY/USD: unknown source"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_invalid_feeder_config_is_refused_with_a_reason(over, message):
    from pydantic import ValidationError

    from stockpile.oracle.config import FeederConfig

    with pytest.raises(ValidationError, match=message):
        FeederConfig.model_validate(_cfg(**over))


def test_keys_from_env_and_keystore_errors_name_the_place_not_the_secret(tmp_path, monkeypatch):
    from stockpile.oracle.config import KeyConfig
    from eth_account import Account

    from stockpile.oracle.keys import KeyError_, load_account
    from stockpile.sdk.accounts import write_keystore

    secret = "0x" + "ab" * 32
    with pytest.raises(KeyError_, match="ORACLE_X is not set"):
        load_account(KeyConfig(key_env="ORACLE_X"))
    monkeypatch.setenv("ORACLE_X", "0x1234")
    with pytest.raises(KeyError_, match="does not hold a valid private key") as info:
        load_account(KeyConfig(key_env="ORACLE_X"))
    assert "1234" not in str(info.value)
    write_keystore(Account.from_key(secret), tmp_path / "k.json", "pw", kdf="pbkdf2", iterations=1000)  # weak KDF: tests only
    monkeypatch.setenv("PW", "nope")
    with pytest.raises(KeyError_, match="wrong passphrase") as info:
        load_account(KeyConfig(keystore=tmp_path / "k.json", passphrase_env="PW"))
    assert secret[2:] not in str(info.value)
    monkeypatch.setenv("PW", "pw")
    assert load_account(KeyConfig(keystore=tmp_path / "k.json", passphrase_env="PW")).key.hex().endswith("ab" * 32)


@pytest.mark.parametrize("stamp", ["NaN", '"NaN"', "Infinity", '"-Infinity"', '"nan"'])
def test_a_timestamp_that_is_not_a_number_is_refused(stamp):
    """Reproduced (issue 11): `"timestamp": NaN` passed the freshness check (every comparison with
    NaN is false) and the price was published. It is a source error naming the key."""
    body = '{"NDPR": {"price": "62.5", "unit": "USD/kg", "timestamp": ' + stamp + "}}"
    with pytest.raises(SourceError) as info:
        parse_json_document("agency", body, None, 1_800_000_000)
    assert info.value.source == "agency" and "NDPR" in str(info.value) and "timestamp" in str(info.value)


def test_csv_timestamp_that_is_not_a_number_is_refused():
    with pytest.raises(SourceError, match="timestamp"):
        parse_csv_document("desk", "key,price,unit,timestamp\nNDPR,62.5,USD/kg,NaN\n", None, 1_800_000_000)
