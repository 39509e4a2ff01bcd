"""Exposures and concentration against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_frames import TOTAL_USD

from folio.analytics import (
    UNCLASSIFIED,
    UNVALUED,
    check_limits,
    concentration,
    exposure,
    exposures,
    maturity_bucket,
    value_positions,
)
from folio.errors import ValidationError


def as_dict(table):
    return {r.bucket: (r.value, r.share, r.positions) for r in table.itertuples(index=False)
            if r.bucket != UNVALUED}


def unvalued_row(table):
    """The last row, always the unvalued bucket: unknown value and share, a count."""
    last = table.iloc[-1]
    assert last["bucket"] == UNVALUED and pd.isna(last["value"]) and pd.isna(last["share"])
    return int(last["positions"])


def test_issuer_exposure_with_unclassified_bucket(valued):
    table = exposure(valued, "issuer")
    got = as_dict(table)
    assert got["Republic of Cameroon"][0] == pytest.approx(1_250_000.0)
    assert got["Republic of Cameroon"][1] == pytest.approx(1_250_000.0 / TOTAL_USD)
    # MYSTERY has no issuer anywhere: it is kept, in its own bucket.
    assert got[UNCLASSIFIED][0] == pytest.approx(7_812.5) and got[UNCLASSIFIED][2] == 1
    # Unvalued positions (JPY_BOND: no FX; EQ_NOPRICE: no price) are not put at
    # 0 in their issuer's bucket: they are in the unvalued bucket, counted.
    assert "Japan" not in got and "Orange SA" not in got
    assert unvalued_row(table) == 2
    assert table["positions"].sum() == 7  # no row dropped
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["bucket"].tolist()[:3] == ["Republic of Cameroon", "United States Treasury",
                                            "TotalEnergies SE"]


def test_currency_and_country(valued):
    currency = as_dict(exposure(valued, "currency"))
    assert {k: v[0] for k, v in currency.items()} == pytest.approx(
        {"XAF": 1_250_000.0, "USD": 190_000.0, "EUR": 100_000.0, "XOF": 25_000.0,
         "GBP": 7_812.5})  # no JPY at 0: the JPY bond is unvalued, not worth nothing
    assert currency["EUR"][2] == 1  # EQ_FR; EQ_NOPRICE (EUR, no price) is unvalued
    country = as_dict(exposure(valued, "country"))
    assert country["GB"][0] == pytest.approx(7_812.5)
    assert country["FR"][2] == 1
    assert UNCLASSIFIED not in country


def test_maturity_buckets(valued):
    table = exposure(valued, "maturity", sort="bucket")
    assert table["bucket"].tolist() == ["0-1y", "3-5y", UNCLASSIFIED, UNVALUED]
    got = as_dict(table)
    assert got["0-1y"][0] == pytest.approx(190_000.0)        # UST, 2025-01-31
    assert got["3-5y"][0] == pytest.approx(1_250_000.0)      # BOND_CM, 2027-06-30
    assert got[UNCLASSIFIED][0] == pytest.approx(132_812.5)  # equities and MYSTERY
    assert unvalued_row(table) == 2                          # JPY_BOND (10y+), EQ_NOPRICE


def test_maturity_bucket_edges():
    as_of = ["2024-01-01"] * 7
    labels = maturity_bucket(["2024-06-30", "2025-01-01", "2026-12-31", "2030-01-01",
                              "2040-01-01", None, "2023-06-30"], as_of)
    # 2025-01-01 is 366 days away, past one year of 365.25 days: 1-3y.
    assert labels.tolist() == ["0-1y", "1-3y", "1-3y", "5-10y", "10y+", UNCLASSIFIED, "0-1y"]


def test_sorting(valued):
    by_share_up = exposure(valued, "currency", sort="share", ascending=True)
    assert by_share_up["share"].iloc[:-1].is_monotonic_increasing
    by_name = exposure(valued, "issuer", sort="bucket")
    assert by_name["bucket"].iloc[-2:].tolist() == [UNCLASSIFIED, UNVALUED]
    assert by_name["bucket"].iloc[0] == "Republic of Cameroon"
    with pytest.raises(ValidationError):
        exposure(valued, "issuer", sort="size")
    with pytest.raises(ValidationError) as err:
        exposure(valued, "sector")
    assert err.value.column == "sector"


def test_exposures_all_dimensions(valued):
    tables = exposures(valued)
    assert list(tables) == ["issuer", "country", "region", "currency", "asset_class",
                            "maturity"]
    for table in tables.values():
        assert table["share"].sum() == pytest.approx(1.0)
        assert table["positions"].sum() == 7
        assert unvalued_row(table) == 2


def simple(values_by_issuer):
    rows = [(f"ID{i}", 1.0, v, "EUR", issuer) for i, (issuer, v) in enumerate(values_by_issuer)]
    frame = pd.DataFrame(rows, columns=["identifier", "quantity", "market_value", "currency",
                                        "issuer"]).assign(as_of="2024-01-31")
    return value_positions(frame, base_currency="EUR")


def test_concentration_hand_computed():
    c = concentration(simple([("A", 50.0), ("B", 30.0), ("C", 15.0), ("C", 5.0)]), "issuer")
    assert c.names == 3
    assert c.hhi == pytest.approx(0.25 + 0.09 + 0.04)
    assert c.effective_names == pytest.approx(1 / 0.38)
    assert c.top == {1: pytest.approx(0.5), 5: pytest.approx(1.0), 10: pytest.approx(1.0)}
    assert c.largest == "A" and c.unclassified_share == 0.0
    assert c.to_dict()["top"] == {"top_1": pytest.approx(0.5), "top_5": pytest.approx(1.0),
                                  "top_10": pytest.approx(1.0)}


def test_concentration_leaves_unclassified_out():
    c = concentration(simple([("A", 40.0), ("B", 40.0), (None, 10.0), ("  ", 10.0)]), "issuer")
    assert c.names == 2
    assert c.unclassified_share == pytest.approx(0.2)
    assert c.hhi == pytest.approx(0.16 + 0.16)
    assert c.top[1] == pytest.approx(0.4) and c.top[5] == pytest.approx(0.8)


def test_equal_names_have_effective_number_n():
    c = concentration(simple([(f"I{i}", 10.0) for i in range(8)]), "issuer")
    assert c.effective_names == pytest.approx(8.0)


def test_limits():
    v = simple([("A", 50.0), ("B", 30.0), ("C", 20.0)])
    breaches = check_limits(v, {"issuer": 0.25})
    assert breaches[["bucket", "share", "excess"]].values.tolist() == [
        ["A", pytest.approx(0.5), pytest.approx(0.25)], ["B", pytest.approx(0.3), pytest.approx(0.05)]]
    assert check_limits(v, {"issuer": 0.5}).empty  # at the limit is not a breach
    assert check_limits(v, {"currency": 0.99}).iloc[0]["bucket"] == "EUR"
    with pytest.raises(ValidationError):
        check_limits(v, {"issuer": 10})
    with pytest.raises(ValidationError):
        check_limits(v, {"sector": 0.1})


def test_limits_on_sample_fixture(valued):
    # 2 of 7 positions are unvalued: above the default 5%, nothing is checked.
    unchecked = check_limits(valued, {"issuer": 0.10, "country": 0.35})
    assert unchecked["status"].tolist() == ["unchecked", "unchecked"]
    assert unchecked["bucket"].isna().all()
    assert unchecked["unvalued_share"].tolist() == pytest.approx([2 / 7, 2 / 7])
    # Accepting that much unvalued, the breaches are those of the valued part.
    breaches = check_limits(valued, {"issuer": 0.10, "country": 0.35}, max_unvalued_share=0.5)
    assert (breaches["status"] == "breach").all()
    assert [(b.dimension, b.bucket) for b in breaches.itertuples()] == [
        ("issuer", "Republic of Cameroon"), ("country", "CM"),
        ("issuer", "United States Treasury")]  # 12.1%; US at 12.1% is under 35%
    assert breaches["excess"].iloc[-1] == pytest.approx(190_000 / TOTAL_USD - 0.10)


def test_results_print_readably_without_pandas_options():
    """An exposure, a limits table and a stress breakdown print as people read them:
    XAF amounts with separators and no decimals, shares as percents, never 1.2e+09."""
    from folio.analytics import stress

    frame = pd.DataFrame({
        "identifier": ["CM0000000018", "GA0000000012"], "quantity": [1.0, 1.0],
        "market_value": [1_200_000_000.0, 800_000_000.0], "currency": ["XAF", "XAF"],
        "issuer": ["Cameroon", "Gabon"], "as_of": "2024-03-31"})
    v = value_positions(frame, base_currency="XAF")
    text = repr(exposure(v, "issuer"))
    # 1.2 bn of 2 bn is 60.0%, 0.8 bn is 40.0%
    assert "1,200,000,000" in text and "800,000,000" in text and "60.0%" in text, text
    assert "e+" not in text and ".00" not in text and "unvalued" in text
    limits = repr(check_limits(v, {"issuer": 0.5}))
    assert "Cameroon" in limits and "10.0%" in limits and "e+" not in limits, limits
    # The peg break (-20% of XAF against EUR) leaves XAF amounts in XAF unchanged
    moved = repr(stress(v, "cfa_peg_break").by("currency"))
    assert "2,000,000,000" in moved and "e+" not in moved, moved
    assert isinstance(exposure(v, "issuer"), pd.DataFrame)  # still a frame of numbers
    assert exposure(v, "issuer")["value"].iloc[0] == 1_200_000_000.0
