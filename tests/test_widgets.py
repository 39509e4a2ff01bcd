"""Widgets asserted on their state: values, bar styles, table contents."""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from datetime import UTC, datetime

import pytest

import folio
from folio.widgets import ImportPanel, save_upload
from folio.widgets.progress import JobBar, progress

from builders import BAD_ISIN, ORANGE, TOTAL, fr_row, french_csv


def statement(tmp_path):
    return french_csv(tmp_path / "releve.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00"),
        fr_row(ORANGE, "=HYPERLINK(\"http://x\")", "2 500", "10,25", "25 625,00"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00"),
        fr_row(ORANGE, "Formule", "=1+1", "1,00", "1,00"),
    ])


def test_panel_imports_and_shows_issues(tmp_path):
    panel = ImportPanel()
    assert panel.via.value == "local"  # the tests' FOLIO_EXECUTION
    job = panel.run(statement(tmp_path), "TRESO-SN", as_of="2024-01-31")
    assert job.result().status == "partially_succeeded"
    assert panel.bar.value == 100 and panel.bar.bar_style == "warning"
    assert "partially_succeeded" in panel.status.value and job.id in panel.status.value
    assert "2 imported" in panel.counts.value and "2 rejected" in panel.counts.value
    assert panel.issues[["row", "code"]].values.tolist() == [[8, "invalid_isin"],
                                                             [9, "invalid_number"]]
    assert "invalid_isin" in panel.table.value and "FR0000120272" in panel.table.value
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", panel.download.value).group(1)
    rows = list(csv.DictReader(io.StringIO(base64.b64decode(payload).decode())))
    assert [r["value"] for r in rows] == [BAD_ISIN, "'=1+1"]  # formula escaped


def test_panel_shows_a_page_of_many_issues_and_says_where_the_rest_are(tmp_path, monkeypatch):
    from folio.ingest import pipeline, validate
    from folio.widgets import import_panel

    rows = [fr_row(BAD_ISIN, f"Clé fausse {i}", "10", "1,00", "10,00") for i in range(8)]
    path = french_csv(tmp_path / "faux.csv", rows + [fr_row(TOTAL, "Total", "1", "1,00", "1,00")])
    monkeypatch.setattr(import_panel, "SHOWN_ISSUES", 3)
    for module in (validate, pipeline):
        monkeypatch.setattr(module, "MAX_RESULT_ISSUES", 5)
    panel = ImportPanel()
    job = panel.run(path, "TRESO-SN", as_of="2024-01-31")
    assert job.result().issues_total == 8 and len(panel.issues) == 5
    assert panel.table.value.count("invalid_isin") == 3
    assert f"the first 5 of 8; all: folio issues {job.id} --csv" in panel.download.value
    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", panel.download.value).group(1)
    assert len(list(csv.DictReader(io.StringIO(base64.b64decode(payload).decode())))) == 5


def test_panel_reports_errors_in_its_status(tmp_path):
    panel = ImportPanel()
    assert panel.start() is None
    assert "choose or upload a file" in panel.status.value and panel.bar.bar_style == "danger"
    bad = tmp_path / "x.csv"
    bad.write_text("ISIN;Libellé\nFR0000120271;Total\n", encoding="utf-8")
    panel.run(bad, "P", as_of="2024-01-31")
    assert panel.bar.bar_style == "danger" and "quantity" in panel.status.value


def test_panel_auto_says_why_it_ran_locally(tmp_path):
    panel = ImportPanel()
    panel.via.value = "auto"
    assert panel.worker.value == "no worker live"
    panel.run(statement(tmp_path), "P", as_of="2024-01-31")
    assert "no worker live on queue 'folio'" in html.unescape(panel.counts.value)


def test_upload_is_saved_safely(tmp_path, home):
    panel = ImportPanel()
    content = statement(tmp_path).read_bytes()
    panel.upload.value = ({"name": "../../etc/passwd relevé.csv", "content": memoryview(content),
                           "type": "text/csv", "size": len(content),
                           "last_modified": datetime(2024, 1, 31, tzinfo=UTC)},)
    saved = panel.uploaded
    assert saved.parent == folio.get_settings().uploads
    assert ".." not in saved.name and "/" not in saved.name and saved.name.endswith(".csv")
    assert panel.path.value == str(saved) and saved.read_bytes() == content
    other = save_upload("passwd_relev_.csv", b"other bytes")
    assert other != saved and saved.read_bytes() == content  # never overwritten
    assert save_upload("again.csv", content).read_bytes() == content
    with folio.configure(max_file_mb=0.000001):
        with pytest.raises(folio.ReadError, match="over the limit"):
            save_upload("big.csv", b"x" * 100)


def test_progress_text_and_widget(tmp_path, capsys):
    job = folio.submit_import(statement(tmp_path), "P", as_of="2024-01-31")
    assert progress(job, notebook=False) is None  # blocks until done, draws on stderr
    err = capsys.readouterr().err
    assert "100%" in err and "partially_succeeded" in err
    bar = JobBar(job)
    assert bar.bar.value == 100 and bar.bar.bar_style == "warning"
    assert "2 of 4 rows imported" in bar.label.value


def sample_store():
    import csv as _csv
    from pathlib import Path

    holdings = Path(__file__).resolve().parents[1] / "data" / "holdings"
    folio.load_reference()
    for entry in _csv.DictReader(open(holdings / "manifest.csv", encoding="utf-8")):
        if entry["base_currency"]:
            folio.create_portfolio(entry["portfolio"], entry["base_currency"])
        folio.import_file(holdings / entry["file"], entry["portfolio"], as_of=entry["as_of"] or None)


def test_dashboard_state_follows_the_pickers():
    from folio.widgets import Dashboard

    sample_store()
    board = Dashboard("PENSION-CM", limits={"issuer": 0.5})
    assert board.as_of.options == ("2024-01-31", "2024-02-29", "2024-03-31")
    assert board.as_of.value == "2024-03-31" and board.compare.value == "2024-02-29"
    assert board.valuation.base_currency == "XAF"
    shares = board.exposure["share"]
    assert abs(shares.sum() - 1) < 1e-9 and board.exposure.iloc[0]["bucket"] == "Republic of Cameroon"
    assert board.breaches[["dimension", "bucket"]].values.tolist() == [["issuer",
                                                                       "Republic of Cameroon"]]
    assert "Republic of Cameroon" in board.concentration_view.value
    assert "CM0000SFC011" in board.valuation_view.value  # flagged: not in the reference
    board.limits.value = "issuer=0.9"
    assert board.breaches.empty and "No limit breached" in board.concentration_view.value
    board.scenario.value = "cfa_peg_break"
    totals = board.stressed.totals()
    assert totals["after"] > totals["before"]  # a XAF fund gains on its EUR and USD holdings
    summary = board.changes.summary()
    assert summary["change"] == pytest.approx(
        summary["quantity_effect"] + summary["price_effect"] + summary["fx_effect"])
    board.dimension.value = "currency"
    assert set(board.exposure["bucket"]) == {"XAF", "EUR", "USD"}
    board.portfolio.value = "TRESO-SN"
    assert board.as_of.value == "2024-02-29" and board.valuation.base_currency == "XOF"
    board.as_of.value = "2024-01-31"
    assert board.changes is None and "No earlier snapshot" in board.changes_view.value
