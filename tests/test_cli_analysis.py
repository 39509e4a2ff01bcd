"""The ``folio`` commands over stored portfolios, run as a user runs them (real processes)."""

from __future__ import annotations

import json

from test_cli import folio_cmd

from builders import TOTAL, english_csv


def test_portfolio_set_base_then_report_in_it(tmp_path, home):
    # 655,957 XAF is 1,000 EUR at the parity; 500 EUR stays 500 EUR.
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 5, 100, 500, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-01-31")])
    run = folio_cmd("import", path, "--portfolio", "CM", "--base-currency", "XAF", home=home)
    assert run.returncode == 0, run.stderr
    assert "base currency: XAF (given with the import)" in run.stdout
    wrong = folio_cmd("import", path, "--portfolio", "CM", "--base-currency", "EUR", home=home)
    assert wrong.returncode == 1 and "folio portfolio set-base CM EUR" in wrong.stderr
    done = folio_cmd("portfolio", "set-base", "CM", "eur", home=home)
    assert done.returncode == 0 and done.stdout == "portfolio CM: base currency EUR (was XAF)\n"
    report = json.loads(folio_cmd("report", "CM", "--json", home=home).stdout)
    assert report["base_currency"] == "EUR" and report["valuation"]["value"] == 1_500
    missing = folio_cmd("portfolio", "set-base", "NOPE", "EUR", home=home)
    assert missing.returncode == 1 and missing.stderr == "folio: no portfolio 'NOPE'\n"
    typo = folio_cmd("portfolio", "set-base", "CM", "XFA", home=home)
    assert typo.returncode == 1 and "'XFA' is not an ISO 4217 code" in typo.stderr
