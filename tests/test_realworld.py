"""The real broker and custodian exports in ../shared/realworld, against their expected.json.

The files are never copied into the project: this reads them where they are
(``FOLIO_TEST_REALWORLD`` names the folder where the checkout is not beside
../shared, as in a git worktree) and skips, saying so, when the folder is
absent. ``expected.json`` was written
by reading each file, not by running folio: positions, identifiers in file
order, market value per currency (clean of accrued interest) and cash lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import folio

REALWORLD = Path(os.environ.get("FOLIO_TEST_REALWORLD")
                 or Path(__file__).resolve().parents[1] / ".." / "shared" / "realworld")
EXPECTED = REALWORLD / "expected.json"
FILES = (json.loads(EXPECTED.read_text(encoding="utf-8"))["files"] if EXPECTED.exists() else {})
pytestmark = pytest.mark.skipif(not FILES, reason=f"no real exports at {REALWORLD.resolve()} "
                                "(the shared folder is absent; FOLIO_TEST_REALWORLD names "
                                "another)")


@pytest.mark.parametrize("name", sorted(FILES) or ["none"])
def test_real_export_imports_with_no_mapping(name):
    want = FILES[name]
    # The as-of is passed only where the file states none (DEGIRO's portfolio export).
    as_of = None if want["as_of"] else "2025-06-30"
    result = folio.import_file(REALWORLD / name, "REAL", as_of=as_of, via="local")
    assert result.status == "succeeded", result.summary()
    if want["as_of"]:
        assert result.as_of.isoformat() == want["as_of"][:10]
    stored = folio.positions("REAL", result.as_of)
    assert len(stored) == want["expected_positions"]
    assert list(stored["identifier"]) == want["identifiers"]
    by_currency = stored.groupby("currency")["market_value"].sum().round(2).to_dict()
    assert by_currency == {c: float(v) for c, v in want["market_value_by_currency"].items()}
    assert result.cash == {c: float(v) for c, v in want.get("cash_by_currency", {}).items()}
    assert not result.totals  # the file's own totals agree with what was stored
