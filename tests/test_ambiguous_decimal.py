"""The decimal mark where no cell tells it: ``655.957`` reads 655.957 or 655957.

A file whose every number reads with either mark is read with its delimiter's
convention (a comma in ``;`` files, a dot elsewhere), and the import or load
says so with an ``ambiguous_decimal`` warning per column; ``decimal=`` settles
it. Each expected figure below is worked out by hand from the cell.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

import folio
from folio.cli import main
from folio.config import get_settings
from folio.ingest import readers
from folio.ingest.readers.delimited import HEAD_BYTES
from folio.ingest.reference import read_reference
from folio.store.db import get_engine
from folio.store.schema import fx_rates

from builders import BNP, ORANGE, TOTAL

pytestmark = pytest.mark.usefixtures("store")

HEADER = "ISIN;Name;Quantity;Price;Currency;Date\n"


def semicolon_file(tmp_path, quantities=("10", "12", "100"), name="positions.csv"):
    """A ``;`` file whose every price is 1-3 digits, a dot, three digits."""
    prices = ("61.250", "180.125", "1.500")
    lines = [f"{isin};Line {i};{q};{p};EUR;31/01/2024\n" for i, (isin, q, p)
             in enumerate(zip((TOTAL, ORANGE, BNP), quantities, prices, strict=True))]
    path = tmp_path / name
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def stored(portfolio, field):
    positions = folio.positions(portfolio).set_index("identifier")
    return {isin: positions.loc[isin, field] for isin in (TOTAL, ORANGE, BNP)
            if isin in positions.index}


def ambiguous(result):
    issues = result.issues
    return issues[issues["code"] == "ambiguous_decimal"]


def test_a_semicolon_file_of_prices_that_read_either_way_is_read_with_a_comma_and_says_so(
        tmp_path):
    result = folio.import_file(semicolon_file(tmp_path), "P")
    assert result.status == "succeeded"
    # A decimal comma makes each dot a thousands mark: 61.250 is 61250.
    assert stored("P", "price") == {TOTAL: 61250.0, ORANGE: 180125.0, BNP: 1500.0}
    warned = ambiguous(result)
    assert warned[["row", "column", "severity", "value"]].values.tolist() == [
        [2, "Price", "warning", "61.250"]]
    message = warned["message"].iloc[0]
    assert message.startswith("positions.csv, row 2, column 'Price': '61.250'")
    assert "2 more cells" in message
    assert "as 61250" in message and "it would be 61.25." in message
    assert "decimal='.'" in message
    assert result.warnings == 1


def test_one_cell_that_tells_the_mark_settles_it_with_no_warning(tmp_path):
    # "12,50" can only be a decimal comma: the file's mark, evidenced.
    path = semicolon_file(tmp_path, quantities=("10", "12,50", "100"))
    result = folio.import_file(path, "P")
    assert ambiguous(result).empty and result.warnings == 0
    assert stored("P", "quantity")[ORANGE] == 12.5
    assert stored("P", "price") == {TOTAL: 61250.0, ORANGE: 180125.0, BNP: 1500.0}


@pytest.mark.parametrize("decimal,prices", [
    (".", {TOTAL: 61.25, ORANGE: 180.125, BNP: 1.5}),
    (",", {TOTAL: 61250.0, ORANGE: 180125.0, BNP: 1500.0}),
])
def test_the_mark_given_reads_the_file_with_no_warning(tmp_path, decimal, prices):
    result = folio.import_file(semicolon_file(tmp_path), "P", decimal=decimal)
    assert ambiguous(result).empty and result.warnings == 0
    assert stored("P", "price") == prices


def test_the_cli_takes_the_mark(tmp_path, capsys):
    path = semicolon_file(tmp_path)
    assert main(["import", str(path), "-p", "P", "--via", "local"]) == 0
    out = capsys.readouterr().out
    assert "ambiguous_decimal" in out and "--decimal '.'" in out and "decimal='" not in out
    assert main(["import", str(path), "-p", "Q", "--via", "local", "--decimal", "."]) == 0
    assert "ambiguous_decimal" not in capsys.readouterr().out
    assert stored("Q", "price") == {TOTAL: 61.25, ORANGE: 180.125, BNP: 1.5}


def test_a_mark_that_is_no_mark_is_refused(tmp_path):
    with pytest.raises(folio.ConfigError, match="decimal"):
        folio.import_file(semicolon_file(tmp_path), "P", decimal="dot")


def test_a_comma_file_with_quoted_thousands_commas_reads_them_so_and_says_so(tmp_path):
    path = tmp_path / "us.csv"
    path.write_text("ISIN,Name,Quantity,Price,Currency,Date\n"
                    f'{TOTAL},Line 0,"1,500",61,EUR,2024-01-31\n'
                    f'{ORANGE},Line 1,"2,250",18,EUR,2024-01-31\n', encoding="utf-8")
    result = folio.import_file(path, "P")
    assert stored("P", "quantity") == {TOTAL: 1500.0, ORANGE: 2250.0}
    warned = ambiguous(result)
    assert warned[["row", "column", "value"]].values.tolist() == [[2, "Quantity", "1,500"]]
    message = warned["message"].iloc[0]
    assert "as 1500" in message and "it would be 1.5." in message and "decimal=','" in message
    again = folio.import_file(path, "Q", decimal=",")
    assert ambiguous(again).empty
    assert stored("Q", "quantity") == {TOTAL: 1.5, ORANGE: 2.25}


@pytest.mark.parametrize("prices", [("61", "180", "2"), ("1234.567", "180.1234", "2")])
def test_no_warning_where_no_cell_reads_two_ways(tmp_path, prices):
    # Integers read alike with either mark; so does "1234.567" (four digits before
    # the dot: no thousands mark). The file keeps the comma of ';' files.
    lines = [f"{isin};Line;10;{p};EUR;31/01/2024\n"
             for isin, p in zip((TOTAL, ORANGE, BNP), prices, strict=True)]
    path = tmp_path / "plain.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    result = folio.import_file(path, "P")
    assert ambiguous(result).empty and result.warnings == 0
    assert list(stored("P", "price").values()) == [float(p) for p in prices]


def test_a_later_block_with_cells_that_read_either_way_is_warned_once(tmp_path, monkeypatch):
    # The first block's prices are integers (the mark is the convention's); a later
    # block's "1.500" depends on it.
    monkeypatch.setattr(readers, "BLOCK_BYTES", 4096)
    lines = [f"S{i:05d};N;1;{'1.500' if i >= 40_000 else '7'};EUR;31/01/2024\n"
             for i in range(40_100)]
    # The first block is the file's first HEAD_BYTES at least: "1.500" starts below.
    assert len("".join(lines[:40_000])) > HEAD_BYTES
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    result = folio.import_file(path, "P")
    assert result.rows_imported == 40_100
    warned = ambiguous(result)
    assert warned[["row", "column", "value"]].values.tolist() == [[40_002, "Price", "1.500"]]
    prices = folio.positions("P").set_index("identifier")["price"]
    assert (prices["S39999"], prices["S40000"], prices["S40099"]) == (7.0, 1500.0, 1500.0)


FX = "Date;Base;Quote;Rate\n31/01/2024;EUR;XAF;655.957\n29/02/2024;EUR;XAF;655.957\n"


def test_an_fx_file_of_pegged_rates_that_read_either_way_warns(tmp_path):
    path = tmp_path / "peg.csv"
    path.write_text(FX, encoding="utf-8")
    table = read_reference(path)
    assert list(table.frame["rate"]) == [655957.0, 655957.0]  # the comma of ';' files
    assert [(w["code"], w["severity"], w["file"], w["row"], w["column"], w["value"])
            for w in table.warnings] == [
        ("ambiguous_decimal", "warning", "peg.csv", 2, "Rate", "655.957")]
    assert "as 655957" in table.warnings[0]["message"]
    assert "it would be 655.957." in table.warnings[0]["message"]
    given = read_reference(path, decimal=".")
    assert list(given.frame["rate"]) == [655.957, 655.957] and given.warnings == []


def test_an_fx_file_with_a_rate_that_tells_the_mark_does_not_warn(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(FX + "29/02/2024;USD;XAF;605,25\n", encoding="utf-8")
    table = read_reference(path)
    assert table.warnings == []
    assert list(table.frame["rate"]) == [655957.0, 655957.0, 605.25]


def test_the_reference_cli_prints_the_warning_and_takes_the_mark(tmp_path, capsys):
    path = tmp_path / "peg.csv"
    path.write_text(FX, encoding="utf-8")
    assert main(["reference", str(path)]) == 0
    out = capsys.readouterr().out
    assert "fx_rates: 2 added" in out
    assert "[warning] ambiguous_decimal: peg.csv, row 2, column 'Rate': '655.957'" in out
    assert "--decimal '.'" in out and "decimal='" not in out  # the command's own syntax
    assert main(["reference", str(path), "--decimal", ".", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["replaced"] == 2 and report["warnings"] == []
    with get_engine(get_settings()).connect() as conn:
        rates = sorted(tuple(r) for r in conn.execute(sa.select(fx_rates)).all())
    assert rates == [(date(2024, 1, 31), "EUR", "XAF", 655.957),
                     (date(2024, 2, 29), "EUR", "XAF", 655.957)]
    assert main(["reference", str(path), "--json"]) == 0
    warned = json.loads(capsys.readouterr().out)["warnings"]
    assert [(w["row"], w["column"], w["value"]) for w in warned] == [(2, "Rate", "655.957")]


def test_load_reference_reports_the_warning_and_takes_the_mark(tmp_path):
    path = tmp_path / "peg.csv"
    path.write_text(FX, encoding="utf-8")
    loaded = folio.load_reference(path)
    assert [(w["code"], w["file"], w["row"], w["column"], w["value"]) for w in loaded.warnings] \
        == [("ambiguous_decimal", "peg.csv", 2, "Rate", "655.957")]
    assert "decimal='.' (folio reference --decimal '.')" in loaded.warnings[0]["message"]
    assert "[warning] ambiguous_decimal: peg.csv, row 2" in loaded.summary()
    settled = folio.load_reference(path, decimal=".")
    assert settled.replaced == 2 and settled.warnings == []
    with get_engine(get_settings()).connect() as conn:
        rates = sorted(r.rate for r in conn.execute(sa.select(fx_rates)).all())
    assert rates == [655.957, 655.957]
    with pytest.raises(folio.ConfigError, match="not a decimal mark"):
        folio.load_reference(path, decimal="dot")


def _workbook(path, rows):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ISIN", "Quantity", "Price", "Market Value", "Currency"])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_a_workbooks_number_cells_keep_their_value_beside_decimal_comma_text(tmp_path):
    """Number cells 655.957 and 10.125 (not text) are those numbers, though the
    workbook's text cells (market values typed as text) vote for a decimal comma."""
    path = _workbook(tmp_path / "mixed.xlsx", [
        [BNP, "1 000", 655.957, "655 957,00", "EUR"],
        [ORANGE, "2 000", 10.125, "20 250,00", "EUR"]])
    result = folio.import_file(path, "P", as_of="2024-01-31")
    assert result.status == "succeeded" and result.issues.empty, result.issues
    assert stored("P", "price") == {BNP: 655.957, ORANGE: 10.125}
    assert stored("P", "market_value") == {BNP: 655_957.0, ORANGE: 20_250.0}


def test_a_workbooks_text_cells_that_read_either_way_are_warned(tmp_path):
    """Prices typed as text ("61.250"), nothing in the workbook telling the mark: read
    with a dot (a workbook has no delimiter's convention) and said so."""
    path = _workbook(tmp_path / "text.xlsx", [
        [BNP, "100", "61.250", None, "EUR"], [ORANGE, "200", "10.125", None, "EUR"]])
    result = folio.import_file(path, "P", as_of="2024-01-31")
    warned = ambiguous(result)
    assert warned[["row", "column", "value"]].values.tolist() == [[2, "Price", "61.250"]]
    assert "as 61.25," in warned["message"].iloc[0]
    assert stored("P", "price") == {BNP: 61.25, ORANGE: 10.125}
