"""Changes between snapshots (attribution worked out by hand) and history."""

from __future__ import annotations

import pandas as pd
import pytest

from folio.analytics import compare_snapshots, exposure_history, history, value_positions
from folio.errors import ValidationError

# 1 EUR = 1.25 USD on the 31st of January, 1 EUR = 1 USD on the 29th of February.
FX = pd.DataFrame([("2024-01-31", "EUR", "USD", 1.25), ("2024-02-29", "EUR", "USD", 1.0)],
                  columns=["date", "base", "quote", "rate"])
COLUMNS = ["as_of", "identifier", "quantity", "market_value", "currency", "asset_class"]
BEFORE = [("2024-01-31", "A", 100.0, 1_000.0, "EUR", "Equity"),      # 10 per share
          ("2024-01-31", "B", 1_000.0, 1_000.0, "USD", "Bond"),      # 800 EUR
          ("2024-01-31", "C", 10.0, 50.0, "EUR", "Equity")]          # sold
AFTER = [("2024-02-29", "A", 120.0, 1_320.0, "EUR", "Equity"),       # 11 per share
         ("2024-02-29", "B", 1_000.0, 1_100.0, "USD", "Bond"),       # 1,100 EUR
         ("2024-02-29", "D", 5.0, 200.0, "EUR", "Equity")]           # bought


def value(rows, base="EUR"):
    return value_positions(pd.DataFrame(rows, columns=COLUMNS), base_currency=base, fx_rates=FX)


def test_attribution_by_hand():
    changes = compare_snapshots(value(BEFORE), value(AFTER))
    got = changes.positions.set_index("identifier")
    assert got["status"].to_dict() == {"A": "changed", "B": "unchanged", "C": "removed",
                                       "D": "added"}
    # A: quantity (120-100) x 10 = 200, price 120 x (11-10) = 120, no FX.
    assert got.loc["A", ["quantity_effect", "price_effect", "fx_effect"]].tolist() == \
        pytest.approx([200.0, 120.0, 0.0])
    # B: price 1000 x (1.1-1.0) x 0.8 = 80; FX 1000 x 1.1 x (1.0-0.8) = 220.
    assert got.loc["B", ["quantity_effect", "price_effect", "fx_effect"]].tolist() == \
        pytest.approx([0.0, 80.0, 220.0])
    assert got.loc["C", ["change", "quantity_effect", "price_effect", "fx_effect"]].tolist() == \
        pytest.approx([-50.0, -50.0, 0.0, 0.0])
    assert got.loc["D", ["change", "quantity_effect", "price_effect", "fx_effect"]].tolist() == \
        pytest.approx([200.0, 200.0, 0.0, 0.0])
    assert pd.isna(got.loc["D", "quantity_before"]) and got.loc["C", "value_after"] != 0


def test_summary_sums_exactly():
    summary = compare_snapshots(value(BEFORE), value(AFTER)).summary()
    assert summary["value_before"] == pytest.approx(1_850.0)
    assert summary["value_after"] == pytest.approx(2_620.0)
    assert summary["change"] == pytest.approx(770.0)
    assert (summary["quantity_effect"], summary["price_effect"], summary["fx_effect"]) == \
        pytest.approx((350.0, 200.0, 220.0))
    assert summary["quantity_effect"] + summary["price_effect"] + summary["fx_effect"] == \
        pytest.approx(summary["change"], rel=1e-15)
    assert {k: summary[k] for k in ("added", "removed", "changed", "unchanged")} == \
        {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}


def test_unchanged_rate_gives_exactly_zero_fx_effect():
    got = compare_snapshots(value(BEFORE), value(AFTER)).positions.set_index("identifier")
    assert got.loc["A", "fx_effect"] == 0.0


def test_lines_of_one_instrument_are_summed():
    split = [("2024-01-31", "A", 60.0, 600.0, "EUR", "Equity"),
             ("2024-01-31", "A", 40.0, 400.0, "EUR", "Equity"), *BEFORE[1:]]
    got = compare_snapshots(value(split), value(AFTER)).positions.set_index("identifier")
    assert got.loc["A", "quantity_before"] == 100.0
    assert got.loc["A", "price_effect"] == pytest.approx(120.0)


def test_unknown_value_is_not_attributed():
    no_fx = [(*BEFORE[0][:4], "JPY", "Equity"), *BEFORE[1:]]
    changes = compare_snapshots(value(no_fx), value(AFTER))
    summary = changes.summary()
    # A in JPY (no rate) is removed with an unknown value; A in EUR is added.
    assert summary["unattributed"] == 1
    rows = changes.positions.set_index(["identifier", "currency"])
    assert rows.loc[("A", "JPY"), "status"] == "removed"
    assert pd.isna(rows.loc[("A", "JPY"), "quantity_effect"])
    assert rows.loc[("A", "EUR"), "quantity_effect"] == pytest.approx(1_320.0)
    assert summary["quantity_effect"] + summary["price_effect"] + summary["fx_effect"] == \
        pytest.approx(summary["change"])


def test_base_currencies_must_agree():
    with pytest.raises(ValidationError):
        compare_snapshots(value(BEFORE, "EUR"), value(AFTER, "USD"))


def test_history_totals_and_shares():
    both = value(BEFORE + AFTER)
    table = history(both)
    assert table["as_of"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-31", "2024-02-29"]
    assert table["value"].tolist() == pytest.approx([1_850.0, 2_620.0])
    assert table["positions"].tolist() == [3, 3]
    shares = exposure_history(both, "currency")
    assert shares.loc[pd.Timestamp("2024-01-31")].to_dict() == pytest.approx(
        {"EUR": 1_050 / 1_850, "USD": 800 / 1_850})
    assert shares.loc[pd.Timestamp("2024-02-29")].to_dict() == pytest.approx(
        {"EUR": 1_520 / 2_620, "USD": 1_100 / 2_620})
    assert shares.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
