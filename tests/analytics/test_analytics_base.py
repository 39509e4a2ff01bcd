"""A new portfolio's base currency: by value converted at rates and parities, not raw sums."""

from __future__ import annotations

import pandas as pd
import pytest

import folio
from folio.analytics.base import choose_base_currency
from folio.errors import FolioError

from builders import TOTAL, english_csv

USD_QUOTE = pd.DataFrame([("2024-01-31", "EUR", "USD", 1.25)],
                         columns=["date", "base", "quote", "rate"])


def test_value_not_raw_sums_decides():
    # 5,000,000 XAF is 7,622.45 EUR; 10,000 EUR is more, though a smaller number.
    code, reason = choose_base_currency({"XAF": 5_000_000.0, "EUR": 10_000.0}, "2024-01-31")
    assert code == "EUR"
    eur_share = 10_000 / (10_000 + 5_000_000 / 655.957)
    assert f"EUR {eur_share:.0%}" in reason and "parities" in reason


def test_unconverted_currencies_are_named():
    code, reason = choose_base_currency({"JPY": 9e9, "USD": 100.0, "XOF": 1_000.0},
                                        "2024-01-31", USD_QUOTE)
    # 100 USD = 80 EUR; 1,000 XOF = 1.52 EUR; JPY has no rate and counts for nothing.
    assert code == "USD" and "not counted, no rate: JPY" in reason
    assert choose_base_currency({"JPY": 1.0}, "2024-01-31") == (
        None, "no rate or parity converts JPY on 2024-01-31")


def test_a_new_portfolio_takes_the_currency_of_most_value(tmp_path):
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 100, 100, 10_000, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 100, 50_000, 5_000_000, "XAF", "2024-01-31")])
    folio.import_file(path, "NEW")
    assert folio.portfolios().set_index("name").loc["NEW", "base_currency"] == "EUR"


def test_a_base_currency_that_disagrees_is_an_error(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 1, 10, 10, "EUR", "2024-01-31")])
    folio.create_portfolio("GIVEN", "XAF")
    with pytest.raises(FolioError, match="has base currency XAF, not EUR") as err:
        folio.import_file(path, "GIVEN", base_currency="EUR")
    assert err.value.fields.get("current") == "XAF"
    assert folio.portfolios().set_index("name").loc["GIVEN", "base_currency"] == "XAF"
    folio.import_file(path, "GIVEN", base_currency="xaf")  # the same currency is no conflict


def test_the_result_says_which_base_currency_and_why(tmp_path, store):
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 100, 100, 10_000, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 100, 50_000, 5_000_000, "XAF", "2024-01-31")])
    result = folio.import_file(path, "NEW")
    # 10,000 EUR against 5,000,000 / 655.957 = 7,622.45 EUR: 57% and 43%.
    assert result.base_currency == "EUR"
    assert result.base_currency_reason == (
        "EUR holds the most value converted into EUR at the rates and parities of "
        "2024-01-31 (EUR 57%, XAF 43%)")
    assert f"  base currency: EUR ({result.base_currency_reason})" in result.summary()
    assert "base currency <b>EUR</b>" in result._repr_html_()
    february = english_csv(tmp_path / "february.csv", [
        ("CM0000000018", "SOCAPALM", 1_000, 50_000, 50_000_000, "XAF", "2024-02-29")])
    again = folio.import_file(february, "NEW")  # the portfolio exists: all XAF changes nothing
    assert (again.base_currency, again.base_currency_reason) == (
        "EUR", "the portfolio's base currency")
    asked = folio.import_file(path, "ASKED", base_currency="xaf")
    assert (asked.base_currency, asked.base_currency_reason) == (
        "XAF", "given with the import")
    # A Celery task answers with to_dict(complete=True): the reason survives it.
    back = folio.ImportResult.from_dict(result.to_dict(complete=True))
    assert (back.base_currency, back.base_currency_reason) == (
        result.base_currency, result.base_currency_reason)
    assert result.to_dict()["base_currency"] == "EUR"


