"""The local backend: run the pipeline in a thread of this process.

Owns nothing but the thread and the state it reports; the pipeline does the
work. A thread, not a process, so a notebook's widgets stay live while an
import runs and progress needs no transport.
"""

from __future__ import annotations

import threading

from folio.config import Settings
from folio.execution.backends import Backend, Handle, Snapshot, finished_total
from folio.ingest.pipeline import ImportRequest, run_import
from folio.result import ImportResult


class LocalHandle(Handle):
    """One import running in a background thread."""

    def __init__(self, request: ImportRequest, settings: Settings) -> None:
        self._request = request
        self._settings = settings
        self._finished = threading.Event()
        self._state = "pending"
        self._done = 0
        self._total = 0
        self._stage: str | None = None
        self._outcome: ImportResult | BaseException | None = None
        self._on_finish: list = []
        self._thread = threading.Thread(target=self._run, name=f"folio-import-{request.import_id}",
                                        daemon=True)

    def start(self) -> LocalHandle:
        self._thread.start()
        return self

    def _progress(self, done: int, total: int, stage: str) -> None:
        self._done, self._total, self._stage = done, total, stage

    def _run(self) -> None:
        self._state = "running"
        try:
            self._outcome = run_import(self._request, progress=self._progress,
                                       settings=self._settings)
            self._state = "done"
        except BaseException as exc:  # the caller gets it from result()
            self._outcome = exc
            self._state = "error"
        finally:
            self._finished.set()
            for fn in self._on_finish:
                fn()

    def on_finish(self, fn) -> None:
        """Call ``fn()`` when the import ends (at once if it has)."""
        if self._finished.is_set():
            fn()
        else:
            self._on_finish.append(fn)
            if self._finished.is_set() and fn in self._on_finish:  # finished meanwhile
                self._on_finish.remove(fn)
                fn()

    def poll(self) -> Snapshot:
        state, done, total = self._state, self._done, self._total
        if state == "done":  # a dry run reports nothing: its end is the whole count
            done = total = finished_total(total, self._outcome)
        if self._stage and state == "running":
            return Snapshot(state, done, total, f"{state}: {self._stage}", self._stage)
        return Snapshot(state, done, total)

    def wait(self, timeout: float | None) -> bool:
        return self._finished.wait(timeout)

    def outcome(self) -> ImportResult | BaseException:
        assert self._outcome is not None, "outcome() before the job finished"
        return self._outcome


class LocalBackend(Backend):
    """``via="local"``: the import runs in a thread of this process."""

    name = "local"

    def start(self, request: ImportRequest, settings: Settings) -> LocalHandle:
        return LocalHandle(request, settings).start()
