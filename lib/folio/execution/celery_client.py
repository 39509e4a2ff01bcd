"""The Celery client side: the handle a job holds on a Celery task, and sending it.

Owns the translation between a task's states and the job's view (queued,
running with progress, done, error), read from the result backend and, where
the task cannot say, from the store; and ``send``, which publishes the task
with JSON arguments only. A failed task's typed error is rebuilt here with its
fields and the worker's traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.result import AsyncResult

from folio import errors
from folio.config import Settings, mask_url
from folio.errors import ExecutionError, FolioError
from folio.execution.backends import Handle, Snapshot, finished_total
from folio.execution.celery_worker import TASK_NAME, get_app
from folio.ingest.pipeline import ImportRequest, result_from_store
from folio.result import ImportResult
from folio.store import queries
from folio.store.db import get_engine

POLL_MAX_S = 0.25  # the longest pause between a waiting client's reads of a task's state
POLL_FAST_FOR_S = 2.0  # ...after this long; before, at most POLL_FAST_S
POLL_FAST_S = 0.1  # the pause between reads early on, and between progress reads while writing
POLL_WRITING_S = 0.02  # how often a waiting client looks at the store while the worker writes
# Final statuses of an import that committed: its result is read from the store.
COMMITTED = ("succeeded", "partially_succeeded", "unchanged")
# How long an import may be final in the store before the job stops waiting for
# the task's own result and takes the store's word (a worker killed in between).
STORE_GRACE_S = 5.0
# Once the store says an import committed, how long the client waits for the
# task's result (the worker stores it at once) before it takes the store's
# word, which lacks what only the worker knew (the reader's findings).
COMMITTED_WAIT_S = 2.0
log = logging.getLogger(__name__)


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


class CeleryHandle(Handle):
    """A job's view of one Celery task, read from the result backend and the store.

    Nothing runs in this process: the end is noticed by whoever polls (or
    waits), and ``on_finish`` callbacks run in that thread.
    """

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
        self._on_finish: list[Callable[[], None]] = []

    def on_finish(self, fn: Callable[[], None]) -> None:
        if self._final is not None:
            fn()
        else:
            self._on_finish.append(fn)

    def poll(self) -> Snapshot:
        if self._final is not None:
            return self._final
        snapshot = self._read()
        if self._final is not None:  # it ended at this read: say so once
            callbacks, self._on_finish = self._on_finish, []
            for fn in callbacks:
                fn()
        return snapshot

    def _read(self) -> Snapshot:
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
            # Reports may be read out of order (a slow read, then a fast one):
            # the contract's count only goes up, so keep the larger.
            done = max(self._last.done, int(info.get("done", 0)))
            total = self._last.total or int(info.get("total", 0))
            self._last = Snapshot("running", done, total,
                                  f"running: {stage}" if stage else None, stage)
        elif state == "STARTED":
            self._last = Snapshot("running", self._last.done, self._last.total,
                                  stage=self._last.stage)
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
            queries.mark_failed(get_engine(self._settings), self._import_id, message)
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
        # Aged by the store's clock: the worker stamped it, and this machine's
        # clock may differ from the worker's by more than the grace.
        if not queries.finished_before(get_engine(self._settings), self._import_id,
                                       STORE_GRACE_S):
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
            total = finished_total(self._last.total, result)
            self._final = Snapshot("done", total, total)
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
        raise errors.WorkerUnavailable(
            f"cannot send the import to the broker at {mask_url(settings.broker_url)}: "
            f"{settings.redact(str(exc))}",
            broker=mask_url(settings.broker_url), import_id=request.import_id) from None
    return CeleryHandle(app, task_id, request.import_id, settings, dry_run=request.dry_run)
