"""A header folio does not know by name, below a statement's title lines.

French and African custodians head their exports with a few title lines
(bank, client, date) above a header of their own names. folio finds that
header by the shape of the table below it, then goes on as for a file whose
header is on line 1: the mapping error lists the real columns, a saved
mapping then imports the file, and the date in a title line is the as-of.
Every figure below is worked out by hand from the values each test writes.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

import folio
from folio.ingest.readers import read_blocks, read_table

# A Senegalese broker's statement: ";" and decimal commas, thousands with spaces.
SN_HEADER = ["Réf. titre", "Intitulé", "Qté détenue", "Cours du jour", "Montant valorisé",
             "Devise"]
SN_TITLES = ["Relevé de portefeuille", "Client : SGI EXEMPLE", "Date d'arrêté : 31/05/2024"]
SN_ROWS = ["SN0000000019;Sonatel;40;18 500,00;740 000,00;XOF",  # 40 x 18,500.00
           "CI0000000014;Orange CI;25;14 200,50;355 012,50;XOF"]  # 25 x 14,200.50
SN_MAPPING = {"Réf. titre": "identifier", "Intitulé": "name", "Qté détenue": "quantity",
              "Cours du jour": "price", "Montant valorisé": "market_value",
              "Devise": "currency"}


def sn_statement(path, rows=SN_ROWS):
    lines = [*SN_TITLES, "", ";".join(SN_HEADER), *rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_mapping_error_lists_the_real_columns_guesses_and_command(tmp_path):
    path = sn_statement(tmp_path / "releve.csv")
    with pytest.raises(folio.MappingError) as caught:
        folio.import_file(path, "SGI", via="local")
    err = caught.value
    assert err.found == tuple(SN_HEADER)  # not the title line's cells
    # The names folio can guess, each as a person reading the header would.
    assert {c: err.guesses[c] for c in ("Réf. titre", "Cours du jour", "Montant valorisé",
                                       "Devise")} == {
        "Réf. titre": "identifier", "Cours du jour": "price",
        "Montant valorisé": "market_value", "Devise": "currency"}
    assert "quantity" in err.missing
    assert err.command.startswith("folio mapping save my-custodian ")
    assert "'Réf. titre=identifier'" in err.command and "--header-from releve.csv" in err.command
    assert err.command in err.message and err.python in err.message


def test_a_saved_mapping_then_imports_the_file_below_its_title_lines(tmp_path):
    path = sn_statement(tmp_path / "releve.csv")
    header = folio.catalog.file_header(path)
    assert header == SN_HEADER
    folio.save_mapping("sgi-exemple", SN_MAPPING, header=header)
    result = folio.import_file(path, "SGI", via="local")  # no mapping named, no as_of
    assert result.status == "succeeded", result.summary()
    assert result.preset == "sgi-exemple"
    assert result.as_of == date(2024, 5, 31)  # « Date d'arrêté : 31/05/2024 »
    assert result.row_roles == {"title": 3}  # the three title lines; the blank one is not
    stored = folio.positions("SGI", date(2024, 5, 31))
    assert stored[["identifier", "name", "quantity", "price", "market_value", "currency"]] \
        .values.tolist() == [["SN0000000019", "Sonatel", 40.0, 18500.0, 740000.0, "XOF"],
                             ["CI0000000014", "Orange CI", 25.0, 14200.5, 355012.5, "XOF"]]


def test_the_cli_prints_the_guidance_then_imports_with_the_saved_mapping(tmp_path, home):
    from test_cli import folio_cmd

    path = sn_statement(tmp_path / "releve.csv")
    run = folio_cmd("import", path, "-p", "SGI", "--dry-run", home=home)
    assert run.returncode != 0
    assert "columns found: Réf. titre, Intitulé, Qté détenue" in run.stdout + run.stderr
    assert "no header row found" not in run.stdout + run.stderr
    saved = folio_cmd("mapping", "save", "sgi-exemple",
                      *(f"{c}={f}" for c, f in SN_MAPPING.items()), "--header-from", path,
                      home=home)
    assert saved.returncode == 0, saved.stderr
    run = folio_cmd("import", path, "-p", "SGI", home=home)
    assert run.returncode == 0, run.stderr
    assert "SGI @ 2024-05-31: imported 2 rows" in run.stdout
    assert "other lines: 3 title" in run.stdout


def test_a_dry_run_reads_it_with_the_guesses_roles_and_preview(tmp_path, home):
    from test_cli import folio_cmd

    path = tmp_path / "releve.csv"
    path.write_text("\n".join([*SN_TITLES, "", ";".join(["Réf. titre", "Intitulé", "Nb titres",
                                                          "Cours du jour", "Montant valorisé",
                                                          "Devise"]),
                                *SN_ROWS]) + "\n", encoding="utf-8")
    run = folio_cmd("import", path, "-p", "SGI", "--dry-run", home=home)
    assert run.returncode == 1  # nothing saved: the user checks, then saves the mapping
    out = run.stdout
    assert "'Nb titres' -> quantity" in out and "'Réf. titre' -> identifier" in out
    assert "SGI @ 2024-05-31: would import 2 rows" in out  # the title line's date
    assert "other lines: 3 title" in out
    preview = out[out.index("preview:"):]
    assert "SN0000000019" in preview and "CI0000000014" in preview and "355012.5" in preview


# A US-style report: "," and points; "Account,ZX-4471" is a title of two cells.
US_HEADER = ["Sec Ref", "Issue", "Holding", "Px", "Amount Base", "Curr Code"]


def us_report(path):
    path.write_text("Portfolio valuation report\n"
                    "Account,ZX-4471\n"
                    "As of 06/28/2024\n"
                    ",,,\n"
                    + ",".join(US_HEADER) + "\n"
                    "US0378331005,Apple Inc,10,210.50,2105.00,USD\n"  # 10 x 210.50
                    "US5949181045,Microsoft,4,450.25,1801.00,USD\n",  # 4 x 450.25
                    encoding="utf-8")
    return path


def test_a_comma_file_with_two_cell_title_lines(tmp_path):
    path = us_report(tmp_path / "report.csv")
    table = read_table(path)
    assert (table.header, table.header_row, table.delimiter) == (US_HEADER, 5, ",")
    assert table.rows.tolist() == [6, 7]
    assert table.titles == [(1, "Portfolio valuation report"), (2, "Account,ZX-4471"),
                            (3, "As of 06/28/2024")]  # not the line of commas alone
    with pytest.raises(folio.MappingError) as caught:
        folio.import_file(path, "US", via="local")
    assert caught.value.found == tuple(US_HEADER)
    folio.save_mapping("zx", {"Sec Ref": "identifier", "Issue": "name", "Holding": "quantity",
                              "Px": "price", "Amount Base": "market_value",
                              "Curr Code": "currency"}, header=US_HEADER)
    result = folio.import_file(path, "US", via="local")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == date(2024, 6, 28)  # month first: there is no 28th month
    stored = folio.positions("US", date(2024, 6, 28))
    assert stored["market_value"].tolist() == [2105.00, 1801.00]
    assert stored["quantity"].tolist() == [10.0, 4.0]


def test_a_first_data_row_of_words_alone_is_still_below_the_header(tmp_path):
    # The line under the header is a section title of words, as wide as the table;
    # "Client;BANQUE X" above is two word cells, over a "Date;..." line of as many.
    path = tmp_path / "releve.csv"
    path.write_text("Client;BANQUE X\n"
                    "Date;30/06/2024\n"
                    "\n"
                    "Réf. titre;Intitulé;Qté détenue;Montant valorisé\n"
                    "ACTIONS;Actions françaises;;\n"
                    "FR0000120271;Total SA;120;6 000,00\n", encoding="utf-8")
    table = read_table(path)
    assert table.header == ["Réf. titre", "Intitulé", "Qté détenue", "Montant valorisé"]
    assert table.header_row == 4
    assert table.frame["Réf. titre"].tolist() == ["ACTIONS", "FR0000120271"]
    assert table.rows.tolist() == [5, 6]


def test_title_lines_padded_to_the_table_width_are_not_the_header(tmp_path):
    # As a spreadsheet saves them: label and value in two cells, padded with ";".
    path = tmp_path / "releve.csv"
    path.write_text("Relevé de portefeuille;;;;;\n"
                    "Client :;SGI EXEMPLE;;;;\n"
                    "Date d'arrêté :;31/05/2024;;;;\n"
                    ";;;;;\n"
                    + ";".join(SN_HEADER) + "\n" + "\n".join(SN_ROWS) + "\n", encoding="utf-8")
    table = read_table(path)
    assert (table.header, table.header_row) == (SN_HEADER, 5)
    assert table.frame["Qté détenue"].tolist() == ["40", "25"]
    assert [t for t, _ in table.titles] == [1, 2, 3]
    folio.save_mapping("sgi-exemple", SN_MAPPING, header=SN_HEADER)
    result = folio.import_file(path, "SGI", via="local")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == date(2024, 5, 31)
    assert folio.positions("SGI", date(2024, 5, 31))["market_value"].tolist() == [
        740000.0, 355012.5]


def test_a_header_folio_knows_keeps_its_title_lines_out_of_the_roles(tmp_path):
    path = tmp_path / "positions.csv"
    path.write_text("Relevé au 31/05/2024\n\nISIN;Quantité;Cours;Devise\n"
                    "FR0000120271;10;50,00;EUR\n", encoding="utf-8")
    table = read_table(path)
    assert (table.header_row, table.titles) == (3, [])


def test_title_lines_with_no_table_below_are_still_no_header(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("Relevé de portefeuille\nClient : X\nDate : 30/06/2024\n", encoding="utf-8")
    with pytest.raises(folio.ReadError, match="no header row found"):
        read_table(path)


def test_a_large_file_read_in_blocks_finds_the_header_below_its_titles(tmp_path):
    rows = [f"SN0000000019;Sonatel;{n};18 500,00;{18_500 * n:,}".replace(",", " ") + ",00;XOF"
            for n in range(1, 201)]
    path = sn_statement(tmp_path / "releve.csv", rows)
    blocks = list(read_blocks(path, block_bytes=4096))
    assert len(blocks) > 1  # streamed, so the block reader found the header itself
    assert blocks[0].header == SN_HEADER and blocks[0].header_row == 5
    assert [t for t, _ in blocks[0].titles] == [1, 2, 3] and blocks[1].titles == []
    numbers = [int(r) for b in blocks for r in b.rows]
    assert numbers == list(range(6, 206))
    frame = pd.concat([b.frame for b in blocks])
    assert frame["Montant valorisé"].iloc[-1] == "3 700 000,00"  # 200 x 18,500


XLSX_HEADER = ["Réf. titre", "Intitulé", "Qté détenue", "Cours du jour", "Montant valorisé",
               "Monnaie de cotation"]


def custody_workbook(path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Avoirs"
    for row in (["Relevé des avoirs"], ["Dépositaire : Banque Y"], ["Situation au 30/04/2024"],
                [], XLSX_HEADER,
                ["CM0000000018", "SEMC", 100, 52000, 5200000, "XAF"],  # 100 x 52,000
                ["GA0000000018", "Total Gabon", 20, 160000, 3200000, "XAF"]):  # 20 x 160,000
        sheet.append(row)
    book.save(path)
    return path


def test_an_xlsx_with_title_rows_maps_then_imports(tmp_path):
    path = custody_workbook(tmp_path / "avoirs.xlsx")
    table = read_table(path)
    assert (table.header, table.header_row, table.sheet) == (XLSX_HEADER, 5, "Avoirs")
    assert [t for t, _ in table.titles] == [1, 2, 3]
    with pytest.raises(folio.MappingError) as caught:
        folio.import_file(path, "CEMAC", via="local")
    assert caught.value.found == tuple(XLSX_HEADER)
    folio.save_mapping("banque-y", {"Réf. titre": "identifier", "Intitulé": "name",
                                    "Qté détenue": "quantity", "Cours du jour": "price",
                                    "Montant valorisé": "market_value",
                                    "Monnaie de cotation": "currency"},
                       header=folio.catalog.file_header(path))
    result = folio.import_file(path, "CEMAC", via="local")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == date(2024, 4, 30)  # « Situation au 30/04/2024 »
    assert result.row_roles == {"title": 3}
    stored = folio.positions("CEMAC", date(2024, 4, 30))
    assert stored[["identifier", "quantity", "market_value", "currency"]].values.tolist() == [
        ["CM0000000018", 100.0, 5_200_000.0, "XAF"], ["GA0000000018", 20.0, 3_200_000.0, "XAF"]]


def test_the_import_panel_mapping_step_offers_the_real_columns(tmp_path):
    from folio.widgets import ImportPanel
    from folio.widgets.mapping_step import IGNORE

    path = sn_statement(tmp_path / "releve.csv")
    panel = ImportPanel()
    panel.path.value = str(path)
    assert panel.file_says.startswith("the file states as of 2024-05-31 (title line")
    panel.run(path, "SGI")
    step = panel.mapping_step
    step.wait()
    assert list(step.dropdowns) == SN_HEADER  # the table's columns, not the title's cells
    assert step.dropdowns["Réf. titre"].value == "identifier"
    assert step.dropdowns["Montant valorisé"].value == "market_value"
    assert panel.mapping.samples["Qté détenue"] == "40, 25"  # beside its dropdown
    assert panel.mapping.samples["Réf. titre"] == "SN0000000019, CI0000000014"
    step.dropdowns["Qté détenue"].value = "quantity"
    step.dropdowns["Intitulé"].value = "name"
    step.wait()
    assert panel.mapping.preview[["identifier", "quantity", "market_value"]].values.tolist() == [
        ["SN0000000019", 40.0, 740000.0], ["CI0000000014", 25.0, 355012.5]]
    assert IGNORE not in {d.value for d in step.dropdowns.values()}


def test_a_workbook_sheet_with_a_known_header_wins_over_an_earlier_shaped_one(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = "Synthèse"
    for row in (["Synthèse du portefeuille"], ["Classe", "Poids", "Montant"],
                ["Actions", "60 %", 600], ["Obligations", "40 %", 400]):
        summary.append(row)
    holdings = book.create_sheet("Positions")
    for row in (["ISIN", "Quantité", "Cours", "Devise"], ["FR0000120271", 10, 50, "EUR"]):
        holdings.append(row)
    book.save(tmp_path / "book.xlsx")
    table = read_table(tmp_path / "book.xlsx")
    assert (table.sheet, table.header, table.header_row) == (
        "Positions", ["ISIN", "Quantité", "Cours", "Devise"], 1)
    # Alone, the summary's table is found by its shape, under its title row.
    del book["Positions"]
    book.save(tmp_path / "summary.xlsx")
    table = read_table(tmp_path / "summary.xlsx")
    assert (table.sheet, table.header, table.header_row) == (
        "Synthèse", ["Classe", "Poids", "Montant"], 2)
    assert table.frame["Montant"].tolist() == ["600", "400"]
