"""Widgets asserted on their state: values, bar styles, table contents (the import
panel's tests are in test_import_panel.py)."""

from __future__ import annotations

import pytest

import folio
from folio.widgets.progress import JobBar, progress

from builders import formula_statement


def statement(tmp_path):
    return formula_statement(tmp_path / "releve.csv")


def test_progress_text_and_widget(tmp_path, capsys):
    job = folio.submit_import(statement(tmp_path), "P", as_of="2024-01-31")
    assert progress(job, notebook=False) is None  # blocks until done, draws on stderr
    err = capsys.readouterr().err
    assert "100%" in err and "imported 2 of 4 rows, 2 rejected" in err
    bar = JobBar(job)
    assert bar.bar.value == 100 and bar.bar.bar_style == "warning"
    assert bar.label.value.startswith("imported 2 of 4 rows, 2 rejected")


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
