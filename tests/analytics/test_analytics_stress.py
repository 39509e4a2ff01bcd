"""Stress scenarios against hand-computed values, and scenario file checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from folio.analytics import (
    list_scenarios,
    load_scenario,
    scenario_from_dict,
    stress,
    value_positions,
)
from folio.errors import ConfigError, NotFound, ValidationError

AS_OF = "2024-01-01"
FX = pd.DataFrame([(AS_OF, "EUR", "XAF", 655.957), (AS_OF, "EUR", "XOF", 655.957),
                   (AS_OF, "EUR", "USD", 1.25)], columns=["date", "base", "quote", "rate"])
INSTRUMENTS = pd.DataFrame([
    ("CMB", "Republic of Cameroon", "CM", "Government Bond", "2029-06-15", 6.25, 4.0),
    ("USB", "United States Treasury", "US", "Government Bond", "2029-01-01", 5.0, None),
], columns=["identifier", "issuer", "country", "asset_class", "maturity_date", "coupon",
            "modified_duration"])


def book(base="EUR"):
    """100,000 EUR in each of four positions plus 900,000 EUR more of the XAF bond."""
    frame = pd.DataFrame([
        ("CMB", 655_957_000.0, 655_957_000.0, 6_559_570.0, "XAF", "CM", "Government Bond"),
        ("TTE", 1_000.0, 100_000.0, 0.0, "EUR", "FR", "Equity"),
        ("USB", 125_000.0, 125_000.0, 0.0, "USD", "US", "Government Bond"),
        ("SNE", 1_000.0, 65_595_700.0, 0.0, "XOF", "SN", "Actions"),
    ], columns=["identifier", "quantity", "market_value", "accrued_interest", "currency",
                "country", "asset_class"]).assign(as_of=AS_OF)
    return value_positions(frame, base_currency=base, instruments=INSTRUMENTS, fx_rates=FX)


def after(result):
    return dict(zip(result.positions["identifier"], result.positions["after"], strict=True))


def test_cfa_peg_break_in_euros():
    result = stress(book("EUR"), "cfa_peg_break")
    assert after(result) == pytest.approx({"CMB": 800_000.0, "TTE": 100_000.0,
                                           "USB": 100_000.0, "SNE": 80_000.0})
    totals = result.totals()
    assert totals["before"] == pytest.approx(1_300_000.0)
    assert totals["change"] == pytest.approx(-220_000.0)
    by = result.by("currency").set_index("bucket")
    assert by.loc["XAF", "change"] == pytest.approx(-200_000.0)
    assert by.loc["XAF", "change_share"] == pytest.approx(-0.2)
    assert by.loc["EUR", "change"] == 0.0


def test_cfa_peg_break_in_francs_lifts_foreign_holdings():
    result = stress(book("XAF"), "cfa_peg_break")
    got = after(result)
    assert got["TTE"] == pytest.approx(65_595_700.0 * 1.25)   # 1 / 0.8
    assert got["CMB"] == pytest.approx(655_957_000.0)        # home currency
    assert got["SNE"] == pytest.approx(65_595_700.0)         # XOF moves with XAF


def test_equity_crash_matches_labels_ignoring_case():
    result = stress(book(), "equity_crash_30")
    assert after(result) == pytest.approx({"CMB": 1_000_000.0, "TTE": 70_000.0,
                                           "USB": 100_000.0, "SNE": 70_000.0})


def test_em_rates_use_reference_duration():
    result = stress(book(), "em_rates_200bp")
    row = result.positions.set_index("identifier").loc["CMB"]
    assert row["duration"] == 4.0 and row["duration_source"] == "reference"
    assert row["after"] == pytest.approx(1_000_000.0 * (1 - 4.0 * 0.02))
    assert after(result)["USB"] == 100_000.0  # US is not an emerging market here
    assert not result.positions["duration_approx"].any()


def test_rate_shock_without_duration_is_approximated_and_flagged():
    result = stress(book(), {"rates_bp": {"currency": {"USD": 100}}})
    row = result.positions.set_index("identifier").loc["USB"]
    years = 1827 / 365.25  # 2024-01-01 to 2029-01-01
    duration = (1 - 1.05 ** -years) / 0.05  # par bond at its 5% coupon
    assert duration == pytest.approx(4.33, abs=0.01)
    assert row["duration"] == pytest.approx(duration)
    assert row["duration_approx"] and row["duration_source"] == "maturity_approx"
    assert row["after"] == pytest.approx(100_000.0 * (1 - duration * 0.01))
    assert result.totals()["duration_approx_positions"] == 1
    assert result.totals()["duration_approx_value"] == pytest.approx(100_000.0)


def test_most_specific_rate_shift_wins_and_equities_ignore_rates():
    scenario = {"rates_bp": {"default": 50, "currency": {"XAF": 100}, "country": {"cm": 300}}}
    shift = stress(book(), scenario).positions.set_index("identifier")["rate_shift"]
    assert shift.to_dict() == pytest.approx({"CMB": 0.03, "TTE": 0.0, "USB": 0.005, "SNE": 0.0})


def test_price_shocks_compound():
    result = stress(book(), {"price": {"asset_class": {"EQUITY": -0.3}, "country": {"FR": -0.1}}})
    assert after(result)["TTE"] == pytest.approx(100_000.0 * 0.7 * 0.9)


def test_dirty_value_moves_accrued_with_fx_only():
    result = stress(book(), {"fx": {"XAF": -0.2}, "rates_bp": {"default": 100}}, value="dirty_value")
    row = result.positions.set_index("identifier").loc["CMB"]
    assert row["before"] == pytest.approx(1_010_000.0)
    assert row["after"] == pytest.approx(1_000_000.0 * 0.96 * 0.8 + 10_000.0 * 0.8)


def test_bond_without_duration_or_maturity_is_left_unshocked_and_flagged():
    frame = pd.DataFrame([("X1", 100.0, 100.0, "EUR", "Corporate Bond")],
                         columns=["identifier", "quantity", "market_value", "currency",
                                  "asset_class"]).assign(as_of=AS_OF)
    result = stress(value_positions(frame, base_currency="EUR"), {"rates_bp": {"default": 200}})
    assert result.positions["rate_unshocked"].tolist() == [True]
    assert result.positions["after"].tolist() == [100.0]
    assert result.totals()["rate_unshocked_positions"] == 1


def test_zero_shock_changes_nothing():
    valuation = book()
    zero = {"fx": {"XAF": 0.0, "USD": 0}, "price": {"asset_class": {"Equity": 0.0}},
            "rates_bp": {"default": 0, "country": {"CM": 0}}}
    result = stress(valuation, zero)
    assert np.array_equal(result.positions["after"], valuation.positions["value"])
    assert result.totals()["change"] == 0.0


def test_shocks_floor_at_zero():
    result = stress(book(), {"rates_bp": {"country": {"CM": 5000}}})  # 4 x 50% > 100%
    assert after(result)["CMB"] == 0.0


def test_shipped_scenarios_load():
    assert {"cfa_peg_break", "em_rates_200bp", "equity_crash_30"} <= set(list_scenarios())
    for name in list_scenarios():
        scenario = load_scenario(name)
        assert scenario.name and scenario.source == f"{name}.yaml"
    assert load_scenario("cfa_peg_break").fx == {"XAF": -0.2, "XOF": -0.2}


@pytest.mark.parametrize("data, key", [
    ({"fx": {"EUR": -0.1}}, "fx.EUR"),
    ({"fx": {"XAF": "a lot"}}, "fx.XAF"),
    ({"fx": {"XAF": -1.5}}, "fx.XAF"),
    ({"price": {"sector": {"Banks": -0.1}}}, "price.sector"),
    ({"price": {"asset_class": ["Equity"]}}, "price.asset_class"),
    ({"rates_bp": {"rating": {"B": 100}}}, "rates_bp.rating"),
    ({"rates_bp": {"country": {"CM": None}}}, "rates_bp.country.CM"),
    ({"shocks": {}}, "shocks"),
])
def test_bad_scenario_names_the_key(data, key):
    with pytest.raises(ValidationError) as err:
        scenario_from_dict(data, source="mine.yaml")
    assert err.value.key == key and err.value.file == "mine.yaml"
    assert "mine.yaml" in str(err.value) and key in str(err.value)


def test_bad_scenario_files(tmp_path):
    (tmp_path / "broken.yaml").write_text("fx: {XAF: -0.2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scenario("broken", folder=tmp_path)
    assert err.value.file.endswith("broken.yaml")
    (tmp_path / "wrong.yaml").write_text("fx:\n  XAF: twenty\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(tmp_path / "wrong.yaml")
    assert (err.value.file, err.value.key) == ("wrong.yaml", "fx.XAF")
    with pytest.raises(NotFound) as err:
        load_scenario("no_such_scenario")
    assert err.value.kind == "scenario" and "cfa_peg_break" in err.value.message
