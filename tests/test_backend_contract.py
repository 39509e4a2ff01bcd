"""Every execution backend is the same import: one contract, every backend in
``folio.execution.submit.BACKENDS``.

The same files (rejected rows, warnings, a decimal-comma semicolon file in
cp1252, a tab file, an XLSX, a file whose every row is rejected), written and
dry-run, go through each backend into a store of its own, under settings
changed with ``configure`` (which a worker started by ``start_worker`` must
get too). The WHOLE results must be equal, issues and their column types
included, bar the fields that name how the import ran; and so must the stored
positions.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import pytest

import folio
import layouts
from folio.config import get_settings
from folio.execution.submit import BACKENDS
from folio.execution.worker import start_worker
from folio.result import MAX_RESULT_ISSUES

from builders import BNP, ORANGE, TOTAL, english_csv, french_statement

HOLDINGS = Path(__file__).resolve().parents[1] / "data" / "holdings"

# What legitimately differs between two runs of one import on two backends: the
# record's id, the backend's name and its task id. (A result holds no timings.)
DIFFERS = ("import_id", "via", "task_id")
# Market value 5% off quantity x price passes under this tolerance (the default,
# 0.01, would warn); 20% off does not.
MV_TOLERANCE = 0.1


def tolerance_file(tmp_path):
    return english_csv(tmp_path / "tolerance.csv", [
        (TOTAL, "TotalEnergies", 100, 10.0, 1050.0, "EUR", "2024-01-31"),  # 5% off
        (ORANGE, "Orange", 100, 10.0, 1200.0, "EUR", "2024-01-31"),  # 20% off: a warning
        (BNP, "BNP Paribas", 100, 10.0, 1000.0, "EUR", "2024-01-31"),
    ])


def files(tmp_path) -> list[tuple[str, object, str]]:
    """(name, path, portfolio) of every file the contract runs."""
    french = french_statement(tmp_path / "releve.csv")
    return [
        ("french", french, "FR"),
        # One portfolio per account: the option, and the accounts and portfolios the
        # result names, travel to a worker and back like the rest.
        ("accounts", layouts.write_schwab_all(tmp_path), "ACC"),
        ("tolerance", tolerance_file(tmp_path), "TOL"),
        ("treso-jan", HOLDINGS / "treso_sn_2024-01-31.csv", "TRESO-SN"),
        ("treso-feb", HOLDINGS / "treso_sn_2024-02-29.csv", "TRESO-SN"),
        ("xlsx", HOLDINGS / "global_eur_2024-03-31.xlsx", "GLOBAL-EUR"),
        ("tab", HOLDINGS / "pension_cm_2024-03-31.txt", "PENSION-CM"),
        ("all-rejected", HOLDINGS / "pension_cm_2024-01-31.csv", "ELSEWHERE"),
    ]


def comparable(result) -> dict:
    out = result.to_dict(complete=True)
    for key in DIFFERS:
        out.pop(key)
    return out


def run_everything(tmp_path, via: str) -> tuple[dict, dict, dict]:
    """Every file written and dry-run through ``via``: results, issue frames, positions."""
    results, issues, stored = {}, {}, {}
    for name, path, portfolio in files(tmp_path):
        for dry_run in (True, False):
            key = f"{name}{' (dry run)' if dry_run else ''}"
            result = folio.import_file(path, portfolio, via=via, dry_run=dry_run, timeout=120,
                                       portfolio_per_account=name == "accounts")
            assert result.via == via, key
            results[key], issues[key] = comparable(result), result.issues
    for portfolio in sorted(folio.portfolios()["name"]):
        frame = folio.positions(portfolio)
        if not frame.empty:
            stored[portfolio] = frame.drop(columns=["import_id"]).sort_values(
                ["as_of", "identifier"]).reset_index(drop=True)
    return results, issues, stored


@pytest.mark.slow
def test_every_backend_gives_the_same_whole_result_and_store(tmp_path, monkeypatch):
    runs = {}
    for via in BACKENDS:
        if via == "auto":
            continue  # it only chooses: what runs is one of the others
        # A store, broker and worker of its own for each backend, with a setting
        # changed in this process only: the worker must get it from start_worker.
        monkeypatch.setenv("FOLIO_QUEUE", f"folio-contract-{uuid.uuid4().hex[:8]}")
        with folio.configure(home=tmp_path / via, mv_tolerance=MV_TOLERANCE):
            worker = start_worker(settings=get_settings()) if via != "local" else None
            try:
                runs[via] = run_everything(tmp_path, via)
            finally:
                if worker is not None:
                    worker.stop()
    (local_results, local_issues, local_store), = [runs.pop("local")]
    # What the contract's files are, computed from them, not from a backend.
    assert local_results["tolerance"]["warnings"] == 1  # the 20% gap, not the 5% one
    assert local_results["treso-jan"]["reader"] == {
        "kind": "csv", "encoding": "cp1252", "delimiter": ";", "sheet": None,
        "header_row": 5, "decimal": ","}
    assert local_results["xlsx"]["reader"]["kind"] == "xlsx"
    assert local_results["all-rejected"]["status"] == "failed"
    assert local_results["french"]["rows_rejected"] == 1
    assert local_results["treso-feb (dry run)"]["preview_frame"]["data"]
    assert local_results["accounts"]["portfolios"] == {
        "ACC-Individual ...678": 2, "ACC-Roth Contributory IRA ...912": 2}
    assert {"ACC-Individual ...678", "ACC-Roth Contributory IRA ...912"} <= set(local_store)
    for via, (results, issues, stored) in runs.items():
        assert list(results) == list(local_results)
        for key, expected in local_results.items():
            assert results[key] == expected, (via, key)
            pd.testing.assert_frame_equal(issues[key], local_issues[key], obj=f"{via} {key}")
        assert list(stored) == list(local_store), via
        for portfolio, frame in local_store.items():
            pd.testing.assert_frame_equal(stored[portfolio], frame, obj=f"{via} {portfolio}")


def test_a_result_round_trips_through_its_complete_dict(tmp_path):
    """``from_dict(to_dict(complete=True))`` is the result again, frames and types
    included: what a Celery task's answer turns back into on the client."""
    from folio.result import ImportResult

    for dry_run in (False, True):
        result = folio.import_file(HOLDINGS / "treso_sn_2024-02-29.csv", "TRESO-SN",
                                   via="local", dry_run=dry_run)
        data = result.to_dict(complete=True)
        again = ImportResult.from_dict(data)
        assert again.to_dict(complete=True) == data
        pd.testing.assert_frame_equal(again.issues, result.issues)
        assert again.issues["row"].dtype == "int64"
        for name in ("preview", "missing_instruments"):
            if getattr(result, name) is None:
                assert getattr(again, name) is None
            else:
                pd.testing.assert_frame_equal(getattr(again, name), getattr(result, name))
    assert len(result.to_dict()["issues"]) <= 100 <= MAX_RESULT_ISSUES  # --json stays short


def test_a_complete_dict_from_an_earlier_worker_still_gives_the_result():
    """An earlier folio's worker answered with every issue as a record and the
    column types apart (``issue_dtypes``); a client of this one rebuilds the
    same issues from it."""
    from folio.result import ImportResult

    result = folio.import_file(HOLDINGS / "treso_sn_2024-02-29.csv", "TRESO-SN", via="local")
    assert not result.issues.empty
    data = result.to_dict(complete=True)
    del data["issue_columns"]
    data["issues"] = result.to_dict(max_issues=None)["issues"]
    data["issue_dtypes"] = {str(c): str(t) for c, t in result.issues.dtypes.items()}
    pd.testing.assert_frame_equal(ImportResult.from_dict(data).issues, result.issues)
