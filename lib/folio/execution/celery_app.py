"""The Celery app, its one thin task, and the handle a job holds on a Celery task.

Owns Celery configuration (JSON only, late acknowledgement, rejection on worker
loss, the embedded SQLite transport's fast polling) and the translation between
task states and the job's view: queued, running with progress, done, error.
The task only checks the path and calls the pipeline; all import logic stays
in ``folio.ingest``. What travels back is JSON: a result as its complete
``to_dict`` (the client rebuilds the very result a local import gives), a
failure as the typed FolioError raised (the task's state is FAILURE, and the
client rebuilds the error with its fields).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
import threading
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from celery import Celery, signals
from celery.exceptions import Ignore
from celery.result import AsyncResult
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from folio import errors
from folio.config import Settings, get_settings
from folio.errors import ClaimLost, ExecutionError, FolioError
from folio.execution import sqlite_transport
from folio.execution.jobs import Snapshot
from folio.execution.staging import opened_request
from folio.ingest.pipeline import ImportRequest, result_from_store, run_import
from folio.result import ImportResult
from folio.store import queries
from folio.store.db import defer_checkpoints, get_engine, run_deferred_checkpoints, unreachable

TASK_NAME = "folio.import"
PROGRESS_EVERY_S = 0.25  # the goal is news at least every second
POLL_MAX_S = 0.25  # the longest pause between a waiting client's reads of a task's state
POLL_FAST_FOR_S = 2.0  # ...after this long; before, at most POLL_FAST_S
POLL_FAST_S = 0.1  # the pause between reads early on, and between progress reads while writing
POLL_WRITING_S = 0.02  # how often a waiting client looks at the store while the worker writes
# Final statuses of an import that committed: its result is read from the store.
COMMITTED = ("succeeded", "partially_succeeded", "unchanged")
BACKEND_RETRY_S = 5.0  # after a failed progress report, wait this long before the next
log = logging.getLogger(__name__)
# How long an import may be final in the store before the job stops waiting for
# the task's own result and takes the store's word (a worker killed in between).
STORE_GRACE_S = 5.0
# Once the store says an import committed, how long the client waits for the
# task's result (the worker stores it at once) before it takes the store's
# word, which lacks what only the worker knew (the reader's findings).
COMMITTED_WAIT_S = 2.0
_apps: dict[tuple[str, str, str], Celery] = {}
_lock = threading.Lock()


def transport_options(url: str) -> dict[str, Any]:
    if url.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": 2, "socket_timeout": 10}
    return {}


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
    app = Celery("folio", broker=sqlite_transport.broker_url(settings.broker_url),
                 backend=settings.result_backend,
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
        broker_transport_options=transport_options(settings.broker_url),
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


def _after_task(sender=None, **_kwargs) -> None:
    """Celery sends task_postrun once the task's result is stored."""
    if getattr(sender, "name", None) == TASK_NAME:
        run_deferred_checkpoints()


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
    try:
        # The task's files are opened once and checked as opened; the import
        # reads (and a dry run writes) those very files, whatever a name leads to now.
        with opened_request(request, settings) as checked:
            # Always allowed to take over an import whose claimer has died: that is
            # how a redelivered or recovered task finishes the job exactly once.
            result = run_import(checked, progress=progress, settings=settings, redelivered=True)
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
    and then the client, which can reach it, does it (``CeleryHandle``)."""
    try:
        queries.set_import(get_engine(settings), import_id, status="failed", error=message,
                           finished_at=queries.now())
    except Exception as exc:
        log.warning("import %s: cannot record its failure in the store (%s)", import_id, exc)


def rebuild_error(payload: dict[str, Any]) -> FolioError:
    """The typed error a worker reported, with its fields and traceback."""
    info = dict(payload["error"])
    cls = getattr(errors, info.pop("error", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, FolioError)):
        cls = ExecutionError
    info.pop("code", None)
    message = info.pop("message", "import failed on the worker")
    info["remote_traceback"] = info.get("remote_traceback") or payload.get("traceback")
    info["import_id"] = info.get("import_id") or payload.get("import_id")
    return cls(message, **info)


class CeleryHandle:
    """A job's view of one Celery task, read from the result backend and the store."""

    def __init__(self, app: Celery, task_id: str, import_id: str, settings: Settings,
                 dry_run: bool = False) -> None:
        self._result = AsyncResult(task_id, app=app)
        self._import_id = import_id
        self._settings = settings
        self._dry_run = dry_run  # no import record: the task's result is the only answer
        self._committed: float | None = None  # when the store said the import committed
        self._submitted = time.monotonic()
        self._outcome: ImportResult | BaseException | None = None
        self._final: Snapshot | None = None
        self._last = Snapshot("queued")
        self._stage: str | None = None  # of the last progress the worker sent
        self._store_checked = time.monotonic()
        self._backend_due = 0.0  # while the worker writes, when the backend is read next

    def poll(self) -> Snapshot:
        if self._final is not None:
            return self._final
        if self._stage == "writing" and self._committed is None:
            # The import's commit says its result is on its way: the store says
            # so at once, and from then on the backend is read at every poll
            # (every POLL_WRITING_S) until the result is there.
            if not self._store_says_committed() and time.monotonic() < self._backend_due:
                return self._last  # progress: the backend is read at most every POLL_FAST_S
        self._backend_due = time.monotonic() + POLL_FAST_S
        try:
            # One read of the backend, not one for the state and one for its info:
            # on the embedded backend each read opens the database afresh.
            meta = self._result.backend.get_task_meta(self._result.id)
            state, info = meta["status"], meta.get("result")
        except Exception as exc:  # result backend unreachable: say so, keep the last state
            if self._store_says_final() or self._committed_long_ago():
                return self._final  # the store can still say the import ended
            return Snapshot(self._last.state, self._last.done, self._last.total,
                            f"{self._last.state}; cannot read task state: {exc}")
        if state == "SUCCESS":
            self._finish(info)
            return self._final
        if state in ("FAILURE", "REVOKED"):
            self._failed(info, meta.get("traceback"))
            return self._final
        if self._store_says_final() or self._committed_long_ago():
            return self._final
        if state == "PROGRESS" and isinstance(info, dict):
            stage = self._stage = info.get("stage")
            self._last = Snapshot("running", int(info.get("done", 0)), int(info.get("total", 0)),
                                  f"running: {stage}" if stage else None)
        elif state == "STARTED":
            self._last = Snapshot("running", self._last.done, self._last.total)
        elif self._last.state == "queued":
            waited = time.monotonic() - self._submitted
            if waited > self._settings.queue_timeout:
                return Snapshot("queued", 0, 0, f"queued, no worker has taken it "
                                                f"({waited:.0f} s)")
        return self._last

    def _failed(self, info: Any, remote_traceback: str | None) -> None:
        """The task failed: its typed error, and a record that says so."""
        if isinstance(info, FolioError):  # rebuilt by the backend from the task's raise
            error = info
            error.fields.setdefault("import_id", self._import_id)
            if not error.fields.get("remote_traceback"):
                error.fields["remote_traceback"] = remote_traceback
            for key, value in error.fields.items():
                setattr(error, key, value)
        else:  # revoked, or not ours: say what the backend said
            error = ExecutionError(f"import {self._import_id} failed on the worker: {info!r}",
                                   import_id=self._import_id, remote_traceback=remote_traceback)
        self._outcome = error
        self._final = Snapshot("error", self._last.done, self._last.total)
        self._record_failure(error.message)

    def _record_failure(self, message: str) -> None:
        """A worker that cannot reach the store cannot mark the record failed; this
        client can, so no record of a failed task stays queued or running."""
        if self._dry_run:
            return
        try:
            engine = get_engine(self._settings)
            if not queries.is_final(queries.get_import(engine, self._import_id)["status"]):
                queries.set_import(engine, self._import_id, status="failed", error=message,
                                   finished_at=queries.now())
        except Exception as exc:  # the error itself is the answer; the record is news
            log.warning("import %s: cannot record its failure (%s)", self._import_id, exc)

    def _committed_long_ago(self) -> bool:
        """The store said committed, and the task's result has not come since: a
        worker killed in between. Then the store's word is the answer."""
        if self._committed is None or time.monotonic() - self._committed < COMMITTED_WAIT_S:
            return False
        self._finish({"ok": True})
        return True

    def _store_says_committed(self) -> bool:
        """Whether the import record says the import committed its snapshot (or its
        rejection of every row): then the task's result is due at once.

        A failure the import raised is left to the task's result, which carries
        the typed error.
        """
        if self._dry_run:
            return False
        try:
            record = queries.get_import(get_engine(self._settings), self._import_id)
        except FolioError:
            return False
        every_row_rejected = (record["status"] == "failed" and record["rows_total"]
                              and record["rows_rejected"] == record["rows_total"])
        if record["status"] not in COMMITTED and not every_row_rejected:
            return False
        self._committed = time.monotonic()
        return True

    def _store_says_final(self) -> bool:
        """Whether the import record is final though the task never said so.

        A worker killed between committing the import and storing the task's
        result leaves the task at its last progress state for ever; the store
        is the truth, so look there (at most once a second).
        """
        now = time.monotonic()
        if self._dry_run or now - self._store_checked < 1.0:
            return False
        self._store_checked = now
        try:
            record = queries.get_import(get_engine(self._settings), self._import_id)
        except FolioError:
            return False
        if not queries.is_final(record["status"]) or record["finished_at"] is None:
            return False
        finished = record["finished_at"]
        finished = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
        if (datetime.now(UTC) - finished).total_seconds() < STORE_GRACE_S:
            return False  # the task's own result (with the typed error) is on its way
        if record["status"] == "failed" and record["rows_total"] == 0:
            self._outcome = ExecutionError(
                f"import {self._import_id} failed on the worker: {record['error']}",
                import_id=self._import_id)
            self._final = Snapshot("error", self._last.done, self._last.total)
        else:
            self._finish({"ok": True})
        return True

    def _finish(self, payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("ok"):
            if payload.get("result") is not None:  # the worker's own result, whole
                result = ImportResult.from_dict(payload["result"])
            else:  # the store's word (a worker killed after its commit; an older worker)
                result = result_from_store(self._import_id, self._settings)
            result.task_id = self._result.id
            self._outcome = result
            total = result.rows_imported
            self._final = Snapshot("done", max(self._last.done, total), max(self._last.total, total))
        else:
            self._outcome = rebuild_error(payload if isinstance(payload, dict) else
                                          {"error": {"message": repr(payload)}})
            self._final = Snapshot("error", self._last.done, self._last.total)

    def wait(self, timeout: float | None) -> bool:
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        delay = 0.02
        while True:
            if self.poll().state in ("done", "error"):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            pause = delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic()))
            time.sleep(pause)
            # A short import's answer soon after it ends (reads every 0.1 s for
            # the first seconds); then a read every POLL_MAX_S, as often as the
            # worker sends news: reading ten times a second cost a large import's
            # client 0.7 s of CPU, taken from the worker on two cores.
            # Once the worker writes, a look at the import record every
            # POLL_WRITING_S (one row by key) finds the commit soon after it.
            slow = time.monotonic() - started > POLL_FAST_FOR_S
            delay = min(delay * 1.5, POLL_MAX_S if slow else POLL_FAST_S)
            if self._stage == "writing":
                delay = POLL_WRITING_S

    def outcome(self) -> ImportResult | BaseException:
        assert self._outcome is not None, "outcome() before the job finished"
        return self._outcome


