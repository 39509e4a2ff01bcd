"""The Celery worker side: the app, its one thin task, and the task's failures.

Owns Celery configuration (JSON only, late acknowledgement, rejection on worker
loss, the embedded SQLite transport's fast polling), the module-level ``app``
that Celery's own tools load (``celery -A folio.execution.celery_worker inspect
ping``, ``purge``, Flower), and ``import_task``. The task only checks the path
and calls the pipeline; all import logic stays in ``folio.ingest``. What travels
back is JSON: a result as its complete ``to_dict`` (the client rebuilds the very
result a local import gives), a failure as the typed FolioError raised (the
task's state is FAILURE, and the client rebuilds the error with its fields).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from celery import Celery, signals
from celery.exceptions import Ignore
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from folio.config import Settings, get_settings
from folio.errors import ClaimLost, ExecutionError, FolioError
from folio.execution import results, transports
from folio.execution.recovery import hold_beats, release_beats
from folio.execution.staging import opened_request
from folio.ingest.pipeline import ImportRequest, run_import
from folio.store import queries
from folio.store.db import defer_checkpoints, get_engine, run_deferred_checkpoints, unreachable

TASK_NAME = "folio.import"
PROGRESS_EVERY_S = 0.25  # the goal is news at least every second
BACKEND_RETRY_S = 5.0  # after a failed progress report, wait this long before the next
log = logging.getLogger(__name__)
_apps: dict[tuple[str, str, str], Celery] = {}
_lock = threading.Lock()


def __getattr__(name: str) -> Celery:
    # ``celery -A folio.execution.celery_worker`` looks for ``app`` (or ``celery``):
    # the app of the settings in force, made when asked for, not on import, so
    # importing this module writes nothing under FOLIO_HOME.
    if name in ("app", "celery"):
        return get_app(get_settings())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_app(settings: Settings | None = None) -> Celery:
    """The Celery app for the broker, result backend and queue in force."""
    settings = settings or get_settings()
    key = (settings.broker_url, settings.result_backend, settings.queue)
    with _lock:
        app = _apps.get(key)
        if app is None:
            app = _apps[key] = _make_app(settings)
        return app


def _sqlite_file(url: str) -> Path | None:
    """The file of an SQLite broker (``sqla+``) or result backend (``db+``) URL, else None."""
    scheme, plus, database_url = url.partition("+")
    if not plus or scheme not in ("sqla", "sqlalchemy", "db"):
        return None
    parsed = make_url(database_url)  # the URL Celery and kombu hand to SQLAlchemy
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _write_ahead(path: Path) -> None:
    """Put a shared SQLite file in WAL mode (it stays so): readers never wait for writers.

    In SQLite's default journal mode a client polling a task's state is locked
    out while the worker commits a progress report or the result, and its busy
    handler sleeps before it tries again: time added to the end of every import.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def _make_app(settings: Settings) -> Celery:
    for url in (settings.broker_url, settings.result_backend):
        if (path := _sqlite_file(url)) is not None:
            _write_ahead(path)
    app = Celery("folio", broker=transports.broker_url(settings.broker_url),
                 backend=results.backend_url(settings.result_backend),
                 set_as_current=False)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],  # a pickled message is refused, never loaded
        result_accept_content=["json"],
        task_acks_late=True,  # a task killed mid-import stays on the queue...
        task_reject_on_worker_lost=True,  # ...and is redelivered, not lost
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_default_queue=settings.queue,
        broker_transport_options=transports.transport_options(settings.broker_url),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=max(settings.auto_timeout, 1.0),
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        result_extended=False,
        enable_utc=True,
    )
    app.task(name=TASK_NAME, bind=True)(import_task)
    signals.task_postrun.connect(_after_task, weak=False)
    return app


def _after_task(sender=None, task_id=None, **_kwargs) -> None:
    """Celery sends task_postrun once the task's result is stored."""
    if getattr(sender, "name", None) == TASK_NAME:
        run_deferred_checkpoints()
        release_beats(task_id)


