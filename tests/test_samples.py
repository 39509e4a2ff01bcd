"""Every sample file in data/ against its expected results.

Two independent sources: ``tests/expected/<file>.json`` (reader, mapping,
counts, a position) and the table of deliberate bad rows in ``data/README.md``,
which the sample generator writes as it breaks each row.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import folio

ROOT = Path(__file__).resolve().parents[1]
HOLDINGS = ROOT / "data" / "holdings"
EXPECTED = ROOT / "tests" / "expected"
MANIFEST = list(csv.DictReader(open(HOLDINGS / "manifest.csv", encoding="utf-8")))


def readme_bad_rows() -> dict[str, list[tuple]]:
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    found: dict[str, list[tuple]] = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (\d+) \| ([^|]+) \| `([^`]*)` \| [^|]+ \| `(\w+)` \| (\w+) \|$",
                     line)
        if m:
            file, row, column, value, code, severity = m.groups()
            value = None if value == "(empty)" else value
            found.setdefault(file, []).append((int(row), column.strip(), code, severity, value))
    return found


BAD_ROWS = readme_bad_rows()


def test_readme_documents_bad_rows_in_several_files():
    assert len(BAD_ROWS) >= 3 and sum(map(len, BAD_ROWS.values())) >= 8


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_sample_file(entry, store):
    expected = json.loads((EXPECTED / f"{entry['file']}.json").read_text(encoding="utf-8"))
    result = folio.import_file(HOLDINGS / entry["file"], entry["portfolio"],
                               as_of=entry["as_of"] or None)
    got = {k: getattr(result, k) for k in ("status", "rows_total", "rows_imported",
                                           "rows_rejected", "warnings")}
    assert got == {k: expected[k] for k in got}
    assert result.as_of.isoformat() == expected["as_of"]
    assert result.reader == expected["reader"]
    assert result.mapping == expected["mapping"]
    issues = [(int(r.row), r.column, r.code, r.severity, r.value)
              for r in result.issues.itertuples()]
    assert issues == sorted(BAD_ROWS.get(entry["file"], []))
    stored = folio.positions(entry["portfolio"], result.as_of)
    first = stored.iloc[0]
    want = expected["first_position"]
    assert (int(first["row"]), first["identifier"], first["currency"]) == (
        want["row"], want["identifier"], want["currency"])
    assert first["quantity"] == pytest.approx(want["quantity"])
    assert first["price"] == pytest.approx(want["price"])
    assert first["market_value"] == pytest.approx(want["market_value"])
    # positions() gives dates as datetime64 (NaT when missing); the expectation is ISO text
    maturity = first["maturity_date"]
    assert (f"{maturity:%Y-%m-%d}" if pd.notna(maturity) else None) == want["maturity_date"]
    assert stored["market_value"].sum() == pytest.approx(expected["total_market_value"])


def test_dry_run_lists_instruments_missing_from_reference():
    folio.load_reference()
    result = folio.submit_import(HOLDINGS / "treso_sn_2024-01-31.csv", "TRESO-SN",
                                 dry_run=True).result()
    assert list(result.missing_instruments["identifier"]) == ["CI0000SGB019"]
    assert folio.portfolios().empty


def test_demo_twice_second_run_is_unchanged(home):
    env = {"FOLIO_HOME": str(home), "FOLIO_EXECUTION": "local", "PATH": "/usr/bin:/bin"}
    folio_bin = Path(sys.executable).with_name("folio")
    first = subprocess.run([str(folio_bin), "demo"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("succeeded (via") == len(MANIFEST)  # incl. partially_succeeded
    for name in ("PENSION-CM", "TRESO-SN", "GLOBAL-EUR"):
        assert name in first.stdout
    second = subprocess.run([str(folio_bin), "demo"], capture_output=True, text=True, env=env,
                            timeout=300)
    assert second.returncode == 0
    assert second.stdout.count("already imported (same file): nothing written") == len(MANIFEST)
    assert second.stdout.count("status: unchanged") == len(MANIFEST)
