"""Choosing and forcing a preset, and saved mappings as user presets.

Files come from ``tests/layouts.py`` (made-up values); expected figures are
worked out by hand from them.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

import folio
import layouts
from folio.ingest.pipeline import ImportRequest
from test_cli import folio_cmd

MY_SCHWAB = """\
name: my-schwab
description: Schwab's layout, for an account kept in Canadian dollars
match:
  header: [Symbol, Description, Quantity, Price, Market Value]
  title: '^"?Positions for '
columns: {identifier: Symbol, quantity: Quantity, price: Price, market_value: Market Value}
constants: {currency: CAD}
rows:
  - {column: Symbol, match: '^Cash & Cash', role: cash}
  - {column: Symbol, match: '^Account Total', role: total}
"""


def _my_schwab(home):
    (home / "presets").mkdir(parents=True, exist_ok=True)
    (home / "presets" / "my_schwab.yaml").write_text(MY_SCHWAB, encoding="utf-8")


def test_a_file_two_presets_match_is_an_error_naming_both(tmp_path, home):
    _my_schwab(home)
    path = layouts.write_schwab(tmp_path)
    with pytest.raises(folio.MappingError, match=r"several presets \(my-schwab, schwab\)"):
        folio.import_file(path, "P", via="local")


@pytest.mark.parametrize(("preset", "currency"), [("schwab", "USD"), ("my-schwab", "CAD")])
def test_preset_chooses_among_those_that_match(tmp_path, home, preset, currency):
    _my_schwab(home)
    result = folio.import_file(layouts.write_schwab(tmp_path), "P", via="local", preset=preset)
    assert result.status == "succeeded" and result.preset == preset
    stored = folio.positions("P", result.as_of)
    # 2,250.00 + 2,523.00 in the preset's currency; the cash line 1,003.40 apart
    assert stored.groupby("currency")["market_value"].sum().to_dict() == {currency: 4773.00}
    assert result.cash == {currency: 1003.40}


def test_a_user_preset_edited_between_imports_is_read_again(tmp_path, home):
    """Presets are kept between imports; an edit (same size, same second) still counts."""
    _my_schwab(home)
    path = layouts.write_schwab(tmp_path)
    first = folio.import_file(path, "P", via="local", preset="my-schwab")
    edited = MY_SCHWAB.replace("{currency: CAD}", "{currency: XOF}")
    assert len(edited) == len(MY_SCHWAB)
    preset_file = home / "presets" / "my_schwab.yaml"
    before = preset_file.stat()
    preset_file.write_text(edited, encoding="utf-8")
    os.utime(preset_file, ns=(before.st_atime_ns, before.st_mtime_ns))  # as if in the same tick
    second = folio.import_file(path, "Q", via="local", preset="my-schwab")
    assert first.cash == {"CAD": 1003.40} and second.cash == {"XOF": 1003.40}


def test_preset_forces_one_the_header_does_not_match(tmp_path):
    # Vanguard's layout without its Account Number column: no preset claims it,
    # and folio's aliases find no currency; forced, the preset's USD applies.
    path = tmp_path / "holdings.csv"
    path.write_text("Investment Name,Symbol,Shares,Share Price,Total Value\n"
                    "VANGUARD 500 INDEX ADMIRAL,VFIAX,2,500.00,1000.00\n"
                    "VANGUARD TOTAL BOND MARKET INDEX ADMIRAL,VBTLX,10,9.80,98.00\n",
                    encoding="utf-8")
    with pytest.raises(folio.MappingError, match="currency"):
        folio.import_file(path, "P", as_of="2025-03-31", via="local")
    result = folio.import_file(path, "P", as_of="2025-03-31", via="local", preset="vanguard")
    assert result.status == "succeeded" and result.preset == "vanguard"
    stored = folio.positions("P", date(2025, 3, 31))
    assert stored.groupby("currency")["market_value"].sum().to_dict() == {"USD": 1098.00}


def test_an_unknown_preset_is_an_error_listing_the_names(tmp_path):
    with pytest.raises(folio.MappingError, match=r"no preset named 'nope'; presets: .*schwab"):
        folio.import_file(layouts.write_schwab(tmp_path), "P", via="local", preset="nope")


def test_the_preset_travels_with_the_request_to_a_worker():
    request = ImportRequest(path="/x.csv", portfolio="P", preset="brvm-sgi")
    assert ImportRequest(**request.to_json()).preset == "brvm-sgi"


def test_cli_import_takes_preset(tmp_path, home):
    _my_schwab(home)
    run = folio_cmd("import", layouts.write_schwab(tmp_path), "-p", "P", "--dry-run",
                    "--preset", "my-schwab", home=home)
    assert run.returncode == 0, run.stderr
    assert "preset: my-schwab" in run.stdout and "CAD 1,003.40" in run.stdout


# A custodian's file no preset knows: its header, and a line of cash.
CUSTODIAN_HEADER = "Réf titre;Nom;Nb titres;Cours;Montant"
CUSTODIAN_ROWS = ("SN0000000019;SONATEL;10;25 000;250 000\n"
                  "CI0000000014;EXEMPLE CI;4;10 000,50;40 002\n"
                  "ESPECES;;;;12 345,60\n")
CUSTODIAN = {"Réf titre": "identifier", "Nom": "name", "Nb titres": "quantity",
             "Cours": "price", "Montant": "market_value"}


def _custodian(path, header=CUSTODIAN_HEADER):
    path.write_text(f"{header}\n{CUSTODIAN_ROWS}", encoding="utf-8")
    return path


def test_a_saved_mapping_is_a_user_preset_with_constants_and_row_rules(tmp_path):
    path = _custodian(tmp_path / "releve.csv")
    folio.save_mapping("custodian-sn", CUSTODIAN, constants={"currency": "XOF"},
                       rows=[{"column": "Réf titre", "match": "^ESPECES$", "role": "cash"}],
                       decimal=",")
    result = folio.import_file(path, "P", as_of="2025-10-31", via="local")  # no mapping named
    assert result.status == "succeeded", result.summary()
    assert (result.preset, result.mapping_name) == ("custodian-sn", "custodian-sn")
    assert result.row_roles == {"cash": 1} and result.cash == {"XOF": 12345.60}
    stored = folio.positions("P", date(2025, 10, 31))
    assert list(stored["identifier"]) == ["SN0000000019", "CI0000000014"]
    assert stored.groupby("currency")["market_value"].sum().to_dict() == {"XOF": 290002.00}
    listed = {p["name"]: p for p in folio.presets()}
    assert listed["custodian-sn"]["user"] and listed["custodian-sn"]["exact"]


def test_a_saved_mapping_never_applies_to_a_file_that_merely_holds_its_columns(tmp_path):
    folio.save_mapping("custodian-sn", CUSTODIAN, constants={"currency": "XOF"})
    wider = _custodian(tmp_path / "other.csv", CUSTODIAN_HEADER + ";Devise")
    with pytest.raises(folio.MappingError):  # Devise is empty: folio's own reading fails
        folio.import_file(wider, "P", as_of="2025-10-31", via="local")
    # By name, it applies wherever its columns are.
    named = folio.import_file(wider, "P", as_of="2025-10-31", via="local",
                              mapping="custodian-sn")
    assert named.preset == "custodian-sn"


def test_a_saved_mapping_signature_is_the_header_it_was_made_on(tmp_path):
    path = _custodian(tmp_path / "releve.csv", CUSTODIAN_HEADER + ";Commentaire")
    header = folio.catalog.file_header(path)
    assert header == ["Réf titre", "Nom", "Nb titres", "Cours", "Montant", "Commentaire"]
    folio.save_mapping("custodian-sn", CUSTODIAN, header=header,
                       constants={"currency": "XOF"}, decimal=",")
    result = folio.import_file(path, "P", as_of="2025-10-31", via="local")
    assert result.preset == "custodian-sn"


def test_cli_mapping_save_with_constants_rows_and_signature(tmp_path, home):
    path = _custodian(tmp_path / "releve.csv")
    saved = folio_cmd("mapping", "save", "custodian-sn", *(f"{c}={f}" for c, f in
                                                            CUSTODIAN.items()),
                      "--header-from", path, "--constant", "currency=XOF",
                      "--row", "Réf titre", "^ESPECES$", "cash", "--decimal", ",", home=home)
    assert saved.returncode == 0, saved.stderr
    assert "1 constants, 1 row rules" in saved.stdout
    run = folio_cmd("import", path, "-p", "P", "--as-of", "2025-10-31", "--dry-run", home=home)
    assert run.returncode == 0, run.stderr
    assert "preset: saved mapping 'custodian-sn'" in run.stdout
    assert "XOF 12,345.60" in run.stdout


def test_missing_columns_error_guesses_and_shows_the_commands(tmp_path):
    path = _custodian(tmp_path / "releve.csv")
    with pytest.raises(folio.MappingError) as caught:
        folio.import_file(path, "P", as_of="2025-10-31", via="local")
    err = caught.value
    assert err.found == ("Réf titre", "Nom", "Nb titres", "Cours", "Montant")
    assert err.guesses == CUSTODIAN  # every column, by the closest alias of each field
    assert err.command.startswith("folio mapping save my-custodian ")
    assert "'Réf titre=identifier'" in err.command and "--header-from releve.csv" in err.command
    assert "--constant 'currency=<CODE>'" in err.command  # the file names no currency
    assert err.python.startswith("folio.save_mapping('my-custodian', {")
    assert err.command in err.message and err.python in err.message


def test_dry_run_of_an_unknown_file_prints_the_guessed_mapping_roles_and_preview(tmp_path, home):
    path = tmp_path / "releve.csv"
    path.write_text("Réf titre;Nom;Nb titres;Cours;Montant;Devise\n"
                    "SN0000000019;SONATEL;10;25 000;250 000;XOF\n"
                    "Sous-total;;;;250 000;XOF\n", encoding="utf-8")
    run = folio_cmd("import", path, "-p", "P", "--as-of", "2025-10-31", "--dry-run", home=home)
    assert run.returncode == 1  # nothing saved: the user checks, then saves the mapping
    out = run.stdout
    assert "folio mapping save my-custodian" in out
    assert "guessed mapping: " in out and "'Nb titres' -> quantity" in out
    assert "other lines: 1 total" in out
    assert "preview:" in out and "SN0000000019" in out


def test_dry_run_of_a_file_naming_no_currency_previews_its_positions(tmp_path, home):
    path = _custodian(tmp_path / "releve.csv")  # no currency column, no currency anywhere
    run = folio_cmd("import", path, "-p", "P", "--as-of", "2025-10-31", "--dry-run", home=home)
    assert run.returncode == 1  # nothing saved: the user gives the currency, then saves
    out = run.stdout
    assert "the file names no currency: shown as XXX" in out
    assert "--constant currency=CODE" in out
    # One warning says so; no row is rejected for it, and the preview shows them.
    assert "currency_unknown" in out and "invalid_currency" not in out
    assert "2 read, 2 to import, 0 rejected, 1 warnings" in out
    preview = out[out.index("preview:"):]
    assert "SN0000000019" in preview and "CI0000000014" in preview
    assert preview.count("XXX") == 2


def test_the_no_currency_stand_in_is_still_refused_by_an_import(tmp_path):
    path = _custodian(tmp_path / "releve.csv")
    result = folio.import_file(path, "P", as_of="2025-10-31", via="local", mapping=CUSTODIAN,
                               constants={"currency": "XXX"})
    assert result.status == "failed"
    assert set(result.issues["code"]) == {"invalid_currency"}
