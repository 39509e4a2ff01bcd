"""Scenarios checked (a typo is an error naming file, key and known values), scenarios
composed, and the 1994 CFA devaluation; every figure worked out by hand below."""

from __future__ import annotations

import pandas as pd
import pytest

from folio.analytics import load_scenario, scenario_from_dict, stress, value_positions
from folio.errors import ValidationError

AS_OF = "2024-01-01"
FX = pd.DataFrame([(AS_OF, "EUR", "XAF", 655.957), (AS_OF, "EUR", "XOF", 655.957)],
                  columns=["date", "base", "quote", "rate"])
INSTRUMENTS = pd.DataFrame([
    ("CMB", "Republic of Cameroon", "CM", "Government Bond", "2029-06-15", 6.25, 4.0),
], columns=["identifier", "issuer", "country", "asset_class", "maturity_date", "coupon",
            "modified_duration"])


def book(base="EUR"):
    """CMB: 655,957,000 XAF = 1,000,000 EUR, a Cameroon bond of modified duration 4.
    TTE: 100,000 EUR of French equity labelled in French. SNE: 65,595,700 XOF =
    100,000 EUR of Senegalese equity."""
    frame = pd.DataFrame([
        ("CMB", 655_957_000.0, 655_957_000.0, "XAF", "CM", "Government Bond", None),
        ("TTE", 1_000.0, 100_000.0, "EUR", "FR", "Actions", "TotalEnergies SE"),
        ("SNE", 1_000.0, 65_595_700.0, "XOF", "SN", "Equities", "Sonatel"),
    ], columns=["identifier", "quantity", "market_value", "currency", "country", "asset_class",
                "issuer"]).assign(as_of=AS_OF)
    return value_positions(frame, base_currency=base, instruments=INSTRUMENTS, fx_rates=FX)


def after(result):
    return dict(zip(result.positions["identifier"], result.positions["after"], strict=True))


def test_named_scenarios_compose():
    result = stress(book(), ["cfa_peg_break", "em_rates_200bp"])
    # CMB: XAF -20% and CM +200bp at duration 4: 1,000,000 x 0.8 x (1 - 4 x 0.02) = 736,000.
    # SNE: XOF -20% (an equity: no rate move) = 80,000. TTE in EUR: unchanged.
    assert after(result) == pytest.approx({"CMB": 736_000.0, "TTE": 100_000.0, "SNE": 80_000.0})
    totals = result.totals()
    assert totals["scenarios"] == ["cfa_peg_break", "em_rates_200bp"]
    assert totals["change"] == pytest.approx(736_000 + 100_000 + 80_000 - 1_200_000)


def test_composed_moves_compound_and_rate_shifts_add():
    fx = stress(book(), [{"fx": {"XAF": -0.2}}, {"fx": {"XAF": -0.1}}])
    assert after(fx)["CMB"] == pytest.approx(1_000_000 * 0.8 * 0.9)
    # Each scenario's most specific shift, then added: 100bp + 50bp = 150bp, not 100bp.
    rates = stress(book(), [{"rates_bp": {"country": {"CM": 100}}}, {"rates_bp": {"default": 50}}])
    assert after(rates)["CMB"] == pytest.approx(1_000_000 * (1 - 4 * 0.015))
    assert rates.positions["rate_shift"].iloc[0] == pytest.approx(0.015)


def test_the_1994_devaluation_halves_the_francs_against_the_french_franc():
    eur = stress(book("EUR"), "cfa_devaluation_1994")
    assert after(eur) == pytest.approx({"CMB": 500_000.0, "TTE": 100_000.0, "SNE": 50_000.0})
    xaf = stress(book("XAF"), "cfa_devaluation_1994")
    # In francs, a euro holding doubles: 65,595,700 XAF x 2.
    assert after(xaf) == pytest.approx({"CMB": 655_957_000.0, "TTE": 131_191_400.0,
                                        "SNE": 65_595_700.0})
    scenario = load_scenario("cfa_devaluation_1994")
    assert scenario.pivot == "FRF" and scenario.fx["KMF"] == pytest.approx(-1 / 3)