def send(request: ImportRequest, settings: Settings) -> CeleryHandle:
    """Publish the task (JSON arguments only) and return its handle."""
    app = get_app(settings)
    task_id = request.task_id or request.import_id
    try:
        app.send_task(TASK_NAME, args=[request.to_json()], task_id=task_id, queue=settings.queue,
                      retry=True, retry_policy={"max_retries": 2, "interval_start": 0,
                                                "interval_step": 0.2, "interval_max": 0.5})
    except Exception as exc:
        from folio.config import mask_url

        raise errors.WorkerUnavailable(
            f"cannot send the import to the broker at {mask_url(settings.broker_url)}: "
            f"{settings.redact(str(exc))}",
            broker=mask_url(settings.broker_url), import_id=request.import_id) from None
    return CeleryHandle(app, task_id, request.import_id, settings, dry_run=request.dry_run)


def broker_problem(settings: Settings, timeout: float) -> str | None:
    """Why the broker cannot be reached within ``timeout`` seconds, or None if it can."""
    from folio.config import mask_url

    url = settings.broker_url
    if url.startswith("sqla+sqlite"):
        return None  # a file under FOLIO_HOME: there whenever the store is
    outcome: list[str | None] = []

    def probe() -> None:
        from kombu import Connection

        try:
            with Connection(url, connect_timeout=timeout,
                            transport_options=transport_options(url)) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                       timeout=timeout)
            outcome.append(None)
        except Exception as exc:
            outcome.append(settings.redact(f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)  # the bound holds even if a client library ignores its timeout
    if not outcome:
        return f"no broker at {mask_url(url)} (no answer in {timeout:g} s)"
    return f"no broker at {mask_url(url)} ({outcome[0]})" if outcome[0] else None