def test_a_new_portfolio_is_valued_at_the_rates_of_its_date_not_earlier_or_later(
        tmp_path, store):
    """The store holds rates before, on and after the file's date; only each pair's
    latest on or before it counts (older or later ones would choose USD)."""
    for day, usd, gbp in (("2024-01-15", 1.0, 2.0), ("2024-01-30", 2.0, 0.8),
                          ("2024-02-15", 1.0, 2.0)):
        folio.add_fx_rate("EUR", "USD", usd, day)
        folio.add_fx_rate("EUR", "GBP", gbp, day)
    folio.add_fx_rate("EUR", "JPY", 100.0, "2023-06-30")  # old, and the latest there is
    folio.add_fx_rate("EUR", "CHF", 1.0, "2024-02-01")  # only after the date: no rate
    path = english_csv(tmp_path / "h.csv", [
        ("US0378331005", "Apple", 1, 1_000_000, 1_000_000, "USD", "2024-01-31"),
        ("GB0002374006", "Diageo", 1, 900_000, 900_000, "GBP", "2024-01-31"),
        ("JP3633400001", "Toyota", 1, 10_000_000, 10_000_000, "JPY", "2024-01-31"),
        ("CH0038863350", "Nestle", 1, 5_000_000, 5_000_000, "CHF", "2024-01-31")])
    result = folio.import_file(path, "NEW")
    # On 2024-01-30: 1,000,000 USD / 2.0 = 500,000 EUR; 900,000 GBP / 0.8 =
    # 1,125,000 EUR; 10,000,000 JPY / 100 = 100,000 EUR; CHF none: 1,725,000 EUR.
    assert result.base_currency == "GBP"
    assert result.base_currency_reason == (
        "GBP holds the most value converted into EUR at the rates and parities of "
        "2024-01-31 (GBP 65%, USD 29%, JPY 6%); not counted, no rate: CHF")


def test_nothing_converts_says_what_it_took(tmp_path):
    path = english_csv(tmp_path / "h.csv", [
        ("JP3633400001", "Toyota", 1, 3000, 3000, "JPY", "2024-01-31"),
        ("US0378331005", "Apple", 1, 200, 200, "USD", "2024-01-31")])
    result = folio.import_file(path, "FAR")
    assert result.base_currency == "JPY"
    assert result.base_currency_reason == (
        "no rate or parity converts JPY, USD on 2024-01-31; took JPY, the largest amount "
        "in its own currency")


def test_set_base_currency_changes_what_reports_value_in(tmp_path):
    # 655,957 XAF is 1,000 EUR at the parity; 500 EUR stays 500 EUR.
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 5, 100, 500, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-01-31")])
    folio.import_file(path, "CM", base_currency="XAF")
    assert folio.set_base_currency("CM", " eur ") == "XAF"
    assert folio.portfolios().set_index("name").loc["CM", "base_currency"] == "EUR"
    data = folio.analytics.report("CM")
    assert data["base_currency"] == "EUR"
    assert data["valuation"]["value"] == pytest.approx(1_500.0)
    assert folio.import_file(path, "CM", base_currency="EUR").status == "unchanged"
    with pytest.raises(folio.NotFound, match="no portfolio 'NOPE'"):
        folio.set_base_currency("NOPE", "EUR")
    with pytest.raises(folio.ConfigError, match="'XFA' is not an ISO 4217 code"):
        folio.set_base_currency("CM", "XFA")


def test_status_shows_the_base_currency_and_why_from_the_store(tmp_path, store):
    """``folio status ID`` rebuilds the result from the import record: the base
    currency and its reason are stored with it, not lost."""
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 100, 100, 10_000, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 100, 50_000, 5_000_000, "XAF", "2024-01-31")])
    chosen = folio.import_file(path, "NEW")
    asked = folio.import_file(path, "ASKED", base_currency="XAF")
    for result in (chosen, asked):
        stored = folio.get_import(result.import_id)
        assert (stored.base_currency, stored.base_currency_reason) == (
            result.base_currency, result.base_currency_reason)
    stored = folio.get_import(chosen.import_id)
    # 10,000 EUR against 5,000,000 / 655.957 = 7,622.45 EUR: 57% and 43%.
    assert stored.base_currency_reason == (
        "EUR holds the most value converted into EUR at the rates and parities of "
        "2024-01-31 (EUR 57%, XAF 43%)")
    assert f"  base currency: EUR ({stored.base_currency_reason})" in stored.summary()
    assert folio.get_import(asked.import_id).base_currency_reason == "given with the import"
