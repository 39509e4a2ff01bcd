"""Cells beyond what the store or the analytics can hold: each rejects its row
with an issue naming row, column and value (or, for the import's own as-of
date, a typed error naming it), never the database failing the whole file or
a later report crashing. Names the store bounds are ``test_names.py``'s.

Run on SQLite and PostgreSQL (``store``): SQLite stores a VARCHAR(64) value of
any length, PostgreSQL refuses it, and the refusal must be folio's on both.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.ingest.currencies import ISO_4217
from folio.store.db import get_engine
from folio.store.schema import imports, positions, snapshots

from builders import BNP, ORANGE, TOTAL, english_csv
from contract import import_under_contract

AS_OF = "2024-01-31"


def issues_of(result) -> set[tuple]:
    return {(i["row"], i["column"], i["code"], i["value"])
            for i in result.issues.to_dict("records")}


def kept(portfolio: str = "P", as_of: str = AS_OF) -> list[tuple]:
    got = folio.positions(portfolio, as_of=as_of)
    return sorted(zip(got["row"], got["identifier"], strict=True))


def folio_cli(*args: str) -> subprocess.CompletedProcess:
    """The real command, in a process of its own (on the store the test set up)."""
    return subprocess.run([sys.executable, "-m", "folio.cli", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def report_json(portfolio: str = "P") -> dict:
    """``folio report PORTFOLIO --json``, run for real; it must succeed."""
    done = folio_cli("report", portfolio, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def maturity_buckets(report: dict) -> list[tuple]:
    """(bucket, value, positions) per maturity bucket. The last is always ``unvalued``:
    its value is unknown (None) even when it holds no position, never 0."""
    return [(b["bucket"], b["value"], b["positions"]) for b in report["exposures"]["maturity"]]


def test_text_wider_than_the_store_rejects_its_row_naming_row_column_value(tmp_path, store):
    wide = "A" * 65  # positions.identifier is VARCHAR(64)
    fits = "É" * 64  # 64 characters (128 bytes): the width counts characters
    path = english_csv(tmp_path / "wide.csv", [
        (TOTAL, "TotalEnergies", 10, 60, 600, "EUR", AS_OF),
        (wide, "Too wide", 5, 12.5, 62.5, "EUR", AS_OF),
        (fits, "Just fits", 1, 50, 50, "EUR", AS_OF),
        (ORANGE, "Orange", 5, 12.5, 62.5, "EURX", AS_OF),  # currency is VARCHAR(3)
    ])
    result = import_under_contract(path, as_of=AS_OF)
    assert result.status == "partially_succeeded"
    assert issues_of(result) == {(3, "ISIN", "too_long", wide),
                                 (5, "Currency", "invalid_currency", "EURX")}
    messages = dict(zip(result.issues["row"], result.issues["message"], strict=True))
    assert messages[3] == "ISIN is longer than 64 characters (65): " + "A" * 40 + "..."
    assert kept() == [(2, TOTAL), (4, fits)]


def test_the_currency_check_admits_nothing_wider_than_the_store():
    """A currency's width is bounded by the ISO 4217 check (only codes pass), so it
    needs no width check of its own: that holds while every code fits the column."""
    assert {len(code) for code in ISO_4217} == {positions.c.currency.type.length} == {3}


MATURITY_HEADER = "ISIN,Quantity,Price,Market Value,Currency,Maturity,As Of Date"


def test_dates_pandas_cannot_hold_reject_their_rows_and_report_still_runs(tmp_path, store):
    path = english_csv(tmp_path / "dates.csv", [
        (TOTAL, 10, 60, 600, "EUR", "9999-12-31", AS_OF),  # "perpetual"
        (ORANGE, 5, 12.5, 62.5, "EUR", "1677-09-21", AS_OF),  # a day before the first
        (BNP, 1, 50, 50, "EUR", "2262-04-11", AS_OF),  # the last day pandas holds
        ("FR0000120073", 2, 100, 200, "EUR", "1677-09-22", AS_OF),  # the first
        ("FR0000120321", 3, 10, 30, "EUR", "", "0001-01-01"),  # an as-of no report could use
    ], header=MATURITY_HEADER)
    result = import_under_contract(path)  # the as-of comes from the file's column
    assert result.status == "partially_succeeded"
    assert str(result.as_of) == AS_OF  # 0001-01-01 was not taken as a second date
    assert issues_of(result) == {(2, "Maturity", "out_of_range", "9999-12-31"),
                                 (3, "Maturity", "out_of_range", "1677-09-21"),
                                 (6, "As Of Date", "out_of_range", "0001-01-01")}
    assert kept() == [(4, BNP), (5, "FR0000120073")]
    assert report_json()["valuation"]["value"] == 50 + 200


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
def test_an_as_of_argument_pandas_cannot_hold_is_refused_naming_it(tmp_path, store, as_of):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "TotalEnergies", 10, 60, 600, "EUR", AS_OF)])
    folio.import_file(path, "P")
    error = import_under_contract(path, as_of=as_of)
    assert isinstance(error, folio.ValidationError)
    assert error.value == as_of and as_of in error.message
    assert "1677-09-22 to 2262-04-11" in error.message
    assert folio.get_import(error.import_id).status == "failed"


def test_report_on_dates_already_in_the_store_does_not_crash(tmp_path, store):
    """Data an earlier folio let in: a report says what it can, never a traceback."""
    path = english_csv(tmp_path / "h.csv", [(TOTAL, 10, 60, 600, "EUR", "2030-06-30", AS_OF)],
                       header=MATURITY_HEADER)
    folio.import_file(path, "P")
    folio.import_file(path, "Q")
    engine = get_engine(get_settings())
    with engine.begin() as conn:
        conn.execute(sa.update(positions).where(positions.c.portfolio == "P")
                     .values(maturity_date=date(9999, 12, 31)))
        for table in (positions, snapshots, imports):
            conn.execute(sa.update(table).where(table.c.portfolio == "Q")
                         .values(as_of=date(1, 1, 1)))
    report = report_json()
    assert report["valuation"]["value"] == 600
    # A maturity no date arithmetic can use is unknown, not a crash.
    assert maturity_buckets(report) == [("unclassified", 600, 1), ("unvalued", None, 0)]
    done = folio_cli("report", "Q")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("folio: ") and done.stderr.count("\n") == 1
    assert "1677-09-22 to 2262-04-11" in done.stderr


def test_report_with_a_reference_maturity_pandas_cannot_hold_does_not_crash(tmp_path, store):
    """A reference file's "perpetual" 9999-12-31: the instrument's maturity is unknown."""
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "instruments.csv").write_text(
        f"identifier,name,asset_class,maturity_date\n{TOTAL},Total 2999,Bond,9999-12-31\n",
        encoding="utf-8")
    folio.load_reference(reference)
    folio.import_file(english_csv(tmp_path / "h.csv", [(TOTAL, "T", 10, 60, 600, "EUR", AS_OF)]),
                      "P")
    report = report_json()
    assert report["valuation"]["value"] == 600
    assert maturity_buckets(report) == [("unclassified", 600, 1), ("unvalued", None, 0)]


AMOUNTS_HEADER = "ISIN,Quantity,Price,Market Value,Accrued Interest,Currency,As Of Date"


def test_amounts_beyond_1e15_reject_their_rows_and_leave_the_valuation_finite(tmp_path, store):
    path = english_csv(tmp_path / "amounts.csv", [
        (TOTAL, "1e308", 1, 1, "", "EUR", AS_OF),  # once made every total infinite
        (ORANGE, 1, "1e16", "", "", "EUR", AS_OF),
        (BNP, 1, 1, "-2e15", "", "EUR", AS_OF),
        ("FR0000120073", 1, 1, 1, "1000000000000001", "EUR", AS_OF),  # 1e15 + 1
        # each below the bound, their product 1e18 beyond what 1e15 at 100 can be
        ("FR0000120321", "1e12", "1e6", "", "", "EUR", AS_OF),
        ("FR0000121014", "1e15", 10, "", "1e15", "EUR", AS_OF),  # at the bounds: kept
        ("FR0000121972", 4, 25, 100, "", "EUR", AS_OF),
    ], header=AMOUNTS_HEADER)
    result = import_under_contract(path, as_of=AS_OF)
    assert result.status == "partially_succeeded"
    assert issues_of(result) == {(2, "Quantity", "out_of_range", "1e308"),
                                 (3, "Price", "out_of_range", "1e16"),
                                 (4, "Market Value", "out_of_range", "-2e15"),
                                 (5, "Accrued Interest", "out_of_range", "1000000000000001"),
                                 (6, "Price", "out_of_range", "1e6")}
    messages = dict(zip(result.issues["row"], result.issues["message"], strict=True))
    assert messages[2] == "Quantity is beyond ±1e+15: 1e308"
    assert messages[6] == "Quantity x Price = 1e+18, beyond 1e+17"
    assert kept() == [(7, "FR0000121014"), (8, "FR0000121972")]
    valuation = report_json()["valuation"]
    assert valuation["value"] == 1e15 * 10 + 100 and valuation["accrued"] == 1e15
