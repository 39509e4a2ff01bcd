"""Broken and hostile holdings files: each is refused with a FolioError that names
the file (and the row, column and value where there is one), or imported with
the right values and row issues; a refusal leaves the store as it was.

The small files live in ``corpus/`` (made by ``corpus/make_corpus.py``); those too
large for git are made here.
"""

from __future__ import annotations

import math
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

import folio
import folio.cli
from folio.errors import FileTooLarge

from builders import TOTAL, english_csv
from contract import import_under_contract

CORPUS = Path(__file__).parent / "corpus"
AS_OF = "2024-01-31"


@pytest.fixture
def corpus(tmp_path):
    """A copy of the corpus next to a store that already holds a snapshot of P."""
    base = english_csv(tmp_path / "base.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", AS_OF)])
    folio.import_file(base, "P")
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


def issues_by_code(result) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for record in result.issues.to_dict("records"):
        out.setdefault(record["code"], []).append(record)
    return out


@pytest.mark.parametrize("name, says, row", [
    ("empty.csv", "the file is empty", None),
    ("header_only.csv", "no data rows", 1),
    ("binary.csv", "binary content", None),
    ("pdf_renamed.csv", "this is a PDF", None),
    ("truncated.xlsx", "damaged or truncated", None),
    ("corrupt.xlsx", "cannot read sheet", None),
    ("mixed_encodings.csv", "mixed encodings", 3),
    ("wide.csv", "10,007 columns", 1),
])
def test_broken_files_are_refused_naming_file_and_row(corpus, name, says, row):
    error = import_under_contract(corpus / name, as_of=AS_OF)
    assert isinstance(error, folio.ReadError), error
    assert says in error.message and name in error.message
    assert error.fields.get("row") == row


def test_mixed_encodings_quote_the_line_that_differs(corpus):
    error = import_under_contract(corpus / "mixed_encodings.csv", as_of=AS_OF)
    assert error.value.startswith("FR0000133308,Cr")  # the cp1252 line, not the UTF-8 one


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, corpus, monkeypatch):
    big = tmp_path / "two_gigabytes.csv"
    with big.open("wb") as fh:
        fh.write(b"ISIN,Quantity,Currency\n")
        fh.truncate(2 * 2**30)  # sparse: costs no disk
    monkeypatch.setattr("folio.ingest.readers._read_csv",
                        lambda *a, **k: pytest.fail("the file was read"))
    error = import_under_contract(big, as_of=AS_OF)
    assert isinstance(error, FileTooLarge)
    assert error.size == 2 * 2**30 and error.limit < error.size
    assert "FOLIO_MAX_FILE_MB" in error.message


def test_an_xlsx_zip_bomb_is_refused_before_it_is_expanded(tmp_path, corpus, monkeypatch):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(64):
                part.write(bytes(2**20))  # 64 MB of zeros, about 64 KB compressed
    assert bomb.stat().st_size < 2**20
    import python_calamine

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path",
                        lambda *a, **k: pytest.fail("the workbook was expanded"))
    error = import_under_contract(bomb, as_of=AS_OF)
    assert isinstance(error, FileTooLarge)
    assert "zip bomb" in error.message and error.value == "xl/worksheets/sheet1.xml"


def test_a_one_megabyte_cell_rejects_its_row_only(tmp_path, corpus):
    path = english_csv(tmp_path / "big_cell.csv", [
        (TOTAL, "x" * 2**20, 10, 60, 600, "EUR", AS_OF),
        ("FR0000133308", "Orange", 5, 12.5, 62.5, "EUR", AS_OF),
    ])
    result = import_under_contract(path, as_of=AS_OF)
    assert result.status == "partially_succeeded"
    [issue] = issues_by_code(result)["too_long"]
    assert (issue["row"], issue["column"]) == (2, "Security Name")
    assert issue["value"] == "x" * 200  # quoted, not copied whole
    assert folio.positions("P")["identifier"].tolist() == ["FR0000133308"]


def test_a_repeated_header_is_skipped_with_a_warning(corpus):
    result = import_under_contract(corpus / "repeated_header.csv", as_of=AS_OF)
    assert result.status == "succeeded" and result.rows_imported == 2
    [issue] = issues_by_code(result)["repeated_header"]
    assert (issue["row"], issue["severity"], issue["value"]) == (3, "warning", "ISIN")