def test_asset_classes_match_by_taxonomy_class():
    # "Equity" in a scenario shocks positions labelled Actions and Equities.
    result = stress(book(), {"price": {"asset_class": {"Equity": -0.3}}})
    assert after(result) == pytest.approx({"CMB": 1_000_000.0, "TTE": 70_000.0, "SNE": 70_000.0})
    french = stress(book(), {"price": {"asset_class": {"Obligation d’État": -0.1}}})
    assert after(french)["CMB"] == pytest.approx(900_000.0)


def test_a_region_is_its_members_and_a_member_named_keeps_its_figure():
    result = stress(book(), {"price": {"country": {"UEMOA": -0.1, "CEMAC": -0.2, "CM": -0.5}}})
    assert after(result) == pytest.approx({"CMB": 500_000.0, "TTE": 100_000.0, "SNE": 90_000.0})


def test_an_issuer_the_portfolio_holds_is_shocked_and_a_typo_is_an_error():
    assert after(stress(book(), {"price": {"issuer": {"republic of cameroon": -0.1}}}))[
        "CMB"] == pytest.approx(900_000.0)
    with pytest.raises(ValidationError) as err:
        stress(book(), scenario_from_dict({"price": {"issuer": {"Republic of Camerun": -0.1}}},
                                          source="mine.yaml"))
    assert (err.value.file, err.value.key) == ("mine.yaml", "price.issuer.Republic of Camerun")
    assert "did you mean Republic of Cameroon?" in err.value.message
    assert err.value.fields["known"] == ["Republic of Cameroon", "Sonatel", "TotalEnergies SE"]


@pytest.mark.parametrize("text, key, hint", [
    ("fx:\n  XFA: -0.2\n", "fx.XFA", "did you mean XAF"),
    ("pivot: EURO\nfx:\n  XAF: -0.2\n", "pivot", "unknown currency 'EURO'"),
    ("price:\n  asset_class:\n    Equty: -0.3\n", "price.asset_class.Equty", "did you mean equity"),
    ("price:\n  currency:\n    XFO: -0.1\n", "price.currency.XFO", "did you mean XOF"),
    ("price:\n  country:\n    Cameroun: -0.1\n", "price.country.Cameroun", "unknown country"),
    ("rates_bp:\n  country:\n    CMR: 200\n", "rates_bp.country.CMR", "did you mean CM or"),
    ("rates_bp:\n  currency:\n    XFA: 150\n", "rates_bp.currency.XFA", "did you mean XAF"),
])
def test_a_typo_in_a_scenario_file_names_file_key_and_known_values(tmp_path, text, key, hint):
    path = tmp_path / "typo.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_scenario(path)
    assert (err.value.file, err.value.key) == ("typo.yaml", key)
    assert err.value.message.startswith(f"typo.yaml: {key}: unknown ") and hint in err.value.message
    assert "Known: " in err.value.message and err.value.fields["known"]


def test_the_known_values_are_the_vocabularies():
    with pytest.raises(ValidationError) as err:
        scenario_from_dict({"price": {"asset_class": {"Equty": -0.3}}}, source="s.yaml")
    assert err.value.fields["known"] == sorted(["equity", "government bond", "corporate bond",
                                                "bond", "money market", "fund", "cash", "other"])
    with pytest.raises(ValidationError) as err:
        scenario_from_dict({"fx": {"XFA": -0.2}}, source="s.yaml")
    assert {"XAF", "XOF", "EUR", "FRF", "DEM"} <= set(err.value.fields["known"])
    with pytest.raises(ValidationError) as err:
        scenario_from_dict({"rates_bp": {"country": {"CEMA": 100}}}, source="s.yaml")
    assert {"CM", "SN", "CEMAC", "UEMOA"} <= set(err.value.fields["known"])


def test_two_labels_of_one_class_with_different_shocks_are_an_error():
    with pytest.raises(ValidationError, match="'Actions' is equity, already shocked by -0.3"):
        scenario_from_dict({"price": {"asset_class": {"Equity": -0.3, "Actions": -0.2}}})