class _ProgressSender:
    """Sends a task's latest progress to the result backend from a thread.

    The import only records the news; a thread sends the latest at most every
    ``PROGRESS_EVERY_S``, so the import never waits on the backend (a write to
    the embedded SQLite backend, a round trip to Redis). ``close`` waits for the
    last send, so no progress lands after the task's result.
    """

    def __init__(self, task, task_id: str | None, import_id: str | None) -> None:
        self.task, self.task_id, self.import_id = task, task_id, import_id
        self.latest: tuple[int, int, str] | None = None
        self.news = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"folio-progress-{import_id}")
        self.thread.start()

    def __call__(self, done: int, total: int, stage: str) -> None:
        self.latest = (done, total, stage)
        self.news.set()

    def _run(self) -> None:
        while True:
            self.news.wait()
            if self.stop.is_set():
                return
            self.news.clear()
            done, total, stage = self.latest
            try:
                # The task id explicitly: the task's request is local to its thread.
                self.task.update_state(task_id=self.task_id, state="PROGRESS", meta={
                    "done": done, "total": total, "stage": stage, "import_id": self.import_id})
                pause = PROGRESS_EVERY_S
            except Exception as exc:
                # Progress is news, not the import: a result backend that went away
                # (Redis restarting) must not fail an import the store can finish.
                log.warning("import %s: cannot report progress (%s); going on",
                            self.import_id, exc)
                pause = BACKEND_RETRY_S
            if self.stop.wait(pause):  # at most one send per pause, whatever the news
                return

    def close(self) -> None:
        self.stop.set()
        self.news.set()
        self.thread.join()


def _holding_beats(progress: _ProgressSender, task_id: str, settings: Settings):
    """``progress``, holding the heartbeat once the import writes to an SQLite store
    (``recovery.hold_beats``; released in ``_after_task``, the result stored)."""
    if get_engine(settings).dialect.name != "sqlite":
        return progress

    def report(done: int, total: int, stage: str) -> None:
        if stage == "writing":
            hold_beats(task_id)
        progress(done, total, stage)

    return report


def import_task(self, request_json: dict[str, Any]) -> dict[str, Any]:
    """Run one import on a worker; the outcome travels back as plain JSON.

    A result returns as its complete ``to_dict``; a failure raises the typed
    FolioError (with JSON args, see ``FolioError.for_the_wire``), so the task
    ends in FAILURE and the client rebuilds the error with its fields.
    """
    settings = get_settings()
    request = ImportRequest(**request_json)
    defer_checkpoints()  # until the result is stored: see _after_task
    progress = _ProgressSender(self, self.request.id, request.import_id)
    report = _holding_beats(progress, self.request.id, settings)
    try:
        # The task's files are opened once and checked as opened; the import
        # reads (and a dry run writes) those very files, whatever a name leads to now.
        with opened_request(request, settings) as checked:
            # Always allowed to take over an import whose claimer has died: that is
            # how a redelivered or recovered task finishes the job exactly once.
            result = run_import(checked, progress=report, settings=settings, redelivered=True)
    except ClaimLost as exc:
        # Another delivery of this task owns the import now (this worker was
        # stopped past recovery, or the message came twice): that one writes the
        # record and the task's state. This one wrote nothing and says so.
        print(f"folio worker: {exc.message}", file=sys.stderr, flush=True)
        raise Ignore() from None
    except FolioError as exc:
        raise _failed(settings, request, exc) from None
    except DBAPIError as exc:  # the store, before the pipeline could say so
        raise _failed(settings, request, unreachable(
            exc, settings.database_url, import_id=request.import_id,
            file=request.display_name)) from None
    except Exception as exc:  # a bug: typed, so the client still learns what happened
        raise _failed(settings, request, ExecutionError(
            f"import {request.import_id} of {request.display_name} failed on the worker: "
            f"{type(exc).__name__}: {exc}", import_id=request.import_id,
            file=request.display_name)) from exc
    finally:
        progress.close()
    return {"ok": True, "import_id": result.import_id, "status": result.status,
            "result": result.to_dict(complete=True)}


def _failed(settings: Settings, request: ImportRequest, exc: FolioError) -> FolioError:
    """The error the task raises (inside its ``except``): its traceback in its
    fields, the record marked failed if this worker can, JSON args for the backend."""
    exc.fields.setdefault("import_id", request.import_id)
    exc.fields["remote_traceback"] = exc.fields.get("remote_traceback") or traceback.format_exc()
    if request.import_id and not request.dry_run:  # a dry run has no record
        _record_failure(settings, request.import_id, exc.message)
    return exc.for_the_wire()


def _record_failure(settings: Settings, import_id: str, message: str) -> None:
    """Mark the record failed, if this worker can: the store may be what failed,
    and then the client, which can reach it, does it (``CeleryHandle``). Only a
    record nobody else claimed: the pipeline fails the one it claimed, under its
    token, and a successor's stays the successor's."""
    try:
        queries.mark_failed(get_engine(settings), import_id, message, claimer=queries.claimer())
    except Exception as exc:
        log.warning("import %s: cannot record its failure in the store (%s)", import_id, exc)
