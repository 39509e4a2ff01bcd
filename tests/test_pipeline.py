"""The import pipeline against a real store: SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

import folio
from folio.ingest.pipeline import ImportRequest, run_import
from folio.store.schema import import_issues, imports, positions

from builders import BAD_ISIN, BNP, ORANGE, TOTAL, english_csv, fr_row, french_csv
from contract import store_state, table_rows

pytestmark = pytest.mark.usefixtures("store")


def french_file(tmp_path, name="releve.csv"):
    return french_csv(tmp_path / name, [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00", issuer="TotalEnergies"),
        fr_row(ORANGE, "Orange SA", "2\u00a0500", "10,25", "25\u00a0625,00", issuer="Orange"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00"),
        fr_row(BNP, "BNP Paribas", "abc", "60,00", "600,00"),
    ], totals="86 735,00")


def test_dates_written_with_the_month_named_import(tmp_path):
    # A statement whose title and cells name the month: the as-of from the cells,
    # the maturities in French and in English, as such exports mix them.
    path = french_csv(tmp_path / "releve.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00",
               maturity="15 mars 2031", as_of="31 janv. 2024"),
        fr_row(ORANGE, "Orange SA", "2 500", "10,25", "25 625,00",
               maturity="1er août 2029", as_of="31 janv. 2024"),
        fr_row(BNP, "BNP Paribas", "10", "60,00", "600,00",
               maturity="30-Sep-2027", as_of="31 janv. 2024"),
    ], preamble=False)
    result = folio.import_file(path, "TRESO-SN")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == date(2024, 1, 31)
    stored = folio.positions("TRESO-SN", date(2024, 1, 31)).set_index("identifier")
    assert [str(stored.loc[i, "maturity_date"])[:10] for i in (TOTAL, ORANGE, BNP)] == [
        "2031-03-15", "2029-08-01", "2027-09-30"]


def test_currency_names_are_read_as_their_codes_and_said_once(tmp_path):
    path = tmp_path / "devises.csv"
    path.write_text("\n".join([
        "ISIN;Libellé;Quantité;Cours;Valorisation;Devise;Date",
        f"{TOTAL};Total;10;61,25;612,50;Euro;31/01/2024",
        f"{BNP};BNP;20;61,50;1230,00;EURO;31/01/2024",
        "US0378331005;Apple;5;185,50;927,50;Dollar US;31/01/2024",
        "US5949181045;Microsoft;5;400,00;2000,00;$;31/01/2024",
    ]) + "\n", encoding="utf-8")
    result = folio.import_file(path, "DEVISES")
    assert result.status == "partially_succeeded"  # "$" names no one currency
    issues = result.issues[["row", "code", "value"]].values.tolist()
    assert issues == [[2, "currency_resolved", "Euro"], [4, "currency_resolved", "Dollar US"],
                      [5, "invalid_currency", "$"]]
    stored = folio.positions("DEVISES").set_index("identifier")["currency"].to_dict()
    assert stored == {TOTAL: "EUR", BNP: "EUR", "US0378331005": "USD"}


def test_a_file_whose_money_headers_name_its_currency(tmp_path):
    path = tmp_path / "brvm.csv"
    path.write_text("\n".join([
        "ISIN;Libellé;Quantité;Cours (FCFA);Valorisation (FCFA)",
        "SN0000000019;Sonatel;100;15 000;1 500 000",
        "CI0000000600;SGB CI;50;12 000;600 000",
    ]) + "\n", encoding="utf-8")
    result = folio.import_file(path, "BRVM", as_of="2024-01-31")
    assert result.status == "succeeded", result.summary()
    # FCFA from the headers, then XOF from the ISINs' countries (Senegal, Côte d'Ivoire).
    assert result.issues[["row", "column", "code"]].values.tolist() == [
        [1, "Cours (FCFA)", "currency_resolved"], [2, "(currency: FCFA)", "currency_resolved"]]
    stored = folio.positions("BRVM").set_index("identifier")
    assert stored["currency"].tolist() == ["XOF", "XOF"]
    assert stored["market_value"].tolist() == [1_500_000.0, 600_000.0]


def test_an_as_of_in_a_title_line_with_the_month_named(tmp_path):
    path = tmp_path / "situation.csv"
    path.write_bytes("\r\n".join([
        "Situation du portefeuille au 31 janvier 2024;;;",
        "Code ISIN;Libellé;Quantité;Cours;Valeur de marché;Devise",
        f"{TOTAL};TotalEnergies SE;1 000;60,50;60 500,00;EUR",
    ]).encode("cp1252"))
    result = folio.import_file(path, "TRESO-SN")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == date(2024, 1, 31)


def test_french_statement_imports_with_line_numbers(tmp_path):
    result = folio.import_file(french_file(tmp_path), "TRESO-SN")
    assert result.status == "partially_succeeded"
    assert result.as_of == date(2024, 1, 31)  # from the Date de valorisation column
    assert (result.rows_total, result.rows_imported, result.rows_rejected) == (4, 2, 2)
    # Four preamble lines, the header on line 5: data starts on line 6.
    issues = result.issues[["row", "column", "code", "severity", "value"]].values.tolist()
    assert issues == [
        [8, "Code ISIN", "invalid_isin", "error", BAD_ISIN],
        [9, "Quantité", "invalid_number", "error", "abc"],
    ]
    stored = folio.positions("TRESO-SN").set_index("identifier")
    assert stored.loc[TOTAL, "quantity"] == 1000
    assert stored.loc[ORANGE, "market_value"] == pytest.approx(25625.0)
    assert stored.loc[TOTAL, "name"] == "TotalEnergies SE"
    assert list(stored["row"]) == [6, 7]
    assert result.reader["encoding"] == "cp1252" and result.reader["delimiter"] == ";"
    assert result.reader["decimal"] == ","


def test_reimport_is_unchanged_and_writes_nothing(tmp_path):
    path = french_file(tmp_path)
    first = folio.import_file(path, "TRESO-SN")
    before = store_state()
    second = folio.import_file(path, "TRESO-SN")
    assert second.status == "unchanged" and second.rows_imported == 0
    assert store_state() == before
    history = folio.imports("TRESO-SN")
    assert list(history["status"]) == ["partially_succeeded", "unchanged"]
    assert second.import_id != first.import_id


def test_new_file_for_same_date_replaces_snapshot_and_keeps_history(tmp_path):
    folio.import_file(french_file(tmp_path), "TRESO-SN")
    corrected = french_csv(tmp_path / "corrige.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "1 200", "60,50", "72 600,00"),
    ])
    result = folio.import_file(corrected, "TRESO-SN")
    assert result.status == "succeeded"
    stored = folio.positions("TRESO-SN")
    assert stored["identifier"].tolist() == [TOTAL] and stored["quantity"].tolist() == [1200]
    assert set(stored["import_id"]) == {result.import_id}
    assert len(folio.imports("TRESO-SN")) == 2


def test_failure_inside_the_store_step_leaves_store_as_it_was(tmp_path):
    folio.import_file(french_file(tmp_path), "TRESO-SN")
    before = store_state()
    replacement = french_csv(tmp_path / "autre.csv", [fr_row(ORANGE, "Orange", "1", "10", "10")])
    seen = []

    def crash(conn):
        # Inside the transaction the new rows are visible...
        seen.append(conn.execute(sa.select(sa.func.count()).select_from(positions)).scalar())
        raise RuntimeError("disk full")

    request = ImportRequest(path=str(replacement), portfolio="TRESO-SN")
    with pytest.raises(folio.ExecutionError, match="disk full") as info:
        run_import(request, before_commit=crash)
    assert seen == [1]
    assert store_state() == before  # ...and after the failure none of them are.
    record = folio.get_import(info.value.import_id)
    assert record.status == "failed" and "disk full" in record.error
    assert "RuntimeError" in info.value.remote_traceback


def test_failed_first_import_creates_no_portfolio(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
    request = ImportRequest(path=str(path), portfolio="NEW")

    def crash(conn):
        raise OSError("connection lost")

    with pytest.raises(folio.FolioError):
        run_import(request, before_commit=crash)
    assert store_state() == {"portfolios": [], "snapshots": [], "positions": []}


def test_base_currency_given_or_largest_value(tmp_path):
    rows = [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),
            ("CM0000000018", "Cameroun 2029", 1000, 100, 1000000, "XAF", "2024-01-31")]
    path = english_csv(tmp_path / "h.csv", rows)
    folio.import_file(path, "LARGEST")
    folio.create_portfolio("GIVEN", "eur")
    folio.import_file(path, "GIVEN")
    folio.import_file(path, "ARG", base_currency="USD")
    bases = folio.portfolios().set_index("name")["base_currency"].to_dict()
    assert bases == {"LARGEST": "XAF", "GIVEN": "EUR", "ARG": "USD"}
    with pytest.raises(folio.ConfigError, match="ISO 4217"):
        folio.create_portfolio("X", "FCFA")


def test_dry_run_writes_nothing(tmp_path):
    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "instruments.csv").write_text(f"identifier,name,currency\n{TOTAL},Total,EUR\n")
    assert folio.load_reference(ref).counts == {
        "instruments": {"added": 1, "replaced": 0, "skipped": 0}}
    job = folio.submit_import(french_file(tmp_path), "TRESO-SN", dry_run=True)
    result = job.result(60)
    assert result.status == "dry_run" and result.import_id is None
    assert result.rows_imported == 2 and len(result.issues) == 2
    assert list(result.preview["identifier"]) == [TOTAL, ORANGE]
    assert list(result.missing_instruments["identifier"]) == [ORANGE]
    assert store_state() == {"portfolios": [], "snapshots": [], "positions": []}
    assert table_rows(imports) == [] and table_rows(import_issues) == []


@pytest.mark.parametrize("in_memory", [200_000, 0])  # reference read once, or asked per block
def test_a_dry_run_finds_missing_instruments_against_a_small_or_large_reference(
        tmp_path, monkeypatch, in_memory):
    from folio.ingest import preview

    ref = tmp_path / "ref"
    ref.mkdir()
    (ref / "instruments.csv").write_text(f"identifier,name,currency\n{TOTAL},Total,EUR\n")
    folio.load_reference(ref)
    monkeypatch.setattr(preview, "REFERENCE_IN_MEMORY", in_memory)
    result = folio.submit_import(french_file(tmp_path), "TRESO-SN", dry_run=True).result(60)
    assert list(result.missing_instruments["identifier"]) == [ORANGE]


def test_a_dry_run_lists_every_missing_instrument_once_in_file_order_past_the_cap(
        tmp_path, monkeypatch):
    """The result holds the first MAX_RESULT_MISSING; the CSV holds all of them, each
    once, in the order the file first names them, whether or not the list spilled."""
    import os
    import tempfile

    from folio.ingest import preview, readers

    codes = [f"SEC{i:04d}" for i in range(60)]
    order = codes[:30] + ["SEC0003"] + codes[30:] + ["SEC0040", "SEC0059"]  # lots, far apart
    rows = [(c, f"Bond {c}", 1, 10.0, 10.0, "EUR", "2024-01-31",
             "2031-06-30" if k % 2 else "") for k, c in enumerate(order)]
    path = english_csv(tmp_path / "new.csv", rows, header="ISIN,Security Name,Quantity,Price,"
                       "Market Value,Currency,As Of Date,Maturity Date")
    monkeypatch.setattr(readers, "BLOCK_BYTES", 400)  # blocks: repeats come blocks later
    scratch_before = {n for n in os.listdir(tempfile.gettempdir()) if "folio-missing" in n}

    def dry(name: str):
        csv = tmp_path / name
        result = folio.submit_import(path, "P", dry_run=True, missing_csv=csv).result(60)
        return result, csv.read_text(encoding="utf-8")

    whole, whole_csv = dry("all-in-memory.csv")
    assert list(whole.missing_instruments["identifier"]) == codes and whole.missing_total == 60
    monkeypatch.setattr(preview, "MAX_RESULT_MISSING", 7)
    capped, capped_csv = dry("spilled.csv")
    assert list(capped.missing_instruments["identifier"]) == codes[:7]
    assert capped.missing_total == 60 and capped.to_dict()["missing_total"] == 60
    assert "SEC0006 and 53 more" in capped.summary()  # the seven it holds, and the rest
    assert capped_csv == whole_csv  # the same rows, values and dates, spilled or not
    assert [line.split(",")[0] for line in capped_csv.splitlines()[1:]] == codes
    assert "2031-06-30" in capped_csv
    assert {n for n in os.listdir(tempfile.gettempdir()) if "folio-missing" in n} == \
        scratch_before  # the scratch is gone


def test_missing_columns_lists_found_and_missing(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("ISIN,Libellé,Cours\nFR0000120271,Total,60\n", encoding="utf-8")
    with pytest.raises(folio.MappingError) as info:
        folio.import_file(path, "P", as_of="2024-01-31")
    err = info.value
    assert "quantity" in err.missing and "currency" in err.missing
    assert "ISIN" in err.found and "Libellé" in err.found
    assert folio.imports().iloc[0]["status"] == "failed"


def test_explicit_and_saved_mappings(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Ref;Nb;Val;Dev\nFR0000120271;10;600,00;EUR\n", encoding="utf-8")
    with pytest.raises(folio.MappingError):
        folio.import_file(path, "P", as_of="2024-01-31")
    cols = {"Ref": "identifier", "Nb": "quantity", "Val": "market_value", "Dev": "currency"}
    result = folio.import_file(path, "P", as_of="2024-01-31", mapping=cols)
    assert result.status == "succeeded" and result.mapping_name is None
    folio.save_mapping("custodian-x", cols)
    auto = folio.import_file(path, "Q", as_of="2024-01-31")  # used because the header matches
    assert auto.status == "succeeded" and auto.mapping_name == "custodian-x"
    assert "custodian-x" in auto.summary()
    named = folio.import_file(path, "R", as_of="2024-01-31", mapping="custodian-x")
    assert named.mapping_name == "custodian-x"
    with pytest.raises(folio.MappingError, match="no saved mapping named 'nope'"):
        folio.import_file(path, "S", as_of="2024-01-31", mapping="nope")
    with pytest.raises(folio.MappingError, match="not a field"):
        folio.save_mapping("bad", {"Ref": "isin_code"})


def test_every_row_rejected_is_a_failed_import(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(BAD_ISIN, "x", 1, 1, 1, "EUR", "2024-01-31")])
    result = folio.import_file(path, "P")
    assert result.status == "failed" and not result.ok and result.rows_imported == 0
    assert store_state()["positions"] == []


def test_several_as_of_dates_need_an_explicit_date(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "a", 1, 1, 1, "EUR", "2024-01-31"),
                                            (ORANGE, "b", 1, 1, 1, "EUR", "2024-02-29")])
    with pytest.raises(folio.ValidationError, match="2 as-of dates"):
        folio.import_file(path, "P")
    result = folio.import_file(path, "P", as_of="2024-02-29")
    assert result.issues["code"].tolist() == ["as_of_mismatch"]
    assert result.issues["row"].tolist() == [2]


def test_positions_frame_matches_file(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60.5, 605, "EUR", "2024-01-31")])
    folio.import_file(path, "P")
    frame = folio.positions("P", "2024-01-31")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 1
    row = frame.iloc[0]
    assert (row["quantity"], row["price"], row["market_value"], row["currency"]) == (10, 60.5, 605, "EUR")


def test_subtotal_lines_drop_but_names_starting_with_total_stay(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "ISIN,Name,Quantity,Market Value,Currency\n"
        f"{TOTAL},TotalEnergies SE,10,600,EUR\n"
        ",Sous-total Actions,,600,\n"
        f"{ORANGE},Orange,5,50,EUR\n"
        "TOTAL GÉNÉRAL,,,650,\n", encoding="utf-8")
    result = folio.import_file(path, "P", as_of="2024-01-31")
    assert result.status == "succeeded" and result.issues.empty
    assert folio.positions("P")["name"].tolist() == ["TotalEnergies SE", "Orange"]


def test_duplicate_rows_are_errors_and_repeated_instruments_warnings(tmp_path):
    path = english_csv(tmp_path / "dups.csv", [
        (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),       # row 2
        (ORANGE, "Orange", 5, 12, 60, "EUR", "2024-01-31"),       # row 3
        (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),       # row 4: same as row 2
        (TOTAL, "Total lot 2", 3, 60, 180, "EUR", "2024-01-31"),  # row 5: another lot
        (BNP, "BNP", 1, 50, 50, "EUR", "2024-01-31"),             # row 6
        (ORANGE, "Orange", 5, 12, 60, "EUR", "2024-01-31"),       # row 7: same as row 3
    ])
    result = folio.import_file(path, "P", as_of="2024-01-31")
    found = {(i.row, i.code, i.severity, i.message if i.code == "duplicate_row" else None)
             for i in result.issues.itertuples()}
    assert found == {
        (4, "duplicate_row", "error", "same as row 2"),
        (7, "duplicate_row", "error", "same as row 3"),
        (5, "duplicate_instrument", "warning", None),
    }
    assert result.rows_rejected == 2 and result.rows_imported == 4


def test_two_imports_creating_one_portfolio_at_once_both_succeed(tmp_path, store):
    """On PostgreSQL both transactions find the portfolio missing and both insert it;
    the second used to fail on the primary key (seen under the load test)."""
    import threading
    import time

    first = english_csv(tmp_path / "a.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
    second = english_csv(tmp_path / "b.csv", [(ORANGE, "Orange", 5, 12.5, 62.5, "EUR",
                                               "2024-02-29")])
    inside = threading.Event()

    def hold(conn):  # the first import's portfolio row is written, not yet committed
        inside.set()
        time.sleep(1.0)  # the second import reaches its own insert meanwhile

    results: dict[str, object] = {}

    def run(name, path, **kw):
        try:
            results[name] = run_import(ImportRequest(path=str(path), portfolio="NEW"), **kw)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[name] = exc

    a = threading.Thread(target=run, args=("a", first), kwargs={"before_commit": hold})
    a.start()
    assert inside.wait(30)
    run("b", second)
    a.join()
    assert [getattr(results[k], "status", results[k]) for k in ("a", "b")] == [
        "succeeded", "succeeded"]
    assert len(folio.portfolios().query("name == 'NEW'")) == 1


def test_a_dry_run_summary_points_at_its_issues_not_at_a_missing_record(tmp_path):
    rows = [(BAD_ISIN, f"Bad {i}", 1, 10, 10, "EUR", "2024-01-31") for i in range(12)]
    result = folio.import_file(english_csv(tmp_path / "bad.csv", rows), "P", dry_run=True)
    summary = result.summary()
    assert "2 more issues (result.issues)" in summary and "None" not in summary
    stored = folio.import_file(english_csv(tmp_path / "bad2.csv", rows), "P")
    assert f"2 more issues (folio issues {stored.import_id} --csv)" in stored.summary()


def test_an_explicit_mapping_ignores_a_column_whose_name_is_an_alias():
    from folio.ingest.columns import resolve

    header = ["ISIN", "Name", "Qty", "Currency", "Price"]
    mapped = resolve(header, {"Qty": "quantity", "Name": "ignore"})
    # By hand: ISIN, Currency and Price by their aliases; Name left out though an alias.
    assert mapped.columns == {"Qty": "quantity", "ISIN": "identifier",
                              "Currency": "currency", "Price": "price"}
    assert resolve(header, {"Qty": "quantity"}).columns["Name"] == "name"
