"""No silent zero: a position without a value is unvalued, counted apart, never 0.

Over the hand-computed fixture (``analytics_frames``): JPY_BOND has no FX rate
(990,000 JPY known locally), EQ_NOPRICE no price, so 2 of 7 positions are
unvalued and the valued total is TOTAL_USD.
"""

from __future__ import annotations

import pandas as pd
import pytest
from analytics_frames import TOTAL_USD

from folio.analytics import (
    UNVALUED,
    build_report,
    check_limits,
    compare_snapshots,
    concentration,
    exposure,
    format_report,
    history,
    stress,
    value_positions,
)
from folio.config import configure
from folio.errors import Unvalued


def reasons(valued):
    frame = valued.positions
    return dict(zip(frame["identifier"], frame["unvalued_reason"].astype(object), strict=True))


def test_each_unvalued_position_says_why(positions, reference):
    ghost = positions.iloc[[0]].assign(identifier="GHOST", price=float("nan"),
                                       currency="EUR")  # no reference, no price
    valued = value_positions(pd.concat([positions, ghost], ignore_index=True),
                             base_currency="USD", **reference)
    got = reasons(valued)
    assert got["JPY_BOND"] == "no_fx"
    assert got["EQ_NOPRICE"] == "no_price"
    assert got["GHOST"] == "unknown_instrument"
    assert all(pd.isna(got[i]) for i in ("BOND_CM", "EQ_FR", "UST", "MYSTERY", "EQ_SN"))
    assert valued.positions["unvalued"].sum() == 3
    assert valued.positions.loc[valued.positions["unvalued"], "value"].isna().all()


def test_totals_count_the_unvalued_apart(valued):
    t = valued.totals()
    assert t["value"] == pytest.approx(TOTAL_USD)
    assert (t["positions"], t["valued_positions"], t["unvalued_positions"]) == (7, 5, 2)
    assert t["unvalued_share"] == pytest.approx(2 / 7)
    assert t["unvalued"] == {"unknown_instrument": 0, "no_price": 1, "no_fx": 1}
    assert t["unvalued_local"] == {"JPY": 990_000.0}  # 1,000,000 x 99 / 100, not converted


def test_every_exposure_ends_with_the_unvalued_bucket(valued):
    for dim in ("issuer", "country", "currency", "asset_class", "maturity"):
        table = exposure(valued, dim)
        last = table.iloc[-1]
        assert last["bucket"] == UNVALUED and last["positions"] == 2, dim
        assert pd.isna(last["value"]) and pd.isna(last["share"]), dim
        # Shares are of the valued total, and sum to 1 over the valued buckets.
        assert table["share"].iloc[:-1].sum() == pytest.approx(1.0), dim
        assert table["value"].iloc[:-1].sum() == pytest.approx(TOTAL_USD), dim


def test_no_unvalued_still_has_the_bucket_empty():
    frame = pd.DataFrame({"identifier": ["A"], "quantity": [1.0], "market_value": [5.0],
                          "currency": ["EUR"], "as_of": "2024-01-31"})
    table = exposure(value_positions(frame, base_currency="EUR"), "currency")
    assert table["bucket"].tolist() == ["EUR", UNVALUED]
    assert table["positions"].tolist() == [1, 0]


def test_concentration_and_limits_say_when_they_cannot_be_trusted(valued):
    c = concentration(valued, "issuer")  # default threshold 5% of positions
    assert c.unvalued_share == pytest.approx(2 / 7) and not c.trusted
    assert concentration(valued, "issuer", max_unvalued_share=0.3).trusted
    limits = check_limits(valued, {"issuer": 0.10})
    assert limits.to_dict("records")[0]["status"] == "unchecked"
    assert len(limits) == 1 and pd.isna(limits["bucket"].iloc[0])


def test_the_threshold_is_a_setting(valued, monkeypatch):
    monkeypatch.setenv("FOLIO_MAX_UNVALUED_SHARE", "0.3")
    assert concentration(valued, "issuer").trusted
    with configure(max_unvalued_share=0.2):
        assert not concentration(valued, "issuer").trusted


def test_report_states_the_unvalued_and_checks_no_limit(valued):
    data = build_report(valued, portfolio="FIXTURE", limits={"issuer": 0.10})
    val = data["valuation"]
    assert val["unvalued_positions"] == 2 and not val["trusted"]
    assert val["unvalued"]["no_fx"] == 1 and val["unvalued_local"] == {"JPY": 990_000.0}
    assert data["concentration"]["limits_checked"] is False
    assert data["concentration"]["breaches"] == []
    assert data["concentration"]["issuer"]["trusted"] is False
    text = format_report(data)
    assert "UNVALUED" in text and "NOT CHECKED" in text and "NOT TRUSTED" in text
    assert "BREACH" not in text


def test_strict_refuses(valued, positions, reference):
    with pytest.raises(Unvalued) as err:
        build_report(valued, strict=True)
    assert err.value.positions == 2
    assert err.value.reasons == {"no_price": 1, "no_fx": 1}
    assert err.value.identifiers == ["EQ_NOPRICE", "JPY_BOND"]
    with pytest.raises(Unvalued):
        value_positions(positions, base_currency="USD", strict=True, **reference)
    complete = positions[~positions["identifier"].isin(["EQ_NOPRICE", "JPY_BOND"])]
    value_positions(complete, base_currency="USD", strict=True, **reference)  # no error


def test_stress_counts_the_unvalued_apart(valued):
    result = stress(valued, {"fx": {"XAF": -0.2}})
    t = result.totals()
    assert t["unvalued_positions"] == 2 and t["positions"] == 7
    assert t["before"] == pytest.approx(TOTAL_USD)
    assert t["change"] == pytest.approx(-0.2 * 1_250_000.0)
    by = result.by("currency")
    assert by["bucket"].iloc[-1] == UNVALUED and by["positions"].iloc[-1] == 2
    assert pd.isna(by["change"].iloc[-1])


def test_changes_and_history_count_the_unvalued_apart():
    fx = pd.DataFrame([("2024-01-31", "EUR", "USD", 1.25)], columns=["date", "base", "quote",
                                                                      "rate"])
    cols = ["as_of", "identifier", "quantity", "market_value", "currency"]
    before = value_positions(pd.DataFrame([("2024-01-31", "A", 1.0, 100.0, "EUR"),
                                           ("2024-01-31", "J", 1.0, 100.0, "JPY")],
                                          columns=cols), base_currency="EUR", fx_rates=fx)
    after = value_positions(pd.DataFrame([("2024-02-29", "A", 1.0, 110.0, "EUR"),
                                          ("2024-02-29", "J", 1.0, 100.0, "JPY")],
                                         columns=cols), base_currency="EUR", fx_rates=fx)
    s = compare_snapshots(before, after).summary()
    assert (s["unvalued_before"], s["unvalued_after"], s["unattributed"]) == (1, 1, 1)
    assert s["change"] == pytest.approx(10.0)  # A alone; J is not a change to or from 0
    both = value_positions(pd.concat([before.positions[cols], after.positions[cols]]),
                           base_currency="EUR", fx_rates=fx)
    table = history(both)
    assert table["unvalued_positions"].tolist() == [1, 1]
    assert table["unvalued_share"].tolist() == [0.5, 0.5]
    assert table["value"].tolist() == pytest.approx([100.0, 110.0])
