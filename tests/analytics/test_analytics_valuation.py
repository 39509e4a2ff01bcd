"""Valuation against hand-computed values (see conftest.py for the arithmetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from analytics_frames import AS_OF, TOTAL_USD

from folio.analytics import FLAGS, lookup_fx, value_positions
from folio.errors import ValidationError


def row(valued, identifier):
    frame = valued.positions
    return frame[frame["identifier"] == identifier].iloc[0]


def test_values_in_base_currency(valued):
    expected = {"BOND_CM": 1_250_000.0, "EQ_FR": 100_000.0, "UST": 190_000.0,
                "MYSTERY": 7_812.5, "EQ_SN": 25_000.0}
    for identifier, value in expected.items():
        assert row(valued, identifier)["value"] == pytest.approx(value, rel=1e-12), identifier
    assert np.isnan(row(valued, "JPY_BOND")["value"])
    assert np.isnan(row(valued, "EQ_NOPRICE")["value"])


def test_cross_rate_through_the_pivot(valued):
    bond = row(valued, "BOND_CM")
    # XAF -> EUR by the legal parity (no EUR/XAF quote on the 31st), then the
    # EUR/USD quote of the 31st: dated by that quote alone.
    assert bond["fx_route"] == "peg_cross"
    assert bond["fx_rate"] == pytest.approx(1.25 / 655.957, rel=1e-12)
    assert bond["fx_date"] == pd.Timestamp("2024-03-31")
    assert bond["fx_gap_days"] == 0
    assert not bond["stale_fx"]
    # Without parities it is the market cross, dated by its older leg (the 28th).
    plain = value_positions(valued.positions[["as_of", "identifier", "quantity", "price",
                                              "currency"]].iloc[:1], base_currency="USD",
                            fx_rates=valued_fx(), pegs=False)
    first = plain.positions.iloc[0]
    assert first["fx_route"] == "cross" and first["fx_gap_days"] == 3
    assert first["fx_rate"] == pytest.approx(1.25 / 655.957, rel=1e-12)


def valued_fx():
    from analytics_frames import fx_frame

    return fx_frame()


def test_direct_inverse_identity_routes(valued):
    assert row(valued, "EQ_FR")["fx_route"] == "direct"
    assert row(valued, "EQ_FR")["fx_rate"] == pytest.approx(1.25)  # not 1.20 (older), not 9.99 (later)
    assert row(valued, "UST")["fx_route"] == "identity"
    quotes = pd.DataFrame([("2024-03-31", "EUR", "USD", 1.25),
                           ("2024-03-28", "EUR", "XAF", 655.957)],
                          columns=["date", "base", "quote", "rate"])
    rates = lookup_fx(["USD", "XAF", "EUR", "GBP"], [AS_OF] * 4, "EUR", quotes, pegs=False)
    assert list(rates["fx_route"]) == ["inverse", "inverse", "identity", "missing"]
    assert rates["fx_rate"].tolist()[:3] == pytest.approx([0.8, 1 / 655.957, 1.0])
    assert np.isnan(rates["fx_rate"].iloc[3])


def test_stale_rate_is_used_and_flagged(valued):
    mystery = row(valued, "MYSTERY")
    assert mystery["fx_gap_days"] == 21
    assert mystery["stale_fx"] and mystery["fx_route"] == "cross"
    assert mystery["fx_rate"] == pytest.approx(1.5625)


def test_stale_threshold_is_configurable(positions, reference):
    loose = value_positions(positions, base_currency="USD", stale_days=30, **reference)
    assert not loose.positions["stale_fx"].any()
    strict = value_positions(positions, base_currency="USD", stale_days=2, **reference)
    # The CFA francs reach EUR by law, never stale: only the 21-day GBP quote is.
    assert set(strict.positions.loc[strict.positions["stale_fx"], "identifier"]) == {"MYSTERY"}
    # Without parities the 3-day-old EUR/XAF and EUR/XOF quotes count as stale too.
    market = value_positions(positions, base_currency="USD", stale_days=2, pegs=False,
                             **reference)
    assert set(market.positions.loc[market.positions["stale_fx"], "identifier"]) == {
        "BOND_CM", "MYSTERY", "EQ_SN"}


def test_missing_price_and_reference_price(valued):
    assert row(valued, "EQ_NOPRICE")["missing_price"]
    assert row(valued, "EQ_NOPRICE")["value_source"] == "missing"
    sn = row(valued, "EQ_SN")
    assert not sn["missing_price"]
    assert sn["value_source"] == "reference_price"
    assert sn["reference_price"] == 13_119.14  # the 29 March price, not April's, not February's
    assert sn["price_date"] == pd.Timestamp("2024-03-29")


def test_bonds_are_priced_per_hundred(valued):
    assert row(valued, "BOND_CM")["is_bond"]           # asset class from the reference
    assert row(valued, "JPY_BOND")["is_bond"]          # "Obligation d'État"
    assert row(valued, "JPY_BOND")["local_value"] == 990_000.0
    assert not row(valued, "EQ_FR")["is_bond"]
    assert row(valued, "BOND_CM")["local_value"] == 655_957_000.0
    assert row(valued, "BOND_CM")["value_source"] == "file_price"


def test_accrued_kept_apart_and_added_for_dirty(valued):
    bond = row(valued, "BOND_CM")
    assert bond["accrued"] == pytest.approx(12_500.0)
    assert bond["dirty_value"] == pytest.approx(1_262_500.0)
    assert row(valued, "EQ_FR")["accrued"] == 0.0


def test_reference_fills_blank_attributes_only(valued):
    bond = row(valued, "BOND_CM")  # blank issuer and country in the file
    assert bond["issuer"] == "Republic of Cameroon" and bond["country"] == "CM"
    assert bond["asset_class_label"] == "Government Bond"  # as the reference wrote it
    assert bond["asset_class"] == "government bond"  # its class in the taxonomy
    assert bond["maturity_date"] == pd.Timestamp("2027-06-30")
    assert row(valued, "UST")["issuer"] == "United States Treasury"
    # The file's own value wins over the reference.
    assert row(valued, "EQ_SN")["issuer"] == "Sonatel SA"
    assert pd.isna(row(valued, "MYSTERY")["issuer"])


def test_flags(valued):
    flagged = {flag: set(valued.positions.loc[valued.positions[flag], "identifier"])
               for flag in FLAGS}
    assert flagged == {"missing_price": {"EQ_NOPRICE"}, "missing_fx": {"JPY_BOND"},
                       "stale_fx": {"MYSTERY"}, "unknown_instrument": {"MYSTERY", "JPY_BOND"},
                       "stale_price": set(),  # EQ_SN's reference price is 2 days old
                       "price_per_100": {"BOND_CM", "JPY_BOND"}}  # near par, per 100


def test_totals_say_how_much_is_flagged(valued):
    totals = valued.totals()
    assert totals["value"] == pytest.approx(TOTAL_USD)
    assert totals["accrued"] == pytest.approx(12_500.0)
    assert totals["dirty_value"] == pytest.approx(TOTAL_USD + 12_500.0)
    assert totals["unvalued_positions"] == 2
    assert totals["flagged_positions"] == 3
    assert totals["flagged_value"] == pytest.approx(7_812.5)
    assert totals["flagged_share"] == pytest.approx(7_812.5 / TOTAL_USD)
    assert totals["flags"]["stale_fx"] == {"positions": 1, "value": pytest.approx(7_812.5),
                                           "unvalued_positions": 0}
    # The JPY bond has no value: not a value of 0.
    assert totals["flags"]["missing_fx"] == {"positions": 1, "value": None,
                                             "unvalued_positions": 1}
    assert totals["as_of"] == AS_OF and totals["base_currency"] == "USD"


def test_no_reference_means_unknown_instruments(positions):
    plain = value_positions(positions, base_currency="USD")
    assert plain.positions["unknown_instrument"].all()
    assert plain.positions.loc[plain.positions["identifier"] == "UST", "value"].item() == 190_000


def test_as_of_argument_and_validation(positions, reference):
    moved = value_positions(positions.drop(columns="as_of"), base_currency="USD",
                            as_of="2024-03-28", **reference)
    # On the 28th EUR/USD was 1.20.
    assert moved.positions.loc[moved.positions["identifier"] == "EQ_FR", "value"].item() == \
        pytest.approx(96_000.0)
    with pytest.raises(ValidationError) as err:
        value_positions(positions.drop(columns="as_of"), base_currency="USD")
    assert err.value.column == "as_of"
    with pytest.raises(ValidationError) as err:
        value_positions(positions.drop(columns="quantity"), base_currency="USD")
    assert err.value.column == "quantity"


def test_several_dates_use_their_own_rates(positions, reference):
    both = pd.concat([positions, positions.assign(as_of="2024-03-28")], ignore_index=True)
    valued = value_positions(both, base_currency="USD", **reference)
    eq = valued.positions[valued.positions["identifier"] == "EQ_FR"]
    assert eq["value"].tolist() == pytest.approx([100_000.0, 96_000.0])
    assert valued.as_of is None and valued.totals()["as_of"] is None
