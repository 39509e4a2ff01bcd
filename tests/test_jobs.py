"""ImportJob: the future a caller holds, here over the local thread backend."""

from __future__ import annotations

import threading

import pytest

import folio
import folio.execution.local as local
from folio.ingest.pipeline import run_import

from builders import BAD_ISIN, TOTAL, big_english_csv, english_csv


@pytest.fixture
def gate(monkeypatch):
    """Hold local imports at the start until the test opens the gate."""
    opened = threading.Event()

    def held(request, **kwargs):
        assert opened.wait(30), "test never opened the gate"
        return run_import(request, **kwargs)

    monkeypatch.setattr(local, "run_import", held)
    return opened


def test_job_reports_running_then_result(tmp_path, gate):
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
    job = folio.submit_import(path, "P")
    assert len(job.id) == 32 and job.via == "local"
    assert folio.get_import(job.id).status in ("pending", "running")  # the id is valid at once
    assert job.status == "running" and not job.done()
    assert job.wait(0.05) is False
    with pytest.raises(folio.JobTimeout) as info:
        job.result(timeout=0.05)
    assert info.value.import_id == job.id
    assert "<progress" in job._repr_html_()
    finished = []
    job.add_done_callback(finished.append)
    gate.set()
    result = job.result(timeout=60)
    assert job.wait(0) is True and job.done() and job.exception() is None
    assert result.status == job.status == "succeeded"
    assert finished == [job]
    assert job.progress == (2, 2)  # one row, checked then written
    assert "succeeded" in job._repr_html_() and "P" in repr(job)
    later = []
    job.add_done_callback(later.append)  # already finished: called at once
    assert later == [job]


def test_job_carries_the_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    job = folio.submit_import(path, "P", as_of="2024-01-31")
    error = job.exception(timeout=60)
    assert isinstance(error, folio.ReadError) and error.file == "empty.csv"
    assert job.status == "failed"
    with pytest.raises(folio.ReadError):
        job.result()
    assert "failed" in job._repr_html_()
    assert folio.get_import(job.id).status == "failed"


def test_progress_reaches_the_job_in_steps(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", 50_000)
    seen: list[tuple[int, int]] = []
    job = folio.submit_import(path, "P", as_of="2024-01-31")
    while not job.wait(0.005):
        seen.append(job.progress)
    assert job.result().rows_imported == 50_000
    assert job.progress == (100_000, 100_000)  # 50,000 rows checked, then written
    # The pipeline itself reports each stage, and at least every 10% of each,
    # as one count that only goes up (ingest/progress.py's contract):
    calls: list[tuple[int, int, str]] = []
    other = big_english_csv(tmp_path / "big2.csv", 50_000, currency="USD")
    from folio.ingest.pipeline import ImportRequest

    run_import(ImportRequest(path=str(other), portfolio="Q", as_of="2024-01-31"),
               progress=lambda d, t, stage: calls.append((d, t, stage)))
    stages = [stage for _, _, stage in calls]
    assert stages[0] == "reading" and stages[-1] == "writing"
    assert stages == sorted(stages, key=["reading", "checking", "writing"].index)
    dones = [d for d, _, _ in calls]
    assert dones == sorted(dones) and calls[-1][:2] == (100_000, 100_000)
    assert max(d for d, _, s in calls if s == "checking") == 50_000  # every row checked
    assert {t for _, t, _ in calls} <= {0, 100_000}  # no estimate: unknown, then fixed
    assert max(b - a for a, b in zip([0, *dones], dones, strict=False)) <= 6_250


def test_bad_arguments_fail_at_submission(tmp_path):
    path = english_csv(tmp_path / "h.csv", [(BAD_ISIN, "x", 1, 1, 1, "EUR", "2024-01-31")])
    with pytest.raises(folio.ReadError, match="no such file"):
        folio.submit_import(tmp_path / "nope.csv", "P")
    with pytest.raises(folio.ConfigError, match="via='fax'"):
        folio.submit_import(path, "P", via="fax")
    with pytest.raises(folio.ConfigError, match="not a date"):
        folio.submit_import(path, "P", as_of="31 janvier")
    with pytest.raises(folio.ConfigError, match="portfolio"):
        folio.submit_import(path, " ")
    assert folio.imports().empty
