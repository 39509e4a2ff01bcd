"""The ``folio`` commands over stored portfolios, run as a user runs them (real processes)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from test_cli import folio_cmd

from builders import ORANGE, TOTAL, english_csv

ROOT = Path(__file__).resolve().parents[1]


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


def two_dates(tmp_path, home) -> None:
    """P in EUR: on 2024-01-31 Total 10 x 60 = 600 EUR and 655,957 XAF (1,000 EUR at
    the parity); on 2024-02-29 Total 12 x 65 = 780, the same XAF line, and Orange
    40 x 10 = 400 (added)."""
    january = english_csv(tmp_path / "jan.csv", [
        (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-01-31")])
    february = english_csv(tmp_path / "feb.csv", [
        (TOTAL, "Total", 12, 65, 780, "EUR", "2024-02-29"),
        ("CM0000000018", "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-02-29"),
        (ORANGE, "Orange", 40, 10, 400, "EUR", "2024-02-29")])
    for path in (january, february):
        run = folio_cmd("import", path, "--portfolio", "P", "--base-currency", "EUR", home=home)
        assert run.returncode == 0, run.stderr


def test_stress_changes_and_history_commands(tmp_path, home):
    for name in ("stress", "changes", "history"):
        helped = folio_cmd(name, "--help", home=home).stdout
        assert "examples:" in helped and f"folio {name} PENSION-CM" in helped, name
    two_dates(tmp_path, home)
    stress = folio_cmd("stress", "P", "cfa_peg_break", "--json", home=home)
    assert stress.returncode == 0, stress.stderr
    data = json.loads(stress.stdout)
    # The XAF line, 1,000 EUR, loses 20%: 2,180 -> 1,980.
    assert (data["before"], data["change"]) == (pytest.approx(2_180), pytest.approx(-200))
    by_currency = {r["bucket"]: r["change"] for r in data["by"]["currency"]}
    assert by_currency["XAF"] == pytest.approx(-200) and by_currency["EUR"] == 0
    assert by_currency["unvalued"] is None
    both = json.loads(folio_cmd("stress", "P", "cfa_peg_break", "cfa_peg_break", "--as-of",
                                "2024-01-31", "--json", home=home).stdout)
    # Composed: 1,000 x 0.8 x 0.8 = 640, on January's 1,600.
    assert (both["before"], both["change"]) == (pytest.approx(1_600), pytest.approx(-360))
    text = folio_cmd("stress", "P", "cfa_peg_break", home=home).stdout
    assert "change -200.00 (-9.2%)" in text and "By asset_class" in text
    typo = folio_cmd("stress", "P", "cfa_peg_brake", home=home)
    assert typo.returncode == 1 and "cfa_peg_break" in typo.stderr

    changes = folio_cmd("changes", "P", "2024-01-31", "2024-02-29", "--json", home=home)
    assert changes.returncode == 0, changes.stderr
    summary = json.loads(changes.stdout)["summary"]
    # +580 = Total (12 - 10) x 60 = 120 quantity and 12 x 5 = 60 price, Orange +400 added.
    assert (summary["change"], summary["quantity_effect"], summary["price_effect"],
            summary["fx_effect"]) == (pytest.approx(580), pytest.approx(520),
                                      pytest.approx(60), 0)
    assert (summary["added"], summary["changed"], summary["unchanged"]) == (1, 1, 1)
    assert (summary["as_of_before"], summary["as_of_after"]) == ("2024-01-31", "2024-02-29")
    latest = json.loads(folio_cmd("changes", "P", "--json", home=home).stdout)["summary"]
    assert latest["change"] == pytest.approx(580)  # default: the last two snapshots
    text = folio_cmd("changes", "P", home=home).stdout
    assert "P: 2024-01-31 -> 2024-02-29 (values in EUR)" in text
    assert "1 added, 1 changed, 1 unchanged" in text

    history = json.loads(folio_cmd("history", "P", "--by", "currency", "--json",
                                   home=home).stdout)
    assert [(d["as_of"], d["value"]) for d in history["dates"]] == [
        ("2024-01-31", pytest.approx(1_600)), ("2024-02-29", pytest.approx(2_180))]
    assert history["shares"][0]["XAF"] == pytest.approx(1_000 / 1_600)
    assert "2024-02-29" in folio_cmd("history", "P", home=home).stdout


def test_report_xlsx_from_the_command_line(tmp_path, home):
    two_dates(tmp_path, home)
    out = tmp_path / "p.xlsx"
    run = folio_cmd("report", "P", "--xlsx", out, "--limit", "issuer=0,50", "--json", home=home)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["xlsx"] == str(out)
    book = openpyxl.load_workbook(out)
    changes = {r[0]: r for r in book["Changes"].iter_rows(min_row=2, values_only=True)}
    # The changes since the snapshot before: Total +180 (120 quantity, 60 price).
    assert changes[TOTAL][3] == "changed" and changes[TOTAL][8:11] == (180, 120, 60)
    assert changes[ORANGE][3] == "added" and changes[ORANGE][8] == 400
    shipped = sorted(p.stem for p in (ROOT / "data" / "scenarios").glob("*.yaml"))
    assert book["Stress"].max_row - 1 == len(shipped)
    limits = list(book["Limits"].iter_rows(min_row=2, values_only=True))
    assert limits[0][4] == 0.5
    one = folio_cmd("report", "P", "--xlsx", tmp_path / "one.xlsx", "--scenario",
                    "cfa_peg_break", home=home)
    assert one.returncode == 0 and f"wrote {tmp_path / 'one.xlsx'}" in one.stdout
    stress = list(openpyxl.load_workbook(tmp_path / "one.xlsx")["Stress"].iter_rows(
        min_row=2, values_only=True))
    assert [(r[0], r[3]) for r in stress] == [
        ("CFA franc peg break (XAF and XOF -20% vs EUR)", pytest.approx(-200))]


def test_text_tables_follow_the_display_rules(tmp_path, home):
    """A XAF portfolio's amounts print with no decimals (XAF has no minor unit), zero
    as 0 and a missing figure as the one missing marker, as every folio table does."""
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "Total", 1, 600, 600, "EUR", "2024-01-31"),
        ("CM0000000018", "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-01-31")])
    run = folio_cmd("import", path, "--portfolio", "CMX", "--base-currency", "XAF", home=home)
    assert run.returncode == 0, run.stderr
    # 600 EUR x 655.957 = 393,574.2 XAF, plus 655,957 XAF: 1,049,531.2
    history = folio_cmd("history", "CMX", home=home).stdout.splitlines()
    row = history[2].split()
    assert row[:3] == ["2024-01-31", "2", "1,049,531"] and row[-1] == "0", history
    stress = folio_cmd("stress", "CMX", "cfa_peg_break", home=home).stdout
    # The peg break moves the EUR line by +25% in XAF: 393,574.2 x 0.25 = 98,393.55
    assert "change 98,394 (9.4%)" in stress, stress
    xaf = next(line for line in stress.splitlines() if line.strip().startswith("XAF"))
    assert xaf.split()[1:4] == ["655,957", "655,957", "0"], xaf
    unvalued = next(line for line in stress.splitlines() if line.strip().startswith("unvalued"))
    assert unvalued.split()[1:5] == ["–"] * 4, unvalued
