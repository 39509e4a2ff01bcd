"""Names the store holds in VARCHAR columns (a portfolio, a saved mapping): a longer
one is refused before anything is written, with a typed error naming the limit,
not by PostgreSQL in the middle of a write (read as an outage, or a traceback).
Run on SQLite and PostgreSQL (``store``): SQLite would have kept it, silently.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import folio
from folio.store.schema import imports, mappings

from builders import TOTAL, english_csv
from contract import store_state, table_rows

AS_OF = "2024-01-31"


def folio_cli(*args: str) -> subprocess.CompletedProcess:
    """The real command, in a process of its own (on the store the test set up)."""
    return subprocess.run([sys.executable, "-m", "folio.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_portfolio_name_wider_than_the_store_is_refused_at_submission(tmp_path, store):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "TotalEnergies", 10, 60, 600, "EUR", AS_OF)])
    folio.import_file(path, "P")
    before, records = store_state(), table_rows(imports)
    with pytest.raises(folio.ConfigError) as info:
        folio.submit_import(path, "P" * 101)  # portfolios.name is VARCHAR(100)
    error = info.value
    assert error.message == "portfolio name is 101 characters, over the limit of 100"
    assert (error.setting, error.limit, error.value) == ("portfolio", 100, "P" * 100 + "...")
    assert store_state() == before and table_rows(imports) == records  # not even a record
    with pytest.raises(folio.ConfigError, match="over the limit of 100"):
        folio.create_portfolio("P" * 101, "EUR")
    assert store_state() == before
    assert folio.import_file(path, "Q" * 100).status == "succeeded"


def test_mapping_save_refuses_a_name_wider_than_the_store_in_one_line(store):
    long = "M" * 101  # mappings.name is VARCHAR(100)
    done = folio_cli("mapping", "save", long, "Code=identifier", "Qty=quantity")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr == "folio: mapping name is 101 characters, over the limit of 100\n"
    assert table_rows(mappings) == []
    done = folio_cli("mapping", "save", "M" * 100, "Code=identifier", "Qty=quantity")
    assert done.returncode == 0, done.stderr
    listed = json.loads(folio_cli("mapping", "list", "--json").stdout)
    assert listed == {"M" * 100: {"Code": "identifier", "Qty": "quantity"}}
