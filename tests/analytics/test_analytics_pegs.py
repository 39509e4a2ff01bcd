"""Legal parities: used when no quote of the day is loaded, dated, never stale.

Expected rates are the legal ones, written out by hand: 655.957 XAF or XOF per
EUR, 491.96775 KMF per EUR, 1000 XPF = 8.38 EUR, 110.265 CVE, 1.95583 BAM, 24.5
STN per EUR, and before 1999 50 (to 1994-01-11) then 100 CFA francs per FRF.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from folio.analytics import exposure, lookup_fx, read_pegs, shipped_pegs, value_positions
from folio.errors import ConfigError

NO_RATES = None
QUOTES = ["date", "base", "quote", "rate"]


def rates(currencies, day, base, fx=NO_RATES, **kw):
    days = [day] * len(currencies) if isinstance(day, str) else day
    return lookup_fx(currencies, days, base, fx, **kw)


def test_pegged_currencies_without_any_rate():
    got = rates(["XAF", "XOF", "KMF", "XPF", "CVE", "BAM", "STN"], "2024-03-31", "EUR")
    assert got["fx_rate"].tolist() == pytest.approx(
        [1 / 655.957, 1 / 655.957, 1 / 491.96775, 8.38 / 1000, 1 / 110.265, 1 / 1.95583,
         1 / 24.5], rel=1e-15)
    assert set(got["fx_route"]) == {"peg"}
    assert (got["fx_gap_days"] == 0).all()
    assert (got["fx_date"] == pd.Timestamp("2024-03-31")).all()


def test_two_currencies_pegged_to_one_anchor():
    got = rates(["XOF", "EUR", "KMF"], "2024-03-31", "XAF")
    assert got["fx_rate"].tolist() == pytest.approx([1.0, 655.957, 655.957 / 491.96775],
                                                    rel=1e-15)
    assert set(got["fx_route"]) == {"peg"}


def test_the_1994_devaluation_is_history():
    before = rates(["XAF", "XOF"], "1993-12-31", "FRF")
    after = rates(["XAF", "XOF"], "1994-01-12", "FRF")
    assert before["fx_rate"].tolist() == pytest.approx([1 / 50, 1 / 50])
    assert after["fx_rate"].tolist() == pytest.approx([1 / 100, 1 / 100])
    # Before the euro there is no EUR to reach: missing, not a guess.
    assert rates(["XAF"], "1998-12-31", "EUR")["fx_route"].tolist() == ["missing"]
    # XAF and XOF were one parity apart from the French franc, so at par.
    assert rates(["XAF"], "1990-06-30", "XOF")["fx_rate"].tolist() == [1.0]


def test_periods_of_a_parity():
    # The new dobra from 2018; the old one at 24,500 per EUR until then.
    assert rates(["STN"], "2017-12-31", "EUR")["fx_route"].tolist() == ["missing"]
    assert rates(["STD"], "2017-12-31", "EUR")["fx_rate"].tolist() == pytest.approx([1 / 24_500])
    # The lev keeps the euro conversion rate after euro adoption.
    assert rates(["BGN"], "2026-06-30", "EUR")["fx_rate"].tolist() == pytest.approx([1 / 1.95583])
    # A legacy currency at its conversion rate, chained: FRF -> EUR <- XOF.
    assert rates(["FRF"], "2001-01-31", "XOF")["fx_rate"].tolist() == pytest.approx(
        [655.957 / 6.55957])


def test_a_quote_of_the_day_wins_an_older_quote_does_not():
    fx = pd.DataFrame([("2024-03-31", "EUR", "XAF", 656.0), ("2024-03-28", "EUR", "XOF", 650.0)],
                      columns=QUOTES)
    got = rates(["XAF", "XOF"], "2024-03-31", "EUR", fx)
    assert got["fx_route"].tolist() == ["inverse", "peg"]
    assert got["fx_rate"].tolist() == pytest.approx([1 / 656.0, 1 / 655.957])


def test_peg_then_a_quote_is_dated_by_the_quote():
    fx = pd.DataFrame([("2024-03-21", "EUR", "USD", 1.08)], columns=QUOTES)
    got = rates(["XAF", "USD"], "2024-03-31", "XOF", fx)
    assert got["fx_route"].tolist() == ["peg", "peg_cross"]
    assert got["fx_rate"].tolist() == pytest.approx([1.0, 655.957 / 1.08])
    assert got["fx_gap_days"].tolist() == [0, 10]
    positions = pd.DataFrame({"identifier": ["A", "B"], "quantity": [1.0, 1.0],
                              "market_value": [1_000.0, 1_000.0], "currency": ["XAF", "USD"],
                              "as_of": "2024-03-31"})
    valued = value_positions(positions, base_currency="XOF", fx_rates=fx, stale_days=0)
    assert valued.positions["stale_fx"].tolist() == [False, True]  # a parity is never stale


def test_the_issue_case_a_custodian_file_with_no_rates():
    """XAF, XOF and EUR holdings, nothing loaded: valued at the parity, not at 0."""
    positions = pd.DataFrame({
        "identifier": [f"P{i}" for i in range(6)],
        "quantity": [1.0] * 6,
        "market_value": [1_162_000_000.0, 2_000_000_000.0, 953_000_000.0, 1_000_000_000.0,
                         3_190_000.0, 3_190_000.0],
        "currency": ["XOF", "XOF", "XAF", "XAF", "EUR", "EUR"],
        "as_of": "2024-06-28"})
    valued = value_positions(positions, base_currency="XOF")
    xof, xaf, eur = 3_162_000_000.0, 1_953_000_000.0, 6_380_000.0 * 655.957
    total = xof + xaf + eur
    assert valued.totals()["value"] == pytest.approx(total, rel=1e-15)
    assert valued.totals()["unvalued_positions"] == 0
    shares = exposure(valued, "currency").set_index("bucket")["share"]
    assert shares["EUR"] == pytest.approx(eur / total)
    assert shares["XOF"] == pytest.approx(xof / total)
    assert shares["XAF"] == pytest.approx(xaf / total)
    assert round(shares["EUR"], 2) == 0.45 and round(shares["XAF"], 2) == 0.21


def test_pegs_can_be_switched_off_or_replaced(tmp_path):
    assert rates(["XAF"], "2024-03-31", "EUR", pegs=False)["fx_route"].tolist() == ["missing"]
    own = tmp_path / "mine.csv"
    own.write_text("# a parity of our own\ncurrency,anchor,currency_units,anchor_units,"
                   "valid_from,valid_to\nAAA,USD,2,1,2020-01-01,\n", encoding="utf-8")
    got = rates(["AAA", "XAF"], "2024-03-31", "USD", pegs=own)
    assert got["fx_rate"].iloc[0] == 0.5
    assert got["fx_route"].tolist() == ["peg", "missing"]  # the shipped table is not in it


def test_shipped_table_holds_the_legal_figures():
    table = shipped_pegs()
    current = table[table["valid_to"].isna()].set_index("currency")  # still in force
    for code, per_eur in {"XAF": 655.957, "XOF": 655.957, "KMF": 491.96775, "CVE": 110.265,
                          "BAM": 1.95583, "STN": 24.5, "XPF": 1000 / 8.38}.items():
        assert current.loc[code, "anchor"] == "EUR", code
        assert current.loc[code, "rate"] == pytest.approx(per_eur, rel=1e-15), code
    assert current.loc["XAF", "valid_from"] == pd.Timestamp("1999-01-01")
    assert "DKK" not in set(table["currency"])  # a band, not a parity


@pytest.mark.parametrize("line, column", [
    ("XA,EUR,1,1,2020-01-01,", "currency"),
    ("AAA,EUR,-1,1,2020-01-01,", "currency_units"),
    ("AAA,EUR,1,1,2020-13-01,", "valid_from"),
    ("AAA,EUR,1,1,2020-01-01,2019-01-01", "valid_to"),
])
def test_a_bad_line_is_named(tmp_path, line, column):
    path = tmp_path / "pegs.csv"
    path.write_text("# comment\ncurrency,anchor,currency_units,anchor_units,valid_from,valid_to\n"
                    f"BBB,EUR,1,1,2020-01-01,\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        read_pegs(path)
    assert err.value.row == 4 and err.value.setting == column
    assert "pegs.csv, line 4" in err.value.message


def test_overlaps_and_loops_are_refused(tmp_path):
    head = "currency,anchor,currency_units,anchor_units,valid_from,valid_to\n"
    path = tmp_path / "p.csv"
    path.write_text(head + "AAA,EUR,1,1,2020-01-01,\nAAA,USD,1,1,2021-01-01,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="two parities in force on 2021-01-01"):
        read_pegs(path)
    path.write_text(head + "AAA,BBB,1,1,2020-01-01,\nBBB,AAA,1,1,2020-01-01,\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lead back"):
        read_pegs(path)


def test_identity_and_missing_currency_untouched():
    got = rates(["EUR", ""], "2024-03-31", "EUR")
    assert got["fx_route"].tolist() == ["identity", "missing"]
    assert np.isnan(got["fx_rate"].iloc[1])
