"""What a Celery import does when it fails, and dry runs on Celery: on real workers.

A failed import is a failed task (FAILURE, with the typed error the client
rebuilds, fields and all); a worker that cannot reach the store reports a typed
StoreError and the client records the failure, so no record stays queued; a
dry run on Celery needs a worker as a write does, and returns its preview.
"""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings, mask_url, with_settings
from folio.execution.celery_worker import get_app
from folio.execution.worker import start_worker

from builders import ORANGE, TOTAL, french_statement
from faults import TcpProxy
from services import service_url


@pytest.fixture
def workers():
    started = []

    def start(**kwargs):
        started.append(start_worker(**kwargs))
        return started[-1]

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture(params=["embedded", "redis"])
def broker(request, monkeypatch):
    """The embedded broker and result backend, and Redis for both (a key-value backend)."""
    monkeypatch.setenv("FOLIO_QUEUE", f"folio-test-{uuid.uuid4().hex[:8]}")
    if request.param == "redis":
        url = service_url("redis").rstrip("/") + "/0"
        monkeypatch.setenv("FOLIO_BROKER_URL", url)
        monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    return request.param


def french_file(tmp_path):
    return french_statement(tmp_path / "releve.csv")


def test_a_failed_import_is_a_failed_task_carrying_the_typed_error(tmp_path, workers, broker):
    workers()
    path = tmp_path / "cols.csv"
    path.write_text("ISIN;Libellé\nFR0000120271;Total\n", encoding="utf-8")
    job = folio.submit_import(path, "P", as_of="2024-01-31", via="celery")
    error = job.exception(timeout=60)
    # The task's own state, as Flower and `celery inspect` read it.
    task = get_app(get_settings()).AsyncResult(job.task_id)
    assert task.state == "FAILURE"
    assert type(task.result) is folio.MappingError
    assert "MappingError" in task.traceback
    # The client's error: the same type, with every field the worker's had.
    assert type(error) is folio.MappingError
    assert error.file == "cols.csv" and error.import_id == job.id
    assert "quantity" in error.missing and "ISIN" in error.found
    assert str(error) == error.message and "missing required column" in error.message
    assert "MappingError" in error.remote_traceback
    assert folio.get_import(job.id).status == "failed"
    assert folio.get_import(job.id).error == error.message


def test_a_worker_that_cannot_reach_the_store_fails_typed_and_the_record_says_so(
        tmp_path, workers, postgres_url, monkeypatch):
    """The worker shares the client's broker and store, but reaches the store
    through a proxy that goes down: the worker cannot claim the import nor mark
    it failed; the client, which can, records the typed error it gets."""
    monkeypatch.setenv("FOLIO_QUEUE", f"folio-test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("FOLIO_DATABASE_URL", postgres_url)
    real = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    cut = real.set(port=proxy.port).render_as_string(hide_password=False)
    workers(settings=with_settings(get_settings(), database_url=cut))
    proxy.down()  # its heartbeat stays fresh a few seconds: the client sends it the task
    job = folio.submit_import(french_file(tmp_path), "P", via="celery")
    error = job.exception(timeout=60)
    assert type(error) is folio.StoreError, error
    assert error.url == mask_url(cut) and "cannot be reached" in error.message
    assert error.import_id == job.id and error.file == "releve.csv"
    record = folio.get_import(job.id)
    assert record.status == "failed" and record.error == error.message
    assert folio.positions("P").empty


def test_a_dry_run_on_celery_without_a_worker_fails_at_once(tmp_path):
    start = time.monotonic()
    with pytest.raises(folio.WorkerUnavailable, match="no worker live on queue 'folio'"):
        folio.submit_import(french_file(tmp_path), "P", via="celery", dry_run=True)
    assert time.monotonic() - start < 1.5


def test_a_dry_run_on_celery_returns_its_preview_and_writes_nothing(tmp_path, workers, broker):
    workers()
    local = folio.import_file(french_file(tmp_path), "P", via="local", dry_run=True)
    result = folio.import_file(french_file(tmp_path), "P", via="celery", dry_run=True,
                               timeout=60)
    assert (result.status, result.via) == ("dry_run", "celery")
    assert (result.rows_total, result.rows_imported, result.rows_rejected) == (3, 2, 1)
    assert result.issues[["row", "code"]].values.tolist() == [[8, "invalid_isin"]]
    assert sorted(result.preview["identifier"]) == sorted([TOTAL, ORANGE])
    assert result.preview.equals(local.preview)
    assert folio.imports().empty and folio.positions("P").empty