def test_formula_like_csv_cells_are_stored_as_text_and_escaped_on_export(corpus, tmp_path):
    path = corpus / "formula_cells.csv"
    result = import_under_contract(path, as_of=AS_OF)
    assert result.status == "succeeded"
    names = folio.positions("P").set_index("identifier")["name"]
    assert names["FR0000120271"] == "=cmd|' /C calc'!A0"
    assert names["FR0000133308"] == "+33 1 00 00 00 00"
    assert names["FR0000131104"] == '-HYPERLINK("http://x")'
    assert names["FR0000120073"] == "@SUM(A1:A9)"
    # The CLI's list of instruments missing from the reference is a CSV export.
    missing = tmp_path / "missing.csv"
    assert folio.cli.main([
        "import", str(path), "--portfolio", "Q", "--as-of", AS_OF, "--dry-run",
        "--missing-csv", str(missing)]) == 0
    lines = missing.read_text(encoding="utf-8").splitlines()
    assert any(line.split(",")[1] == "'@SUM(A1:A9)" for line in lines[1:]), lines
    assert not any(cell.startswith(("=", "+", "-", "@"))
                   for line in lines[1:] for cell in line.split(",")[1:2])


def test_xlsx_formulas_give_their_saved_values_never_evaluated(corpus):
    result = import_under_contract(corpus / "formulas.xlsx", as_of=AS_OF)
    assert result.status == "succeeded"
    got = folio.positions("P").set_index("identifier")
    # 599 is what the file saved for =C2*D2; evaluating it would give 600.
    assert got.loc["FR0000120271", "market_value"] == 599
    assert got.loc["FR0000120271", "name"] == "TotalEnergies (cached)"
    assert got.loc["FR0000133308", "name"] == "2"


def test_unicode_names_round_trip_through_the_store(corpus, store):
    result = import_under_contract(corpus / "unicode_names.csv", as_of=AS_OF)
    assert result.status == "succeeded"
    names = folio.positions("P").set_index("identifier")["name"]
    assert names["FR0000120271"] == "Société Générale Côte d’Ivoire"
    assert names["FR0000133308"] == "مصرف المغرب"
    assert names["FR0000131104"] == "Fonds 🚀 Émergents"


def test_odd_numbers(corpus):
    result = import_under_contract(corpus / "odd_numbers.csv", as_of=AS_OF)
    assert result.status == "partially_succeeded"
    bad = {(i["row"], i["column"], i["value"]) for i in issues_by_code(result)["invalid_number"]}
    assert bad == {(2, "Quantité", "1e400"), (3, "Quantité", "NaN")}
    got = folio.positions("P").set_index("identifier")
    zero = got.loc["FR0000131104", "quantity"]
    assert zero == 0 and not math.copysign(1, zero) < 0  # -0 is stored as 0
    assert got.loc["FR0000120073", "quantity"] == -1234.5  # (1 234,50)
    assert got.loc["FR0000120073", "market_value"] == -12345.0
    assert np.isfinite(got["quantity"]).all()


def test_impossible_dates_reject_their_rows(corpus):
    result = import_under_contract(corpus / "impossible_dates.csv", as_of=AS_OF)
    assert result.status == "partially_succeeded"
    bad = {(i["row"], i["column"], i["value"]) for i in issues_by_code(result)["invalid_date"]}
    assert bad == {(2, "As Of Date", "31/02/2024"), (3, "As Of Date", "0000-00-00")}
    assert folio.positions("P")["identifier"].tolist() == ["FR0000131104"]


@pytest.mark.parametrize("name, encoding, expected", [
    # Mac line ends (CR alone) and a final LF: an LF did not make it one line.
    ("mac_line_ends.csv", "utf-8", [(2, "FR0000120271", "TotalEnergies", 10.0, 600.0, "EUR"),
                                    (3, "FR0000133308", "Orange", 5.0, 62.5, "EUR")]),
    # UTF-16 without a BOM: its NUL high bytes are text, not "binary content".
    ("utf16le_no_bom.csv", "utf-16-le", [
        (2, "FR0000120271", "Société Générale", 1000.0, 60000.0, "XAF"),
        (3, "FR0000131104", "BNP Paribas", -10.0, -500.0, "XAF")]),
    ("utf16be_no_bom.csv", "utf-16-be", [(2, "FR0000120271", "TotalEnergies", 10.0, 600.0, "EUR"),
                                         (3, "FR0000133308", "Orange", 5.0, 62.5, "EUR")]),
])
def test_old_line_ends_and_utf16_without_bom_read_as_text(corpus, name, encoding, expected):
    result = import_under_contract(corpus / name, as_of=AS_OF)
    assert result.status == "succeeded", result.issues
    assert result.reader["encoding"] == encoding
    got = folio.positions("P")
    assert list(zip(got["row"], got["identifier"], got["name"], got["quantity"],
                    got["market_value"], got["currency"], strict=True)) == expected


def test_the_corpus_is_what_its_generator_writes():
    """The checked-in files and make_corpus.py never drift apart."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.corpus()
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in (".csv", ".xlsx")}
    assert on_disk == set(made)
    for name, data in made.items():
        if name.endswith(".xlsx"):
            continue  # zip timestamps differ from run to run
        assert (CORPUS / name).read_bytes() == data, name
    assert os.path.getsize(CORPUS / "wide.csv") < 200_000
