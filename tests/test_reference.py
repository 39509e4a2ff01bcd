"""Reference data in the layouts analysts have: ECB rate files, BCEAO/BEAC tables, XLSX,
French headers; loading says what it added, replaced and skipped, and is atomic.

Every fixture is written here with made-up values in the published layouts; the
expected rows are written out by hand from those values.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

import folio
from folio.cli import main
from folio.config import get_settings
from folio.store.db import get_engine
from folio.store.schema import fx_rates, instruments, prices

# eurofxref-hist.csv as the ECB publishes it: newest first, a column per currency
# (old ones full of N/A), and a comma ending every line.
ECB_HIST = (
    "Date,USD,JPY,CYP,GBP,\n"
    "2024-02-02,1.0901,160.10,N/A,0.8601,\n"
    "2024-02-01,1.0800,158.50,N/A,N/A,\n"
    "2024-01-31,1.0837,159.19,N/A,0.85305,\n"
)
# eurofxref.csv, the daily file: a space after each comma, the date spelled out.
ECB_DAILY = "Date, USD, JPY, GBP, \n2 February 2024, 1.0950, 160.10, 0.8601, \n"


def rows(table) -> list[tuple]:
    with get_engine(get_settings()).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(table)).all())


def counts(loaded, table):
    return loaded.counts[table]


def test_ecb_files_as_published_then_loaded_again_change_nothing(tmp_path, store):
    (tmp_path / "eurofxref-hist.csv").write_text(ECB_HIST, encoding="utf-8")
    loaded = folio.load_reference(tmp_path / "eurofxref-hist.csv")
    # 3 dates x 4 currencies = 12 cells: CYP's 3 and one GBP are N/A, 8 rates.
    assert counts(loaded, "fx_rates") == {"added": 8, "replaced": 0, "skipped": 0}
    assert loaded.files[0]["kind"] == "ecb" and loaded.files[0]["blank_cells"] == 4
    d1, d2, d3 = date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 2)
    assert rows(fx_rates) == sorted([
        (d1, "EUR", "USD", 1.0837), (d1, "EUR", "JPY", 159.19), (d1, "EUR", "GBP", 0.85305),
        (d2, "EUR", "USD", 1.08), (d2, "EUR", "JPY", 158.5),
        (d3, "EUR", "USD", 1.0901), (d3, "EUR", "JPY", 160.1), (d3, "EUR", "GBP", 0.8601),
    ])
    again = folio.load_reference(tmp_path)
    assert counts(again, "fx_rates") == {"added": 0, "replaced": 0, "skipped": 8}
    # The daily file of 2 February: USD revised, JPY and GBP as stored.
    (tmp_path / "eurofxref.csv").write_text(ECB_DAILY, encoding="utf-8")
    daily = folio.load_reference(tmp_path / "eurofxref.csv")
    assert counts(daily, "fx_rates") == {"added": 0, "replaced": 1, "skipped": 2}
    assert (d3, "EUR", "USD", 1.095) in rows(fx_rates) and len(rows(fx_rates)) == 8


def test_a_bceao_table_with_title_lines_french_headers_and_decimal_commas(tmp_path, store):
    path = tmp_path / "cours_bceao.csv"
    path.write_text("BANQUE CENTRALE DES ETATS DE L'AFRIQUE DE L'OUEST\n"
                    "Cours indicatifs des devises contre franc CFA\n\n"
                    "Devise;Date;Cours\n"
                    "USD;31/01/2024;605,2500\n"
                    "GBP;31/01/2024;769,10\n\n"  # empty lines, as spreadsheets leave them
                    "JPY;31/01/2024;4,1235\n;;\n", encoding="cp1252")
    with pytest.raises(folio.MappingError) as refused:
        folio.load_reference(path)
    assert refused.value.file == "cours_bceao.csv" and refused.value.missing == ["quote"]
    assert "XOF" in refused.value.message and rows(fx_rates) == []
    loaded = folio.load_reference(path, quote="XOF")
    assert counts(loaded, "fx_rates") == {"added": 3, "replaced": 0, "skipped": 0}
    day = date(2024, 1, 31)
    assert rows(fx_rates) == sorted([(day, "USD", "XOF", 605.25), (day, "GBP", "XOF", 769.1),
                                     (day, "JPY", "XOF", 4.1235)])


def test_xlsx_prices_and_french_instruments_in_one_folder(tmp_path, store):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Cours de clôture au 31/01/2024"])
    sheet.append([])
    sheet.append(["Code ISIN", "Date", "Cours", "Devise"])
    sheet.append(["CM0000000018", datetime(2024, 1, 31), 101.25, "XAF"])
    sheet.append(["FR0000120271", datetime(2024, 1, 31), 60.5, "EUR"])
    book.save(tmp_path / "cours.xlsx")
    (tmp_path / "titres.csv").write_text(
        "Code ISIN;Libellé;Émetteur;Pays;Classe d'actif;Devise;Échéance;Coupon\n"
        "CM0000000018;Cameroun 6,25% 2029;République du Cameroun;CM;Obligation d'État;XAF;"
        "15/06/2029;6,25\n"
        "FR0000120271;TotalEnergies;TotalEnergies SE;FR;Action;EUR;;\n", encoding="utf-8")
    loaded = folio.load_reference(tmp_path)
    assert {f["file"]: f["kind"] for f in loaded.files} == {"cours.xlsx": "prices",
                                                            "titres.csv": "instruments"}
    assert counts(loaded, "prices") == {"added": 2, "replaced": 0, "skipped": 0}
    assert counts(loaded, "instruments") == {"added": 2, "replaced": 0, "skipped": 0}
    day = date(2024, 1, 31)
    assert rows(prices) == [(day, "CM0000000018", 101.25, "XAF"),
                            (day, "FR0000120271", 60.5, "EUR")]
    assert rows(instruments) == [
        ("CM0000000018", "Cameroun 6,25% 2029", "République du Cameroun", "CM",
         "Obligation d'État", "XAF", date(2029, 6, 15), 6.25, None),
        ("FR0000120271", "TotalEnergies", "TotalEnergies SE", "FR", "Action", "EUR", None,
         None, None)]
    again = folio.load_reference(tmp_path)  # blanks stored as NULL compare equal to blanks
    assert (counts(again, "instruments"), counts(again, "prices")) == (
        {"added": 0, "replaced": 0, "skipped": 2}, {"added": 0, "replaced": 0, "skipped": 2})


def test_a_partial_instruments_file_replaces_only_its_columns(tmp_path, store):
    (tmp_path / "a.csv").write_text("identifier,name,coupon\nX1,Bond X,5.5\n", encoding="utf-8")
    folio.load_reference(tmp_path / "a.csv")
    (tmp_path / "b.csv").write_text("identifier,asset_class\nX1,Government Bond\n",
                                    encoding="utf-8")
    loaded = folio.load_reference(tmp_path / "b.csv")
    assert counts(loaded, "instruments") == {"added": 0, "replaced": 1, "skipped": 0}
    assert rows(instruments) == [("X1", "Bond X", None, None, "Government Bond", None, None,
                                  5.5, None)]


def test_a_file_of_no_known_kind_or_of_two_is_an_error_naming_file_and_columns(tmp_path, store):
    odd = tmp_path / "odd.csv"
    odd.write_text("Foo,Bar\n1,2\n", encoding="utf-8")
    with pytest.raises(folio.MappingError) as unknown:
        folio.load_reference(odd)
    assert unknown.value.file == "odd.csv" and unknown.value.found == ["Foo", "Bar"]
    both = tmp_path / "both.csv"
    both.write_text("ISIN,Name,Issuer,Date,Price\nFR0000120271,Total,Total SE,2024-01-31,60\n",
                    encoding="utf-8")
    with pytest.raises(folio.MappingError) as ambiguous:
        folio.load_reference(both)
    assert ambiguous.value.candidates == ["instruments", "prices"]
    assert "ISIN, Name, Issuer, Date, Price" in ambiguous.value.message


def test_a_bad_cell_in_the_last_file_leaves_the_store_as_it_was(tmp_path, store):
    folio.add_fx_rate("EUR", "USD", 1.08, "2024-01-31")
    before = rows(fx_rates), rows(prices)
    (tmp_path / "a_prices.csv").write_text("date,identifier,price\n2024-01-31,X1,10\n",
                                           encoding="utf-8")
    (tmp_path / "b_rates.csv").write_text(
        "Devise;Date;Cours\nUSD;31/01/2024;605,25\nGBP;31/01/2024;n.c.\n", encoding="utf-8")
    with pytest.raises(folio.ReadError) as bad:
        folio.load_reference(tmp_path, quote="XOF")
    assert (bad.value.file, bad.value.row, bad.value.column, bad.value.value) == (
        "b_rates.csv", 3, "Cours", "n.c.")
    assert (rows(fx_rates), rows(prices)) == before
    (tmp_path / "b_rates.csv").write_text("date,base,quote,rate\n2024-01-31,EUR,XFA,655\n",
                                          encoding="utf-8")
    with pytest.raises(folio.ReadError) as code:
        folio.load_reference(tmp_path)
    assert (code.value.row, code.value.column, code.value.value) == (2, "quote", "XFA")
    assert (rows(fx_rates), rows(prices)) == before


def test_two_files_giving_one_key_different_values_is_an_error(tmp_path, store):
    (tmp_path / "a.csv").write_text("date,identifier,price\n2024-01-31,X1,10\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("date,identifier,price\n2024-01-31,X1,11\n", encoding="utf-8")
    with pytest.raises(folio.ReadError, match="a.csv row 2 and b.csv row 2"):
        folio.load_reference(tmp_path)
    assert rows(prices) == []
    (tmp_path / "b.csv").write_text("date,identifier,price\n2024-01-31,X1,10\n", encoding="utf-8")
    assert counts(folio.load_reference(tmp_path), "prices") == {"added": 1, "replaced": 0,
                                                                "skipped": 1}


def test_add_fx_rate_and_add_price_store_one_value(store):
    assert folio.add_fx_rate("eur", "USD", 1.0837, "2024-01-31").counts == {
        "fx_rates": {"added": 1, "replaced": 0, "skipped": 0}}
    assert folio.add_fx_rate("EUR", "USD", 1.0837, date(2024, 1, 31)).skipped == 1
    assert folio.add_fx_rate("EUR", "USD", 1.0837, datetime(2024, 1, 31, 16)).skipped == 1
    assert folio.add_fx_rate("EUR", "USD", 1.09, "2024-01-31").replaced == 1
    assert rows(fx_rates) == [(date(2024, 1, 31), "EUR", "USD", 1.09)]
    assert folio.add_price("fr0000120271", 60.5, "2024-01-31", "EUR").added == 1
    assert rows(prices) == [(date(2024, 1, 31), "FR0000120271", 60.5, "EUR")]
    with pytest.raises(folio.ReadError) as bad:
        folio.add_fx_rate("XFA", "EUR", 655.957, "2024-01-31")
    assert (bad.value.column, bad.value.value) == ("base", "XFA")
    with pytest.raises(folio.ReadError, match="not a positive rate"):
        folio.add_fx_rate("EUR", "USD", 0, "2024-01-31")
    with pytest.raises(folio.ReadError, match="not a date"):
        folio.add_price("X1", 10, "31/02/2024")
    assert rows(fx_rates) == [(date(2024, 1, 31), "EUR", "USD", 1.09)]


def test_the_cli_loads_files_and_folders_and_says_what_it_did(tmp_path, capsys):
    (tmp_path / "ecb").mkdir()
    (tmp_path / "ecb" / "eurofxref-hist.csv").write_text(ECB_HIST, encoding="utf-8")
    rates = tmp_path / "beac.csv"
    rates.write_text("Devise;Date;Cours\nUSD;31/01/2024;605,25\n", encoding="utf-8")
    assert main(["reference", str(tmp_path / "ecb"), str(rates), "--quote", "XAF"]) == 0
    out = capsys.readouterr().out
    assert "fx_rates: 9 added, 0 replaced, 0 skipped" in out
    assert "eurofxref-hist.csv: ecb, 8 rows, 4 cells without a rate (N/A)" in out
    assert main(["reference", str(tmp_path / "ecb"), str(rates), "--quote", "XAF",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["added"], report["replaced"], report["skipped"]) == (0, 0, 9)
    assert main(["reference", str(rates), "--json"]) == 1
    failed = json.loads(capsys.readouterr().out)
    assert failed["status"] == "failed" and failed["details"]["file"] == "beac.csv"


def test_the_ecb_zip_as_downloaded_and_a_bad_cell_inside_it(tmp_path, store):
    import zipfile

    archive = tmp_path / "eurofxref-hist.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("eurofxref-hist.csv", ECB_HIST)
    loaded = folio.load_reference(archive)
    assert loaded.files[0]["file"] == "eurofxref-hist.zip/eurofxref-hist.csv"
    assert counts(loaded, "fx_rates") == {"added": 8, "replaced": 0, "skipped": 0}
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("eurofxref-hist.csv", ECB_HIST.replace("159.19", "159,1,9"))
    with pytest.raises(folio.ReadError) as bad:
        folio.load_reference(tmp_path)
    assert (bad.value.file, bad.value.row) == ("eurofxref-hist.zip/eurofxref-hist.csv", 4)
    assert len(rows(fx_rates)) == 8


def _load_in_a_process(path: str, start, out) -> None:
    import folio as child

    start.wait(60)  # every process loads at the same moment
    try:
        out.put(child.load_reference(path).counts["fx_rates"])
    except Exception as exc:  # noqa: BLE001 - the parent asserts on what came back
        out.put(f"{type(exc).__name__}: {exc}")


def test_loads_racing_in_processes_store_each_rate_once(tmp_path, store):
    import multiprocessing

    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(400)]
    lines = ["Date,USD,GBP,"] + [f"{d.isoformat()},1.{i:04d},0.8{i:03d}," for i, d
                                 in enumerate(days)]
    path = tmp_path / "eurofxref-hist.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    folio.add_fx_rate("EUR", "JPY", 160.0, "2024-01-01")  # the store exists before the race
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_load_in_a_process, args=(str(path), start, out))
               for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        results = [out.get(timeout=120) for _ in workers]
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.kill()
    assert all(isinstance(r, dict) for r in results), results
    # 400 days x 2 currencies: added once in all, skipped by the other two loads.
    assert sum(r["added"] for r in results) == 800
    assert sum(r["skipped"] for r in results) == 1600
    assert sum(r["replaced"] for r in results) == 0
    assert len(rows(fx_rates)) == 801
