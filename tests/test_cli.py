"""The ``folio`` command run as a user runs it: a real process, real files."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from builders import BAD_ISIN, ORANGE, TOTAL, english_csv, fr_row, french_csv

FOLIO = Path(sys.executable).with_name("folio")


def folio_cmd(*args, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    env["FOLIO_HOME"] = str(home)
    return subprocess.run([str(FOLIO), *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_french_semicolon_csv_through_import_json(tmp_path, home):
    path = french_csv(tmp_path / "Relevé janvier.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00", issuer="Société X"),
        fr_row(ORANGE, "Orange SA", "2\u00a0500", "10,25", "25\u00a0625,00"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00"),
    ], totals="86 135,00")
    run = folio_cmd("import", path, "--portfolio", "TRESO-SN", "--json", home=home)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["status"] == "partially_succeeded" and out["via"] == "local"
    assert (out["rows_total"], out["rows_imported"], out["rows_rejected"]) == (3, 2, 1)
    assert out["as_of"] == "2024-01-31" and out["warnings"] == 0
    # The default is auto: with no worker running it runs here and says why.
    assert out["task_id"] is None and out["fallback_reason"] == "no worker live on queue 'folio'"
    assert out["issues"] == [{"row": 8, "column": "Code ISIN", "code": "invalid_isin",
                              "severity": "error", "value": BAD_ISIN,
                              "message": f"ISIN check digit is wrong: {BAD_ISIN} fails the "
                                         f"ISIN checksum"}]
    import_id = out["import_id"]

    status = folio_cmd("status", import_id, "--json", home=home)
    assert status.returncode == 0 and json.loads(status.stdout)["status"] == "partially_succeeded"
    # The base currency and why are stored with the import, so status says them too.
    assert json.loads(status.stdout)["base_currency"] == out["base_currency"] == "EUR"
    assert json.loads(status.stdout)["base_currency_reason"] == out["base_currency_reason"]
    text = folio_cmd("status", import_id, home=home)
    assert "TRESO-SN @ 2024-01-31: imported 2 of 3 rows, 1 rejected" in text.stdout
    assert "status: partially_succeeded" in text.stdout and "row 8" in text.stdout

    issues = folio_cmd("issues", import_id, "--csv", home=home)
    rows = list(csv.DictReader(io.StringIO(issues.stdout)))
    assert [(r["row"], r["code"]) for r in rows] == [("8", "invalid_isin")]

    again = folio_cmd("import", path, "--portfolio", "TRESO-SN", "--json", home=home)
    assert again.returncode == 0 and json.loads(again.stdout)["status"] == "unchanged"


def test_failed_import_exits_non_zero_with_one_line(tmp_path, home):
    path = tmp_path / "x.csv"
    path.write_text("ISIN,Name\nFR0000120271,Total\n", encoding="utf-8")
    run = folio_cmd("import", path, "--portfolio", "P", "--as-of", "2024-01-31", "--json",
                    home=home)
    assert run.returncode == 1
    out = json.loads(run.stdout)
    assert out["status"] == "failed" and "quantity" in out["error"]
    assert out["details"]["missing"] and out["import_id"]
    assert len(run.stderr.strip().splitlines()) == 1 and "x.csv" in run.stderr

    rejected = english_csv(tmp_path / "all_bad.csv", [(BAD_ISIN, "x", 1, 1, 1, "EUR", "2024-01-31")])
    run = folio_cmd("import", rejected, "--portfolio", "P", home=home)
    assert run.returncode == 1 and "P @ 2024-01-31: failed: every row was rejected" in run.stdout
    assert "every row was rejected" in run.stderr

    missing = folio_cmd("status", "0" * 32, home=home)
    assert missing.returncode == 1 and "no import" in missing.stderr


def test_dry_run_and_mapping_commands(tmp_path, home):
    path = tmp_path / "odd.csv"
    path.write_text("Ref;Nb;Val;Dev\nFR0000120271;10;600,00;EUR\n", encoding="utf-8")
    saved = folio_cmd("mapping", "save", "cx", "Ref=identifier", "Nb=quantity",
                      "Val=market_value", "Dev=currency", home=home)
    assert saved.returncode == 0, saved.stderr
    missing = tmp_path / "missing.csv"
    dry = folio_cmd("import", path, "-p", "P", "--as-of", "2024-01-31", "--dry-run",
                    "--mapping", "cx", "--missing-csv", missing, home=home)
    assert dry.returncode == 0, dry.stderr
    assert "P @ 2024-01-31: would import 1 row; nothing written" in dry.stdout
    assert "status: dry_run" in dry.stdout and "saved mapping 'cx'" in dry.stdout
    assert "preview" in dry.stdout
    assert missing.read_text().splitlines()[1].startswith("FR0000120271")
    assert "no portfolios yet" in folio_cmd("portfolios", home=home).stdout


def test_usage_error_exits_2(home):
    run = folio_cmd("import", home=home)
    assert run.returncode == 2 and "--portfolio" in run.stderr


def test_report_text_and_json_agree(home):
    env_demo = folio_cmd("demo", home=home)
    assert env_demo.returncode == 0, env_demo.stderr
    text = folio_cmd("report", "TRESO-SN", "--as-of", "2024-01-31", home=home)
    assert text.returncode == 0, text.stderr
    assert "TRESO-SN as of 2024-01-31 (values in XOF)" in text.stdout
    data = json.loads(folio_cmd("report", "TRESO-SN", "--as-of", "2024-01-31", "--json",
                                home=home).stdout)
    assert set(data["exposures"]) == {"issuer", "country", "region", "currency", "asset_class",
                                      "maturity"}
    for buckets in data["exposures"].values():
        assert buckets[-1]["bucket"] == "unvalued" and buckets[-1]["share"] is None
        assert abs(sum(b["share"] for b in buckets[:-1]) - 1) < 1e-9
    total = f"{data['valuation']['value']:,.0f}"
    assert total in text.stdout
    usd = folio_cmd("report", "TRESO-SN", "--base-currency", "USD", "--json", home=home)
    assert json.loads(usd.stdout)["base_currency"] == "USD"
    missing = folio_cmd("report", "NOPE", home=home)
    assert missing.returncode == 1 and "NOPE" in missing.stderr


def test_report_strict_and_limit_spellings(tmp_path, home):
    # Two EUR lines of 600 and 400, and one in JPY, for which nothing gives a rate.
    path = english_csv(tmp_path / "h.csv", [
        (TOTAL, "TotalEnergies", 10, 60, 600, "EUR", "2024-01-31"),
        (ORANGE, "Orange", 40, 10, 400, "EUR", "2024-01-31"),
        ("JP3633400001", "Toyota", 1, 3000, 3000, "JPY", "2024-01-31")])
    run = folio_cmd("import", path, "--portfolio", "P", "--base-currency", "EUR", home=home)
    assert run.returncode == 0, run.stderr
    strict = folio_cmd("report", "P", "--strict", home=home)
    assert strict.returncode == 1 and strict.stdout == ""
    assert "1 of 3 position(s) have no value (1 no_fx)" in strict.stderr
    text = folio_cmd("report", "P", home=home)
    assert text.returncode == 0 and "UNVALUED" in text.stdout
    for spelling in ("50%", "0.50", "0,50"):
        out = folio_cmd("report", "P", "--limit", f"currency={spelling}", "--json", home=home)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["concentration"]["limits"] == {"currency": 0.5}
        # 1 position of 3 unvalued is above the 5% default: no breach is claimed.
        assert data["concentration"]["limits_checked"] is False
    lenient = {**{"FOLIO_MAX_UNVALUED_SHARE": "0.5"}}
    env_run = subprocess.run([str(FOLIO), "report", "P", "--limit", "issuer=10%", "--json"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, "FOLIO_HOME": str(home), **lenient})
    assert env_run.returncode == 0, env_run.stderr
    assert json.loads(env_run.stdout)["concentration"]["limits_checked"] is True
    for bad in ("0,10", "issuer=ten", "issuer=150%"):
        wrong = folio_cmd("report", "P", "--limit", bad, home=home)
        assert wrong.returncode == 1 and "Traceback" not in wrong.stderr, bad
        assert wrong.stderr.startswith("folio: limit"), wrong.stderr


# ------------------------------------------------------------ a CLI for people

def test_version_and_help_for_people(home):
    import tomllib

    version = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml")
                            .read_text())["project"]["version"]
    run = folio_cmd("--version", home=home)
    assert run.returncode == 0 and run.stdout.strip() == f"folio {version}"
    top = folio_cmd("--help", home=home).stdout
    assert "examples:" in top and "folio imports TRESO-SN" in top
    assert "Owns" not in top  # the module docstring is for developers
    sub = folio_cmd("import", "--help", home=home).stdout
    assert "examples:" in sub and "--new-portfolio" in sub and "--dry-run" in sub


def test_imports_lists_ids_and_statuses(tmp_path, home):
    assert folio_cmd("imports", home=home).stdout.strip() == "no imports yet"
    path = french_csv(tmp_path / "releve.csv", [
        fr_row(TOTAL, "TotalEnergies SE", "10", "60,50", "605,00"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00")])
    first = json.loads(folio_cmd("import", path, "-p", "TRESO-SN", "--json", home=home).stdout)
    again = json.loads(folio_cmd("import", path, "-p", "TRESO-SN", "--json", home=home).stdout)
    other = english_csv(tmp_path / "o.csv", [(ORANGE, "Orange", 1, 10, 10, "EUR", "2024-01-31")])
    folio_cmd("import", other, "-p", "OTHER", home=home)
    listed = folio_cmd("imports", "TRESO-SN", home=home)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert len(lines) == 3 and "OTHER" not in listed.stdout  # a header and two imports
    assert first["import_id"] in lines[1] and "partially_succeeded" in lines[1]
    assert "1 of 2" in lines[1]
    assert lines[1].split()[1] == first["as_of"][:10]  # a date, as the file states it
    assert again["import_id"] in lines[2] and "unchanged" in lines[2]
    rows = json.loads(folio_cmd("imports", "--json", home=home).stdout)
    assert [(r["portfolio"], r["status"]) for r in rows] == [
        ("TRESO-SN", "partially_succeeded"), ("TRESO-SN", "unchanged"), ("OTHER", "succeeded")]
    assert rows[0]["id"] == first["import_id"] and "claim_token" not in rows[0]
    assert rows[0]["as_of"] == first["as_of"][:10]  # a day, not a midnight timestamp


def test_a_name_that_differs_by_case_or_accents_is_refused(tmp_path, home):
    path = english_csv(tmp_path / "h.csv", [(ORANGE, "Orange", 1, 10, 10, "EUR", "2024-01-31")])
    assert folio_cmd("import", path, "-p", "TRÉSO-SN", home=home).returncode == 0
    for typo in ("treso-sn", "Tréso-SN", "TRESO-SN"):
        run = folio_cmd("import", path, "-p", typo, home=home)
        assert run.returncode == 1, typo
        assert "did you mean TRÉSO-SN?" in run.stderr and "--new-portfolio" in run.stderr
        assert "new_portfolio=True" not in run.stderr  # CLI syntax in a terminal
    made = folio_cmd("import", path, "-p", "treso-sn", "--new-portfolio", home=home)
    assert made.returncode == 0, made.stderr
    names = json.loads(folio_cmd("portfolios", "--json", home=home).stdout)
    assert sorted(p["name"] for p in names) == ["TRÉSO-SN", "treso-sn"]
    # An existing name, exactly, is never refused.
    assert folio_cmd("import", path, "-p", "treso-sn", home=home).returncode == 0


def test_python_api_refuses_the_lookalike_name_too(tmp_path):
    import folio

    path = english_csv(tmp_path / "h.csv", [(ORANGE, "Orange", 1, 10, 10, "EUR", "2024-01-31")])
    folio.import_file(path, "TRESO-SN")
    try:
        folio.submit_import(path, "Treso-sn")
    except folio.ConfigError as exc:
        assert exc.did_you_mean == "TRESO-SN" and exc.value == "Treso-sn"
        assert "new_portfolio=True" in exc.message
    else:
        raise AssertionError("a lookalike portfolio name was accepted")
    assert folio.import_file(path, "Treso-sn", new_portfolio=True).status == "succeeded"


def test_hints_speak_cli_in_a_terminal(tmp_path, home):
    path = english_csv(tmp_path / "h.csv", [(ORANGE, "Orange", 1, 10, 10, "EUR", "2024-01-31")])
    run = folio_cmd("import", path, "-p", "P", "--via", "celery", home=home)
    assert run.returncode == 1 and "--via local" in run.stderr, run.stderr
    assert "via='local'" not in run.stderr and "start_worker()" not in run.stderr
    undated = english_csv(tmp_path / "u.csv", [(ORANGE, "Orange", 1, 10, 10, "EUR")],
                          header="ISIN,Security Name,Quantity,Price,Market Value,Currency")
    run = folio_cmd("import", undated, "-p", "P", home=home)
    assert run.returncode == 1 and "--as-of YYYY-MM-DD" in run.stderr, run.stderr
    assert "as_of=" not in run.stderr
    odd = tmp_path / "odd.csv"
    odd.write_text("Ref;Nb\nFR0000120271;10\n", encoding="utf-8")
    run = folio_cmd("import", odd, "-p", "P", "--as-of", "2024-01-31", home=home)
    assert run.returncode == 1 and "folio mapping save" in run.stderr, run.stderr
    assert "folio.save_mapping" not in run.stderr and "in Python" not in run.stderr


def test_python_hints_become_cli_hints():
    from folio.cli_help import for_terminal

    said = {
        "x.csv: no as-of date: the file has no as-of column; pass as_of= (or --as-of YYYY-MM-DD)":
            "x.csv: no as-of date: the file has no as-of column; pass --as-of YYYY-MM-DD",
        "x.csv: the header matches several presets (a, b); pass preset=NAME (--preset NAME) "
        "to say which": "x.csv: the header matches several presets (a, b); pass --preset NAME "
                        "to say which",
        "no worker; start one with `folio worker` or folio.start_worker(), or use via='local'":
            "no worker; start one with `folio worker`, or use --via local",
        "portfolio 'P' has base currency XOF, not EUR; change it first (folio portfolio "
        "set-base P EUR, or folio.set_base_currency('P', 'EUR')), or leave the base currency "
        "out": "portfolio 'P' has base currency XOF, not EUR; change it first (folio portfolio "
               "set-base P EUR), or leave the base currency out",
        "missing columns.\n  save a mapping:\n    folio mapping save my-custodian A=b\n"
        "  or in Python:\n    folio.save_mapping('my-custodian', {'A': 'b'})":
            "missing columns.\n  save a mapping:\n    folio mapping save my-custodian A=b",
        "nothing to change here": "nothing to change here",
    }
    for python, cli in said.items():
        assert for_terminal(python) == cli


def test_issues_prints_counts_by_code_and_column_then_the_first_rows(tmp_path, home):
    # Data rows start on line 6 (4 preamble lines, the header on line 5):
    # line 6 good, lines 7-30 a bad ISIN (24), lines 31-32 no number for the quantity (2).
    rows = ([fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00")]
            + [fr_row(BAD_ISIN, f"Clé fausse {i}", "10", "1,00", "10,00") for i in range(24)]
            + [fr_row(ORANGE, f"Sans nombre {i}", "abc", "1,00", "1,00") for i in range(2)])
    path = french_csv(tmp_path / "faux.csv", rows)
    out = json.loads(folio_cmd("import", path, "-p", "P", "--json", home=home).stdout)
    import_id = out["import_id"]
    text = folio_cmd("issues", import_id, home=home)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == f"import {import_id}: 26 issues, by code and column:"
    assert lines[1].split() == ["code", "column", "count", "first_row", "example"]
    assert lines[2].split()[:2] == ["invalid_isin", "Code"] and lines[2].split()[3:5] == [
        "24", "7"]
    assert lines[3].split()[0] == "invalid_number" and lines[3].split()[-3:] == ["2", "31", "abc"]
    assert len(lines) > 4 and lines[4] == "" and lines[5] == "the first 20 rows:"
    assert sum(BAD_ISIN in line for line in lines[6:]) == 20  # rows 7-26 only
    assert lines[-1] == (f"6 more: folio issues {import_id} --all prints them all; "
                         f"--csv FILE writes them for a spreadsheet")
    every = folio_cmd("issues", import_id, "--all", home=home).stdout
    assert sum(BAD_ISIN in line for line in every.splitlines()) == 24
    assert sum(" abc " in f" {line} " for line in every.splitlines()) == 2
    target = tmp_path / "issues.csv"
    wrote = folio_cmd("issues", import_id, "--csv", target, home=home)
    assert wrote.stdout.strip() == f"import {import_id}: 26 issue(s) written to {target}"
    with open(target, newline="", encoding="utf-8") as f:
        found = [(r["row"], r["code"]) for r in csv.DictReader(f)]
    assert found == [(str(n), "invalid_isin") for n in range(7, 31)] + [
        ("31", "invalid_number"), ("32", "invalid_number")]
