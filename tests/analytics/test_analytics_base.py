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
