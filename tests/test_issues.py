"""A file of many bad rows: the store keeps every issue, the result the first ones.

The issues of each block go to the store's write as validation hands them out
(in memory while few, then a scratch file), so memory does not follow the
number of bad rows; the result carries the first ``MAX_RESULT_ISSUES`` by row
and the exact counts, and ``folio issues ID --csv`` streams them all.
"""

from __future__ import annotations

import csv
import functools
import io

import pandas as pd
import pytest

import folio
from folio import catalog, cli
from folio.ingest import pipeline, readers, validate
from folio.store import bulk

from builders import english_csv

HEADER = "ISIN,Quantity,Price,Market Value,Currency,As Of Date"


def holdings(path):
    rows = []
    for i in range(60):
        currency = "XXX" if i % 3 == 0 else "EUR"  # an error: the row is rejected
        value = 999 if i % 5 == 0 else (i + 1) * 10  # a warning: value off quantity x price
        rows.append((f"SEC{i:04d}", i + 1, 10, value, currency, "2024-01-31"))
    return english_csv(path, rows, header=HEADER)


def all_issues(import_id: str) -> pd.DataFrame:
    return pd.concat(list(catalog.issue_frames(import_id, size=4)), ignore_index=True)


def test_the_store_keeps_every_issue_and_the_result_the_first(tmp_path, monkeypatch, store):
    path = holdings(tmp_path / "h.csv")
    whole = folio.import_file(path, "WHOLE")  # one block, every issue in the result
    assert whole.issues_total == len(whole.issues) > 20

    monkeypatch.setattr(readers, "BLOCK_BYTES", 300)  # several blocks...
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 5)  # ...whose issues wait in a scratch file
    for module in (validate, pipeline):
        monkeypatch.setattr(module, "MAX_RESULT_ISSUES", 7)
    capped = folio.import_file(path, "CAPPED")
    assert capped.status == whole.status == "partially_succeeded"
    assert (capped.rows_rejected, capped.warnings) == (whole.rows_rejected, whole.warnings)
    assert capped.issues_total == whole.issues_total
    expected = whole.issues.reset_index(drop=True)
    pd.testing.assert_frame_equal(capped.issues.reset_index(drop=True), expected.head(7),
                                  check_dtype=False)
    # Every issue is in the store, in row order, read back in parts.
    pd.testing.assert_frame_equal(all_issues(capped.import_id).astype({"row": "int64"}),
                                  expected.astype({"row": "int64"}), check_dtype=False)
    again = folio.get_import(capped.import_id)
    assert again.issues_total == whole.issues_total and len(again.issues) == 7
    assert capped.to_dict()["issues_total"] == whole.issues_total
    assert f"{whole.issues_total - 10} more issues" in capped.summary()


def test_folio_issues_csv_streams_every_issue(tmp_path, monkeypatch, capsys):
    path = holdings(tmp_path / "h.csv")
    result = folio.import_file(path, "P")
    monkeypatch.setattr(catalog, "issue_frames",
                        functools.partial(catalog.issue_frames, size=4))  # many parts
    assert cli.main(["issues", result.import_id, "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == result.issues_total
    assert [int(r["row"]) for r in rows] == result.issues["row"].tolist()
    assert [r["code"] for r in rows] == result.issues["code"].tolist()


def test_folio_issues_csv_of_an_import_without_issues_is_a_header(tmp_path, capsys):
    path = english_csv(tmp_path / "ok.csv", [("SEC0001", 1, 10, 10, "EUR", "2024-01-31")],
                       header=HEADER)
    result = folio.import_file(path, "P")
    assert cli.main(["issues", result.import_id, "--csv"]) == 0
    assert capsys.readouterr().out.strip() == "row,column,code,severity,value,message"


def test_a_dry_run_keeps_the_first_issues_and_every_count(tmp_path, monkeypatch):
    path = holdings(tmp_path / "h.csv")
    whole = folio.import_file(path, "P", dry_run=True)
    monkeypatch.setattr(readers, "BLOCK_BYTES", 300)
    for module in (validate, pipeline):
        monkeypatch.setattr(module, "MAX_RESULT_ISSUES", 7)
    capped = folio.import_file(path, "P", dry_run=True)
    assert capped.issues_total == whole.issues_total > 7 and len(capped.issues) == 7
    assert capped.warnings == whole.warnings
    assert "result.issues holds the first 7" in capped.summary()


def test_an_unknown_import_has_no_issues_to_list():
    with pytest.raises(folio.NotFound):
        next(catalog.issue_frames("no-such-import"))
