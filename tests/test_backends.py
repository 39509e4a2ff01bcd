"""The execution contract: every handle implements the whole ``Handle``, backends
are registered by name (``auto`` among them), and an import record is failed
by one function that keeps a claim's protection.
"""

from __future__ import annotations

import inspect

import pytest

import folio
from folio.config import get_settings
from folio.execution.backends import BACKENDS, Backend, Handle, get_backend, register_backend
from folio.execution.celery_client import CeleryHandle
from folio.execution.local import LocalHandle
from folio.store import queries
from folio.store.db import get_engine

from builders import french_statement


def test_every_handle_implements_every_method_a_job_calls():
    wanted = {"poll", "wait", "outcome", "on_finish"}
    assert wanted <= Handle.__abstractmethods__
    for handle in (LocalHandle, CeleryHandle):
        assert issubclass(handle, Handle) and not inspect.isabstract(handle), handle

    class Partial(Handle):  # a handle that forgets on_finish cannot be made
        def poll(self): ...

        def wait(self, timeout): ...

        def outcome(self): ...

    with pytest.raises(TypeError, match="on_finish"):
        Partial()


def test_auto_is_a_backend_like_the_others():
    assert {"local", "celery", "auto"} <= set(BACKENDS)
    assert all(isinstance(b, Backend) for b in BACKENDS.values())
    choice = get_backend("auto").choose(get_settings(), dry_run=False)
    assert (choice.via, choice.reason) == ("local", "no worker live on queue 'folio'")
    assert get_backend("auto").choose(get_settings(), dry_run=True).via == "local"
    with pytest.raises(folio.ConfigError, match="via='fax'"):
        get_backend("fax")


def test_a_registered_function_is_a_backend(tmp_path, monkeypatch):
    started = []

    def here(request, settings):
        started.append(request.import_id)
        return LocalHandle(request, settings).start()

    monkeypatch.setitem(BACKENDS, "here", None)  # removed again after the test
    register_backend("here", here)
    job = folio.submit_import(french_statement(tmp_path / "r.csv"), "P", via="here")
    finished = []
    job.add_done_callback(finished.append)
    assert job.result(60).status == "partially_succeeded" and started == [job.id]
    assert job.via == "here" and finished == [job]


def record(engine, import_id: str, status: str = "queued") -> None:
    queries.create_import(engine, import_id=import_id, portfolio="P", file_name="f",
                          file_path=None, via="celery", status=status)


def test_mark_failed_keeps_a_claims_protection():
    engine = get_engine(get_settings())
    record(engine, "a" * 32)
    first = queries.claim_import(engine, "a" * 32)
    queries.release_import(engine, "a" * 32, queries.claimer())
    successor = queries.claim_import(engine, "a" * 32)  # this import is someone else's now
    assert not queries.mark_failed(engine, "a" * 32, "old claim", token=first.token)
    queries.set_import(engine, "a" * 32, claimed_by="elsewhere:1")
    assert not queries.mark_failed(engine, "a" * 32, "a worker", claimer=queries.claimer())
    assert queries.get_import(engine, "a" * 32)["status"] == "running"
    assert queries.mark_failed(engine, "a" * 32, "its own", token=successor.token)
    done = queries.get_import(engine, "a" * 32)
    assert (done["status"], done["error"]) == ("failed", "its own") and done["finished_at"]
    # No claim (the client, the submission): a final record is left as it is.
    assert not queries.mark_failed(engine, "a" * 32, "late news")
    record(engine, "b" * 32)
    assert queries.mark_failed(engine, "b" * 32, "never sent")
    assert queries.get_import(engine, "b" * 32)["error"] == "never sent"
