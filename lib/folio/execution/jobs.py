"""``ImportJob``: the future a caller holds for one import, however it runs.

Owns the caller's view of a job: id, status, progress, waiting, the result or
the error, done-callbacks, and its display (HTML for notebooks, text elsewhere).
What actually runs the import sits behind a ``Handle`` (``backends``), the one
interface every execution backend implements, so the job never asks which way
it runs.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable

from folio.errors import FolioError, JobTimeout
from folio.execution.backends import Handle, Snapshot
from folio.ingest.progress import count_words
from folio.result import ImportResult


class ImportJob:
    """A running or finished import, returned at once by ``submit_import``.

    Attributes
    ----------
    id : str
        The import id, valid at once (``folio status ID``).
    via : str
        Where it runs: ``local`` or ``celery``.
    fallback_reason : str or None
        Why ``via="auto"`` ran it locally, when it did.
    task_id : str or None
        The Celery task id, when it runs on a worker.
    """

    def __init__(self, import_id: str, handle: Handle, *, file: str, portfolio: str,
                 via: str, dry_run: bool = False, task_id: str | None = None,
                 fallback_reason: str | None = None) -> None:
        self.id = import_id
        self.file = file
        self.portfolio = portfolio
        self.via = via
        self.dry_run = dry_run
        self.task_id = task_id
        self.fallback_reason = fallback_reason
        self._handle = handle
        self._callbacks: list[Callable[[ImportJob], None]] = []
        self._lock = threading.Lock()
        self._fired = False
        self.submitted_at = time.time()

    # ------------------------------------------------------------------ state
    def poll(self) -> Snapshot:
        """The job's state now, read once from whatever runs it.

        What a display draws from: one read per tick gives the state, the
        progress and the message together (``folio.widgets.watcher`` polls
        this once per tick for every view of a job).
        """
        return self._handle.poll()

    def _status_of(self, snap: Snapshot) -> str:
        if snap.state == "done":
            outcome = self._handle.outcome()
            return outcome.status if isinstance(outcome, ImportResult) else "failed"
        return "failed" if snap.state == "error" else snap.state

    @property
    def status(self) -> str:
        """pending, queued, running, or the final status of the import
        (succeeded, partially_succeeded, unchanged, failed; dry_run for a preview)."""
        return self._status_of(self.poll())

    @property
    def status_message(self) -> str:
        """The status with what the backend adds, e.g. ``queued, no worker has taken it``."""
        snap = self.poll()
        return snap.message or self._status_of(snap)

    @property
    def progress(self) -> tuple[int, int]:
        """(done, total) in row steps (each row checked, then written: a file of
        N rows counts to 2 N); monotone, the total 0 until known, then fixed."""
        snap = self.poll()
        return snap.done, snap.total

    def done(self) -> bool:
        """True once the import has finished, whatever its outcome."""
        return self.poll().state in ("done", "error")

    def outcome(self) -> ImportResult | BaseException | None:
        """The result or the error once finished, None before; never waits."""
        return self._handle.outcome() if self.done() else None

    # ---------------------------------------------------------------- waiting
    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (forever if None); True when the job finished."""
        finished = self._handle.wait(timeout)
        if finished:
            self._fire()
        return finished

    def _outcome(self, timeout: float | None) -> ImportResult | BaseException:
        if not self.wait(timeout):
            raise JobTimeout(
                f"import {self.id} is still {self.status_message} after {timeout} s",
                import_id=self.id, timeout=timeout)
        return self._handle.outcome()

    def result(self, timeout: float | None = None) -> ImportResult:
        """The ``ImportResult``; raises the import's error if it failed to run.

        Raises
        ------
        JobTimeout
            The job did not finish within ``timeout`` seconds (it keeps running).
        FolioError
            The import could not run (unreadable file, missing columns, store down...).
        """
        outcome = self._outcome(timeout)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The error the import raised, or None if it produced a result."""
        outcome = self._outcome(timeout)
        return outcome if isinstance(outcome, BaseException) else None

    def add_done_callback(self, fn: Callable[[ImportJob], None]) -> None:
        """Call ``fn(job)`` once the job finishes (at once if it already has).

        Callbacks run in the thread that notices the end: the local worker
        thread, or whoever waits on a Celery job.
        """
        with self._lock:
            fired = self._fired
            if not fired:
                self._callbacks.append(fn)
        if fired:
            fn(self)

    def _fire(self) -> None:
        with self._lock:
            if self._fired:
                return
            self._fired = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    # ---------------------------------------------------------------- display
    # In a kernel a job draws itself as a live bar: folio registers that
    # display for ImportJob with IPython (folio/__init__.py), so this module
    # never imports the widgets. Elsewhere, and in static output, text and HTML.
    def __repr__(self) -> str:
        snap = self.poll()
        finished = snap.state in ("done", "error")
        words = snap.message or self._status_of(snap)
        if finished:
            outcome = self._handle.outcome()
            words = (outcome.headline if isinstance(outcome, ImportResult)
                     else f"failed: {getattr(outcome, 'message', outcome)}")
        extra = (f" ({count_words(snap.done, snap.total, None, dry_run=self.dry_run)})"
                 if snap.stage and not finished else "")
        return (f"<ImportJob {self.file} -> {self.portfolio} via {self.via}: {words}{extra}"
                f" (import {self.id})>")

    def _repr_html_(self) -> str:
        snap = self.poll()
        if snap.state in ("done", "error"):
            outcome = self._handle.outcome()
            if isinstance(outcome, ImportResult):
                return outcome._repr_html_()
            message = outcome.message if isinstance(outcome, FolioError) else str(outcome)
            return (f"<div><b>{html.escape(self.file)}</b> &rarr; {html.escape(self.portfolio)}"
                    f" <span style='color:var(--jp-error-color1, #cf222e);font-weight:bold'>"
                    f"failed</span> <small>via {html.escape(self.via)}; import "
                    f"{html.escape(self.id)}</small></div>"
                    f"<div style='color:var(--jp-error-color1, #cf222e)'>"
                    f"{html.escape(message)}</div>")
        pct = int(100 * snap.done / snap.total) if snap.total else 0
        words = snap.message or self._status_of(snap)
        count = (count_words(snap.done, snap.total, snap.stage, dry_run=self.dry_run)
                 if snap.stage else "")
        return (f"<div><b>{html.escape(self.file)}</b> &rarr; {html.escape(self.portfolio)}"
                f" <small>via {html.escape(self.via)}</small>: "
                f"{html.escape(words)}</div>"
                f"<progress value='{pct}' max='100'></progress> {pct}% {count}")
