"""Properties that hold for any book: shares sum to 1, a zero shock is a no-op,
row order does not matter, the change attribution adds up."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folio.analytics import DIMENSIONS, compare_snapshots, exposures, stress, value_positions

FX = pd.DataFrame([("2024-01-25", "EUR", "XAF", 655.957), ("2024-01-31", "EUR", "USD", 1.08),
                   ("2024-02-29", "EUR", "XAF", 655.957), ("2024-02-29", "EUR", "USD", 1.21),
                   ("2024-01-02", "EUR", "GBP", 0.86)],
                  columns=["date", "base", "quote", "rate"])
INSTRUMENTS = pd.DataFrame([("I0", "Gabonese Republic", "GA", 3.5), ("I1", None, "CM", None),
                            ("I2", "Sonatel SA", None, None)],
                           columns=["identifier", "issuer", "country", "modified_duration"])

positions_st = st.lists(st.fixed_dictionaries({
    "identifier": st.sampled_from([f"I{i}" for i in range(6)]),
    "quantity": st.floats(1, 1e9),
    "market_value": st.one_of(st.none(), st.floats(1, 1e10)),
    "price": st.one_of(st.none(), st.floats(0.01, 1e5)),
    "currency": st.sampled_from(["EUR", "XAF", "USD", "GBP", "JPY"]),
    "issuer": st.sampled_from([None, "", "  ", "A", "B", "Republic of Cameroon"]),
    "country": st.sampled_from([None, "CM", "SN", "FR"]),
    "asset_class": st.sampled_from([None, "Equity", "Government Bond", "Obligation d'État"]),
    "maturity_date": st.sampled_from([None, "2024-06-30", "2026-01-15", "2031-12-31",
                                      "2045-01-01"]),
}), min_size=1, max_size=25)


def frame(rows, as_of="2024-01-31"):
    return pd.DataFrame(rows).assign(as_of=as_of)


def valuation(rows, base="EUR", as_of="2024-01-31"):
    return value_positions(frame(rows, as_of), base_currency=base, instruments=INSTRUMENTS,
                           fx_rates=FX)


@settings(max_examples=40, deadline=None)
@given(positions_st, st.sampled_from(["EUR", "XAF", "USD"]))
def test_exposure_shares_sum_to_one(rows, base):
    v = valuation(rows, base)
    total = np.nansum(v.positions["value"])
    unvalued = int(v.positions["value"].isna().sum())
    for dim, table in exposures(v, DIMENSIONS).items():
        assert table["positions"].sum() == len(rows), dim  # nothing dropped
        assert table.iloc[-1]["bucket"] == "unvalued", dim
        assert table.iloc[-1]["positions"] == unvalued, dim
        assert table["value"].sum() == pytest.approx(total, rel=1e-9)
        if total > 0:
            assert table["share"].sum() == pytest.approx(1.0, rel=1e-9), dim


@settings(max_examples=40, deadline=None)
@given(positions_st, st.sampled_from(["EUR", "XAF", "USD"]),
       st.sets(st.sampled_from(["XAF", "USD", "GBP", "JPY", "XOF"])),
       st.sets(st.sampled_from(["Equity", "government bond", "Money Market"])),
       st.sets(st.sampled_from(["CM", "SN", "FR", "US"])),
       st.sampled_from(["value", "dirty_value"]))
def test_zero_shock_changes_nothing(rows, base, currencies, classes, countries, value):
    v = valuation(rows, base)
    scenario = {"fx": dict.fromkeys(currencies, 0.0),
                "price": {"asset_class": dict.fromkeys(classes, 0.0),
                          "country": dict.fromkeys(countries, 0)},
                "rates_bp": {"default": 0, "country": dict.fromkeys(countries, 0.0)}}
    result = stress(v, scenario, value=value)
    before = v.positions[value].to_numpy()
    assert np.array_equal(result.positions["after"].to_numpy(), before, equal_nan=True)
    assert result.totals()["change"] == 0.0


@settings(max_examples=40, deadline=None)
@given(positions_st, st.randoms(use_true_random=False), st.sampled_from(["EUR", "XAF", "USD"]))
def test_valuation_is_invariant_to_row_order(rows, rnd, base):
    shuffled = list(enumerate(rows))
    rnd.shuffle(shuffled)
    va, vb = valuation(rows, base), valuation([r for _, r in shuffled], base)
    a = va.positions.assign(key=range(len(rows)))
    b = vb.positions.assign(key=[i for i, _ in shuffled]).sort_values("key").reset_index(drop=True)
    for column in ("value", "accrued", "fx_rate", "fx_gap_days"):
        assert np.array_equal(a[column].to_numpy(), b[column].to_numpy(), equal_nan=True), column
    for column in ("missing_price", "missing_fx", "stale_fx", "unknown_instrument", "issuer"):
        assert a[column].astype(object).tolist() == b[column].astype(object).tolist(), column
    ta, tb = va.totals(), vb.totals()
    assert ta["value"] == pytest.approx(tb["value"], rel=1e-12)
    for flag, counts in ta["flags"].items():
        assert counts["positions"] == tb["flags"][flag]["positions"], flag
        if counts["value"] is None or tb["flags"][flag]["value"] is None:
            assert counts["value"] is tb["flags"][flag]["value"], flag
        else:
            assert counts["value"] == pytest.approx(tb["flags"][flag]["value"], rel=1e-12), flag


@settings(max_examples=40, deadline=None)
@given(positions_st, positions_st, st.sampled_from(["EUR", "XAF", "USD"]))
def test_attribution_sums_to_total_change(before_rows, after_rows, base):
    changes = compare_snapshots(valuation(before_rows, base, "2024-01-31"),
                                valuation(after_rows, base, "2024-02-29"))
    p = changes.positions
    done = p["quantity_effect"].notna()
    parts = p.loc[done, ["quantity_effect", "price_effect", "fx_effect"]]
    # Exact up to the rounding of the largest term: when a unit price jumps a
    # billionfold, quantity and price effects are huge and of opposite signs.
    scale = max(1.0, float(parts.abs().to_numpy().max(initial=0.0)),
                float(p["change"].abs().max(skipna=True) if done.any() else 0.0))
    assert np.allclose(parts.sum(axis=1), p.loc[done, "change"], rtol=0, atol=1e-12 * scale)
    s = changes.summary()
    assert s["quantity_effect"] + s["price_effect"] + s["fx_effect"] == \
        pytest.approx(s["change"], rel=1e-9, abs=1e-6 * scale)
    assert s["added"] + s["removed"] + s["changed"] + s["unchanged"] == len(p)
