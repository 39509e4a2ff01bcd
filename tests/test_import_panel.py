"""The import panel asserted on its state: widget values, options, styles, stores.

Expected figures are worked out by hand from the files each test writes.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
from datetime import date

import ipywidgets as w
import pandas as pd
import pytest

import folio
from folio.execution.uploads import ChunkedUpload
from folio.widgets import ImportPanel, save_upload
from folio.widgets.mapping_step import IGNORE, MappingState

from builders import (
    BAD_ISIN,
    BNP,
    ORANGE,
    TOTAL,
    big_english_csv,
    formula_statement,
    fr_row,
    french_csv,
)

# A custodian whose headers folio has no alias for (and no currency column).
UNKNOWN_HEADER = "Réf. titre;Intitulé;Qté détenue;Cours du jour;Montant valorisé"


def two_quantities(path, name: str | None = None):
    """One row whose Quantité (10) and Nombre (12) both mean quantity; with
    ``name``, a Libellé column (folio's alias for the name) too."""
    named = ("Libellé;", f"{name};") if name is not None else ("", "")
    path.write_text(f"ISIN;{named[0]}Quantité;Nombre;Cours;Devise\n"
                    f"{TOTAL};{named[1]}10;12;5,00;EUR\n", encoding="utf-8")
    return path


def statement(tmp_path):
    return formula_statement(tmp_path / "releve.csv")


def unknown_file(path, rows):
    path.write_bytes(("\r\n".join([UNKNOWN_HEADER, *rows]) + "\r\n").encode("cp1252"))
    return path


def plain(widget) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", widget.value))


def test_panel_is_a_widget_that_composes():
    panel = ImportPanel()
    box = w.VBox([panel])  # raised TraitError when the panel was not a widget
    assert box.children == (panel,) and isinstance(panel, w.VBox)
    assert panel.via.value == "local"  # the tests' FOLIO_EXECUTION
    assert not panel.button.disabled and panel.sheet.layout.display == "none"
    # Samples are offered by name, never by a path of this machine.
    assert "treso_sn_2024-02-29.csv" in panel.path.options
    assert all("/" not in name for name in panel.path.options)
    panel.path.value = "treso_sn_2024-02-29.csv"
    assert panel.source() == (folio.config.PROJECT_DATA / "holdings" / "treso_sn_2024-02-29.csv",
                              "treso_sn_2024-02-29.csv")


def test_panel_imports_and_shows_issues(tmp_path):
    panel = ImportPanel()
    panel.path.value = str(statement(tmp_path))
    # Its title line says "Arrêté au 31/01/2024".
    assert panel.file_says.startswith("the file states as of 2024-01-31 (title line")
    job = panel.run(statement(tmp_path), "TRESO-SN", as_of="2024-01-31")
    assert job.result().status == "partially_succeeded"
    assert panel.bar.value == 100 and panel.bar.bar_style == "warning"
    # 4 rows: a bad ISIN and a formula for a quantity are rejected.
    assert panel.message == "releve.csv: imported 2 of 4 rows, 2 rejected"
    assert "folio-warn" in panel.status.value  # partial: in the warning colour
    assert job.id not in panel.status.value and plain(panel.ident) == f"import id {job.id}"
    assert "as of 2024-01-31" in plain(panel.counts)
    assert panel.issues[["row", "code"]].values.tolist() == [[8, "invalid_isin"],
                                                             [9, "invalid_number"]]
    view = panel.issues_view  # counted by code first, the rows on demand
    assert view.counts[["code", "count"]].values.tolist() == [["invalid_isin", 1],
                                                              ["invalid_number", 1]]
    assert view.rows is None
    view.show_rows.value = True
    assert "FR0000120272" in view.rows.view.value
    with open(view.write(), newline="", encoding="utf-8") as f:  # written by the store
        rows = list(csv.DictReader(f))
    assert [r["value"] for r in rows] == [BAD_ISIN, "'=1+1"]  # formula escaped
    assert not panel.button.disabled and not panel.dry_button.disabled


def test_again_reads_already_imported_and_a_dry_run_says_would_import(tmp_path):
    path = statement(tmp_path)
    panel = ImportPanel()
    panel.run(path, "TRESO-SN", as_of="2024-01-31", dry_run=True)
    assert panel.result.status == "dry_run" and panel.result.import_id is None
    assert panel.message == "releve.csv: would import 2 of 4 rows, 2 rejected; " \
                                  "nothing written"
    assert panel.ident.value == "" and folio.portfolios().empty
    panel.run(path, "TRESO-SN", as_of="2024-01-31")
    panel.run(path, "TRESO-SN", as_of="2024-01-31")
    assert panel.result.status == "unchanged" and panel.bar.bar_style == "info"
    assert panel.message == "releve.csv: already imported (same file): nothing written"


def test_panel_shows_a_page_of_many_issues_and_says_where_the_rest_are(tmp_path, monkeypatch):
    from folio.ingest import pipeline, validate

    rows = [fr_row(BAD_ISIN, f"Clé fausse {i}", "10", "1,00", "10,00") for i in range(8)]
    path = french_csv(tmp_path / "faux.csv", rows + [fr_row(TOTAL, "Total", "1", "1,00", "1,00")])
    for module in (validate, pipeline):
        monkeypatch.setattr(module, "MAX_RESULT_ISSUES", 5)
    panel = ImportPanel()
    job = panel.run(path, "TRESO-SN", as_of="2024-01-31")
    assert job.result().issues_total == 8 and len(panel.issues) == 5
    view = panel.issues_view
    assert "8 issues" in view.summary.value and "(5 shown here)" in view.summary.value
    assert view.by_code.rows["code"].tolist() == ["invalid_isin"]  # one line, not 8 rows
    with open(view.write(), newline="", encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 8  # the store's export has every issue


def test_panel_reports_errors_in_its_status(tmp_path):
    panel = ImportPanel()
    assert panel.start() is None
    assert "choose or upload a file" in panel.status.value and panel.bar.bar_style == "danger"
    assert "folio-error" in panel.status.value  # a theme class, not a colour
    bad = tmp_path / "x.csv"
    bad.write_text("ISIN;Libellé\nFR0000120271;Total\n", encoding="utf-8")
    panel.run(bad, "P", as_of="2024-01-31")
    # Known columns but no quantity or currency: the mapping step, pre-set to ISIN's field.
    assert panel.mapping.choices == {"ISIN": "identifier", "Libellé": "name"}
    assert panel.mapping_step is not None and panel.bar.bar_style == "warning"


def test_panel_auto_says_why_it_ran_locally(tmp_path):
    panel = ImportPanel()
    panel.via.value = "auto"
    assert plain(panel.worker) == "no worker live"
    panel.run(statement(tmp_path), "P", as_of="2024-01-31")
    assert "no worker live on queue 'folio'" in plain(panel.counts)


def test_import_button_is_disabled_while_an_import_runs(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", 300_000)
    panel = ImportPanel()
    panel.path.value, panel.portfolio.value = str(path), "BIG"
    panel.as_of.value = date(2024, 1, 31)
    job = panel.start()
    # The watcher re-enables the buttons only once the job is over; 300,000 rows
    # take far longer than the few statements between here and start().
    assert panel.button.disabled and panel.dry_button.disabled and not job.done()
    assert panel.upload.disabled
    panel.wait(240)
    assert job.result().rows_imported == 300_000
    assert not panel.button.disabled and not panel.dry_button.disabled
    assert not panel.upload.disabled


def test_mapping_step_maps_an_unknown_file_end_to_end(tmp_path):
    path = unknown_file(tmp_path / "positions_2024-06-30.csv", [
        f"{TOTAL};Total SA;120;50,00;6 000,00",
        f"{ORANGE};Orange;300;10,50;3 150,00",
    ])
    panel = ImportPanel()
    panel.path.value = str(path)
    # What the file states is shown before importing: here, the date in its name.
    assert panel.file_says == "the file states as of 2024-06-30 (file name " \
                              "'positions_2024-06-30.csv')"
    panel.run(path, "BANQUE-X")
    step = panel.mapping_step
    step.wait()
    assert [d.value for d in step.dropdowns.values()] == [
        "identifier", IGNORE, IGNORE, "price", "market_value"]  # folio's guesses
    assert step.dropdowns["Intitulé"].options[0] == IGNORE
    assert panel.mapping.samples["Qté détenue"] == "120, 300"  # beside its dropdown
    assert set(step.dropdowns["Intitulé"].options) == {IGNORE, *folio.catalog.FIELDS}
    assert "quantity, currency" in plain(step.note) and step.import_button.disabled
    step.dropdowns["Qté détenue"].value = "quantity"
    step.dropdowns["Intitulé"].value = "name"
    step.constants["currency"].value = "xof"
    step.wait()
    preview = panel.mapping.preview
    assert preview[["identifier", "name", "quantity", "price", "market_value", "currency"]] \
        .values.tolist() == [[TOTAL, "Total SA", 120.0, 50.0, 6000.0, "XOF"],
                             [ORANGE, "Orange", 300.0, 10.5, 3150.0, "XOF"]]
    assert "3,150" in step.preview.value and plain(step.note) == "would import 2 rows; nothing written"
    assert folio.portfolios().empty  # previews write nothing
    step.name.value = "banque-x"
    assert step.save() == "banque-x"
    assert ("banque-x (yours)", "banque-x") in panel.preset.options
    step.import_button.click()
    panel.wait(120)
    assert panel.result.status == "succeeded" and panel.result.preset == "banque-x"
    assert panel.mapping is None and panel.step.children == ()
    stored = folio.positions("BANQUE-X")
    assert stored[["as_of", "identifier", "quantity", "market_value", "currency"]] \
        .values.tolist() == [[pd.Timestamp(2024, 6, 30), TOTAL, 120.0, 6000.0, "XOF"],
                             [pd.Timestamp(2024, 6, 30), ORANGE, 300.0, 3150.0, "XOF"]]
    # The next file with this header is read with the preset, no step needed.
    later = unknown_file(tmp_path / "positions_2024-07-31.csv", [f"{BNP};BNP;10;60,00;600,00"])
    panel.run(later, "BANQUE-X")
    assert panel.mapping_step is None and panel.result.preset == "banque-x"
    assert folio.positions("BANQUE-X", "2024-07-31")["market_value"].tolist() == [600.0]


def test_mapping_state_says_what_is_missing_or_chosen_twice(tmp_path):
    path = unknown_file(tmp_path / "x.csv", [f"{TOTAL};Total SA;120;50,00;6 000,00"])
    with pytest.raises(folio.MappingError) as caught:
        folio.import_file(path, "P", as_of="2024-06-30", dry_run=True)
    state = MappingState.from_error(path, caught.value)
    state.choose("Intitulé", "quantity")
    state.choose("Qté détenue", "quantity")
    state.set_constant("currency", "EUR")
    assert state.repeated == ["quantity"] and state.missing == []
    assert state.refresh() is None and state.problem == "one column each for quantity"
    state.choose("Intitulé", IGNORE)
    assert state.refresh("P", "2024-06-30").rows_imported == 1
    with pytest.raises(folio.MappingError, match="not a field"):
        state.choose("Intitulé", "colour")


def test_xlsx_lists_its_sheets_and_the_chosen_one_is_read(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Prepared for the board"])
    for title, qty in (("Fund A", 10), ("Fund B", 25)):
        sheet = book.create_sheet(title)
        sheet.append(["ISIN", "Quantity", "Price", "Market Value", "Currency"])
        sheet.append([TOTAL, qty, 2.0, qty * 2.0, "EUR"])
    path = tmp_path / "funds.xlsx"
    book.save(path)
    panel = ImportPanel()
    panel.path.value = str(path)
    assert panel.file_says == "the file states no as-of date: give one above"
    assert panel.sheet.layout.display == "" and [v for _, v in panel.sheet.options] == [
        "", "Notes", "Fund A", "Fund B"]
    panel.sheet.value = "Fund B"
    panel.run(path, "P", as_of="2024-01-31")
    assert folio.positions("P")["quantity"].tolist() == [25.0]  # Fund B's, not the first's
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    panel.path.value = str(broken)
    assert panel.file_says.startswith("broken.xlsx: cannot open the workbook")


def test_base_currency_and_preset_reach_the_import(tmp_path):
    panel = ImportPanel()
    panel.base_currency.value = "usd"
    path = statement(tmp_path)
    panel.run(path, "NEW-PF", as_of="2024-01-31")
    assert folio.portfolios().set_index("name").loc["NEW-PF", "base_currency"] == "USD"
    panel.preset.value = "degiro-en"  # forced: a preset whose columns this file lacks
    panel.run(path, "NEW-PF", as_of="2024-01-31", dry_run=True)
    assert panel.bar.bar_style == "warning" and "cannot map" in panel.message
    assert panel.mapping.choices["Code ISIN"] == "identifier"  # the step, with folio's guesses


def test_upload_is_saved_safely(tmp_path, home):
    content = statement(tmp_path).read_bytes()
    saved = save_upload("../../etc/passwd relevé.csv", content)
    assert saved.parent == folio.get_settings().uploads
    assert ".." not in saved.name and "/" not in saved.name and saved.name.endswith("-passwd_relev_.csv")
    assert saved.read_bytes() == content
    other = save_upload("passwd_relevé.csv", b"other bytes")
    assert other != saved and saved.read_bytes() == content  # never overwritten
    assert save_upload("again.csv", content).read_bytes() == content
    with folio.configure(max_file_mb=0.000001):
        with pytest.raises(folio.ReadError, match="over the limit"):
            save_upload("big.csv", b"x" * 100)


def browser(upload, content: bytes, chunk: int, name: str = "relevé.csv") -> list[dict]:
    """Play the browser's side of an upload: send each piece the kernel asks for."""
    asked: list[dict] = []
    upload.send = lambda message, buffers=None: asked.append(message)
    upload.receive({"kind": "start", "name": name, "size": len(content)})
    while asked and asked[-1]["kind"] == "next":
        offset = asked[-1]["offset"]
        upload.receive({"kind": "piece", "offset": offset}, [content[offset:offset + chunk]])
    return asked


def test_upload_in_pieces_is_shown_by_its_own_name(tmp_path):
    content = statement(tmp_path).read_bytes()
    panel = ImportPanel()
    asked = browser(panel.upload, content, chunk=100)
    assert [m["offset"] for m in asked[:-1]] == list(range(0, len(content), 100))
    assert asked[-1] == {"kind": "end"} and panel.upload.state == "done"
    kept = panel.uploaded
    assert kept.read_bytes() == content
    assert kept.name == f"{hashlib.sha256(content).hexdigest()[:16]}-relev_.csv"
    assert panel.path.value == "relevé.csv"  # never the hashed name
    panel.portfolio.value = "P"
    panel.as_of.value = date(2024, 1, 31)
    panel.start()
    panel.wait(60)
    assert panel.message == "relevé.csv: imported 2 of 4 rows, 2 rejected"
    assert folio.imports()["file_name"].tolist() == ["relevé.csv"]
    assert not list(folio.get_settings().uploads.glob(".*.part"))


def test_a_failed_or_too_large_upload_says_so_and_leaves_nothing(tmp_path):
    panel = ImportPanel()
    with folio.configure(max_file_mb=0.001):  # 1,048 bytes
        asked = browser(panel.upload, b"x" * 2000, chunk=100, name="big.csv")
    assert asked == [{"kind": "end"}] and panel.upload.state == "failed"
    assert panel.message == "big.csv: 2,000 bytes is over the limit of 1,048 " \
                                  "(FOLIO_MAX_FILE_MB)"
    assert panel.bar.bar_style == "danger"
    # A piece out of order (a lost message): refused, and the part written is removed.
    sent: list[dict] = []
    panel.upload.send = lambda message, buffers=None: sent.append(message)
    panel.upload.receive({"kind": "start", "name": "r.csv", "size": 300})
    panel.upload.receive({"kind": "piece", "offset": 0}, [b"a" * 100])
    panel.upload.receive({"kind": "piece", "offset": 200}, [b"c" * 100])
    assert panel.upload.state == "failed" and sent[-1] == {"kind": "end"}
    assert "arrived with 100 of 300 received; nothing was saved" in panel.message
    assert not list(folio.get_settings().uploads.glob("*"))  # no part, no file
    panel.upload.receive({"kind": "start", "name": "r.csv", "size": 300})
    panel.upload.receive({"kind": "fail", "reason": "NotReadableError"})
    assert "the browser could not read the file (NotReadableError)" in panel.message


def test_chunked_upload_keeps_one_copy_of_one_content(tmp_path):
    first = ChunkedUpload(tmp_path, "a.csv", 6, limit=100)
    first.write(0, b"abc")
    first.write(3, b"def")
    kept = first.finish()
    again = ChunkedUpload(tmp_path, "a.csv", 6, limit=100)
    again.write(0, b"abcdef")
    assert again.finish() == kept and kept.read_bytes() == b"abcdef"
    short = ChunkedUpload(tmp_path, "a.csv", 6, limit=100)
    short.write(0, b"abc")
    with pytest.raises(folio.ReadError, match="stopped at 3 of 6 bytes"):
        short.finish()
    assert sorted(p.name for p in tmp_path.iterdir()) == [kept.name]


def test_what_the_file_states_comes_from_its_rows_without_a_title(tmp_path):
    path = french_csv(tmp_path / "sans_titre.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "10", "60,50", "605,00", as_of="29/02/2024")],
        preamble=False)
    panel = ImportPanel()
    panel.path.value = str(path)
    assert panel.file_says == ("the rows state their as-of date in column 'Date de "
                               "valorisation' (the first: 29/02/2024)")
    panel.run(path, "P")
    assert panel.result.as_of == date(2024, 2, 29)


def test_two_columns_of_one_meaning_open_the_step_with_one_chosen(tmp_path):
    path = two_quantities(tmp_path / "double.csv")
    panel = ImportPanel()
    panel.run(path, "P", as_of="2024-01-31")
    assert panel.mapping.choices == {"ISIN": "identifier", "Quantité": "quantity",
                                     "Nombre": IGNORE, "Cours": "price", "Devise": "currency"}
    step = panel.mapping_step
    step.wait()
    assert panel.mapping.preview["quantity"].tolist() == [10.0]
    step.dropdowns["Quantité"].value = IGNORE
    step.dropdowns["Nombre"].value = "quantity"
    step.wait()
    assert panel.mapping.preview["quantity"].tolist() == [12.0]
    panel._running(True)  # as start() does: nothing else may start while one import runs
    assert step.import_button.disabled and panel.button.disabled and panel.upload.disabled
    panel._running(False)
    assert not step.import_button.disabled  # the mapping is complete
    step.import_button.click()
    panel.wait(60)
    # Nombre's 12, not Quantité's 10: the column chosen, the other ignored
    assert folio.positions("P")[["quantity", "price"]].values.tolist() == [[12.0, 5.0]]


def test_the_panel_draws_the_job_from_its_one_watcher(tmp_path, monkeypatch):
    """The panel reads no job itself: every poll is the shared watcher's, and a
    bar drawn elsewhere for the same job shows the same state."""
    import threading

    from folio.execution.jobs import ImportJob
    from folio.widgets.progress import JobBar
    from folio.widgets.watcher import watch

    polled_by: list[str] = []
    real_poll = ImportJob.poll

    def poll(job):
        polled_by.append(threading.current_thread().name)
        return real_poll(job)

    monkeypatch.setattr(ImportJob, "poll", poll)
    panel = ImportPanel()
    job = panel.run(big_english_csv(tmp_path / "big.csv", 3000), "BIG", as_of="2024-01-31",
                    via="local")
    assert job.result().rows_imported == 3000
    watcher = watch(job)
    assert watcher.finished and panel.bar.value == 100
    assert panel.bar.bar_style == watcher.style == "success"
    # The watcher polls once at its creation (in the panel's thread), then only in
    # its own thread; the panel never runs a loop of its own.
    assert polled_by and all(name.startswith("folio-watch-") for name in polled_by[1:])
    assert polled_by[0] == threading.current_thread().name
    other = JobBar(job)  # a second view: the same watcher, no new poll
    count = len(polled_by)
    assert other.watcher is watcher and other.bar.value == 100
    assert len(polled_by) == count
    # 3,000 lots of one instrument: each after the first is a duplicate_instrument warning.
    assert panel.message == "big.csv: imported 3,000 rows, 2,999 warnings"


def test_a_name_like_an_existing_portfolio_is_refused_until_new_portfolio_is_ticked(tmp_path):
    path = statement(tmp_path)
    panel = ImportPanel()
    assert panel.new_portfolio.layout.display == "none"
    panel.run(path, "TRESO-SN", as_of="2024-01-31")
    # Differs only by case and an accent: refused, nothing written, the box offered.
    job = panel.run(path, "tréso-sn", as_of="2024-01-31")
    assert job is None and panel.bar.bar_style == "danger"
    assert "did you mean TRESO-SN?" in panel.message and "tick the box" in panel.message
    assert panel.new_portfolio.layout.display == "" and not panel.new_portfolio.value
    assert "'tréso-sn' as a new portfolio" in panel.new_portfolio.description
    assert folio.portfolios()["name"].tolist() == ["TRESO-SN"]
    panel.new_portfolio.value = True
    panel.start()
    panel.wait(60)
    assert panel.result.status == "partially_succeeded"
    assert sorted(folio.portfolios()["name"]) == ["TRESO-SN", "tréso-sn"]
    # Another name: the box was for the refused one only.
    panel.portfolio.value = "TRESO-SM"
    assert panel.new_portfolio.layout.display == "none" and not panel.new_portfolio.value


def test_a_column_ignored_in_the_step_stays_ignored_though_its_name_is_an_alias(tmp_path):
    # Quantité and Nombre both mean quantity: the step opens; Libellé is folio's
    # alias for the name, and the user says it holds none.
    path = two_quantities(tmp_path / "double.csv", name="Total SA")
    panel = ImportPanel()
    panel.run(path, "P", as_of="2024-01-31")
    assert panel.mapping.choices["Libellé"] == "name"  # folio's guess
    step = panel.mapping_step
    step.dropdowns["Libellé"].value = IGNORE
    step.wait()
    assert panel.mapping.preview["name"].isna().all()  # the preview says what is stored
    step.import_button.click()
    panel.wait(60)
    assert panel.result.status == "succeeded" and "Libellé" not in panel.result.mapping
    stored = folio.positions("P")
    assert stored["quantity"].tolist() == [10.0] and stored["name"].isna().all()
