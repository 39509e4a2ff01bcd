"""Cell parsing: numbers, dates, ISINs and currencies as custodians write them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from folio.errors import ConfigError, MappingError
from folio.ingest.columns import normalise, resolve
from folio.ingest.parse import (
    check_currencies,
    check_isins,
    decimal_votes,
    detect_decimal,
    either_mark,
    parse_dates,
    parse_numbers,
)


def numbers(values, decimal):
    parsed, invalid = parse_numbers(pd.Series(values, dtype="str"), decimal)
    return [None if np.isnan(v) else v for v in parsed], invalid.tolist()


@pytest.mark.parametrize("text,decimal,value", [
    ("1 234 567,89", ",", 1234567.89),
    ("1\u00a0234,5", ",", 1234.5),
    ("1.234.567,89", ",", 1234567.89),
    ("1,234,567.89", ".", 1234567.89),
    ("1'250'000.50", ".", 1250000.50),
    ("(1 000,00)", ",", -1000.0),
    ("1.234,56-", ",", -1234.56),  # the minus after (SAP)
    ("18550.00-", ".", -18550.0),
    ("100-", ".", -100.0),
    ("-12.5", ".", -12.5),
    ("60,5", ",", 60.5),
    ("45000", ".", 45000.0),
])
def test_numbers(text, decimal, value):
    assert numbers([text], decimal) == ([pytest.approx(value)], [False])


def test_invalid_numbers_are_flagged_not_guessed():
    values, invalid = numbers(["12 5OO,00", "n/a", "", "1e400", "NaN", "3", "-12-", "12--"],
                              ",")
    # "n/a" says "no value", as exports write it: empty, not a number to guess.
    assert invalid == [True, False, False, True, True, False, True, True]
    assert values[1] is None and values[2] is None and values[5] == 3


def test_decimal_comma_is_detected_from_the_column():
    cols = [pd.Series(["1 000,50", "2,25", "3"], dtype="str")]
    assert detect_decimal(cols, ";") == ","
    assert detect_decimal([pd.Series(["1,000.50", "2.25"], dtype="str")], ",") == "."


@pytest.mark.parametrize("cells,votes", [
    (["12,5", "1.234,56", "0,500", "1.234.567"], (4, 0)),  # a comma after 0; a dot twice
    (["12.5", "1,234.56", "0.500", "(1,234,567)"], (0, 4)),
    (["12,5-", "0,500-", "1.234,56-"], (3, 0)),  # a trailing minus (SAP) votes alike
    (["655.957", "1,500", "-1.250", "42", "1234.567"], (0, 0)),  # either, or no mark
])
def test_decimal_votes_count_cells_that_read_one_way_only(cells, votes):
    assert decimal_votes(pd.Series(cells, dtype="str")) == votes


def test_cells_whose_value_depends_on_the_mark():
    cells = pd.Series(["655.957", "1,500", "(1.250)", "-999,000", "12,5", "1234.567",
                       "1.234.567", "42", None, "1.250-"], dtype="str")
    assert either_mark(cells).tolist() == [True, True, True, True, False, False, False,
                                           False, False, True]


def test_dates():
    text = pd.Series(["2024-01-31", "31/01/2024", "31.01.2024", "20240131", "31/02/2024", "", "x"],
                     dtype="str")
    values, invalid = parse_dates(text)
    assert [str(v) for v in values[:4]] == ["2024-01-31"] * 4
    assert invalid.tolist() == [False, False, False, False, True, False, True]
    serial, bad = parse_dates(pd.Series(["45322"], dtype="str"), excel_serials=True)
    assert str(serial[0]) == "2024-01-31" and not bad[0]
    _, bad = parse_dates(pd.Series(["45322"], dtype="str"))  # not an Excel file: not a date
    assert bad[0]


@pytest.mark.parametrize("text,expected", [
    ("31 janv. 2024", "2024-01-31"),
    ("1er janvier 2024", "2024-01-01"),
    ("15 août 2031", "2031-08-15"),
    ("31 DÉC. 2024", "2024-12-31"),
    ("31-Jan-2024", "2024-01-31"),
    ("30-SEP-2024 00:00:00", "2024-09-30"),
    ("January 31st, 2024", "2024-01-31"),
    ("Sept 30, 2024 12:00 AM", "2024-09-30"),
    ("3. März 2024", "2024-03-03"),
    ("30 de junio de 2024", "2024-06-30"),
    ("30 de junho 2024", "2024-06-30"),
    ("31 dicembre 2024", "2024-12-31"),
    ("31 mei 2024", "2024-05-31"),
    # Not dates: no such day, a two-digit year, no day, no such month.
    ("31 févr. 2024", None),
    ("31-Jan-24", None),
    ("Jan-2024", None),
    ("31 Brumaire 2024", None),
])
def test_dates_with_the_month_named(text, expected):
    values, invalid = parse_dates(pd.Series([text, "31/01/2024"], dtype="str"))
    assert (None if invalid[0] else str(values[0])) == expected
    assert str(values[1]) == "2024-01-31" and not invalid[1]


def test_a_month_name_cannot_mean_two_months(tmp_path, monkeypatch):
    import folio.ingest.parse as parse

    table = tmp_path / "months.csv"
    table.write_text("language,month,names\nen,3,march mar\nxx,5,mar\n", encoding="utf-8")
    monkeypatch.setattr(parse, "MONTHS_FILE", table)
    parse.month_names.cache_clear()
    try:
        with pytest.raises(ConfigError, match="'mar' .*month 5 here and month 3"):
            parse.month_names()
    finally:
        parse.month_names.cache_clear()


def test_currency_names_and_symbols_that_mean_one_currency():
    from folio.ingest.currencies import named

    cells = ["EURO", "Euros", "€", "Dollar U.S.", "US$", "Livre sterling", "SFr.",
             "Franc CFA BEAC", "franc cfa bceao", "EUR", "$", "Dollar", "Franc", "FCFA", "Zorkmid"]
    assert named(cells) == {
        "EURO": "EUR", "Euros": "EUR", "€": "EUR", "Dollar U.S.": "USD", "US$": "USD",
        "Livre sterling": "GBP", "SFr.": "CHF", "Franc CFA BEAC": "XAF",
        "franc cfa bceao": "XOF"}  # a code is no name; $, dollar, franc, FCFA are ambiguous


def test_all_empty_date_column():
    values, invalid = parse_dates(pd.Series([None, ""], dtype="str"))
    assert np.isnat(values).all() and not invalid.any()


def test_isins_and_currencies():
    ids = pd.Series(["FR0000120271", "FR0000120272", "SEC0000001", "US0378331005"], dtype="str")
    looks, bad = check_isins(ids)
    assert bad.tolist() == [False, True, False, False]
    assert looks.tolist() == [True, True, False, True]
    assert check_currencies(pd.Series(["XAF", "XOF", "EUR", "FCFA", "EURO"], dtype="str")).tolist() == [
        False, False, False, True, True]
    # Empty cells are not bad codes (the missing-value check reports them), even
    # when the whole column is empty.
    assert check_currencies(pd.Series([None, "XYZ", None], dtype="str")).tolist() == [
        False, True, False]
    assert check_currencies(pd.Series([None, None], dtype="str")).tolist() == [False, False]


def test_headers_fold_case_accents_and_punctuation():
    assert normalise(" Date d'Échéance ") == normalise("DATE_D_ECHEANCE")
    mapping = resolve(["QUANTITÉ", "code isin", "Valeur de Marché", "DEVISE"], None, file="f")
    assert mapping.fields == {"quantity": "QUANTITÉ", "identifier": "code isin",
                              "market_value": "Valeur de Marché", "currency": "DEVISE"}
    explicit = resolve(["Ref", "Nb", "Val", "Dev"], {"Ref": "identifier", "Nb": "quantity",
                                                    "Val": "market_value", "Dev": "currency"},
                       file="f")
    assert explicit.fields["identifier"] == "Ref"


def test_money_headers_that_name_the_files_one_currency():
    # No currency column: the money columns' headers say it, before or after the name.
    mapping = resolve(["ISIN", "Quantité", "Cours (XOF)", "Valorisation (XOF)"], None, file="f")
    assert mapping.fields == {"identifier": "ISIN", "quantity": "Quantité",
                              "price": "Cours (XOF)", "market_value": "Valorisation (XOF)"}
    assert mapping.header_currency == ("XOF", ("Cours (XOF)", "Valorisation (XOF)"))
    assert resolve(["ISIN", "Qty", "EUR Price"], None).header_currency == ("EUR", ("EUR Price",))
    franc = resolve(["ISIN", "Quantité", "Valeur de marché F CFA"], None)
    assert franc.header_currency == ("FCFA", ("Valeur de marché F CFA",))  # settled by ISINs
    # Two currencies in the headers: no one currency for the rows, so none is guessed.
    with pytest.raises(MappingError, match="missing required column.*currency"):
        resolve(["ISIN", "Quantity", "Price USD", "Market Value EUR"], None)
    # Beside a currency column, "Market Value (EUR)" is a converted value, not the
    # rows' own: it maps to nothing, and the rows are valued by quantity x price.
    beside = resolve(["ISIN", "Quantity", "Price", "Currency", "Market Value (EUR)"], None)
    assert "Market Value (EUR)" not in beside.columns and beside.header_currency is None


def _isin_ok(code: str) -> bool:
    """The ISIN check digit the slow, obvious way (letters as two digits, Luhn)."""
    digits = "".join(str(int(c, 36)) for c in code[:11])
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char) * (2 if position % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(code[11])


@given(st.lists(st.from_regex(r"[A-Z]{2}[A-Z0-9]{9}[0-9]", fullmatch=True), min_size=1,
                max_size=50))
def test_isin_check_digits_match_the_obvious_implementation(codes):
    _, bad = check_isins(pd.Series(codes, dtype="string[pyarrow]"))
    assert bad.tolist() == [not _isin_ok(c) for c in codes]
