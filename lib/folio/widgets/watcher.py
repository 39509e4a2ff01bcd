"""One watcher per job: polls it once per tick for every view of it.

Owns the live state of a job as people see it (phase, count, total, elapsed
time, rate, ETA, status and one line of words), as ``traitlets`` that any view
observes: the progress bar, the text bar of a terminal, the import panel. The
job is read once per tick (``ImportJob.poll``), however many views draw it.
It draws nothing and imports no ipywidgets, so a terminal uses it too.

Example
-------
>>> watcher = watch(job)                       # the one watcher of this job
>>> watcher.observe(lambda change: print(change.new), names="phase")
"""

from __future__ import annotations

import threading
import time
import weakref

import traitlets as t

from folio.execution.jobs import ImportJob
from folio.ingest.progress import count_words, steps_per_checked_row
from folio.result import ImportResult

POLL_S = 0.2  # a tick: how often a watched job is read
# Bar styles (ipywidgets' names) by final status.
STYLES = {"succeeded": "success", "unchanged": "info", "dry_run": "info",
          "partially_succeeded": "warning"}


def clock(seconds: float | None) -> str:
    """``01:05`` or ``1:02:03``: a duration as tqdm writes one; ``?`` when unknown."""
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class JobWatcher(t.HasTraits):
    """The live state of one job, refreshed from one poll per tick.

    Observe any trait (``watcher.observe(fn, names="done")``); observers run in
    the watcher's thread, after every trait of a tick is set.

    Attributes
    ----------
    phase : str
        pending, queued, reading, checking, writing, then done or failed.
    status : str
        The job's status: pending, queued, running, or its final status.
    done, total : int
        Row steps in ``folio.ingest.progress``'s contract: ``done`` only goes
        up; ``total`` is 0 until known, then fixed.
    elapsed : float
        Seconds since the job was submitted.
    rate : float or None
        Row steps per second since the import started running (``row_rate``:
        rows per second).
    eta : float or None
        Seconds left at that rate, once the total is known.
    text : str
        One line for people: the count, the share, elapsed, rate and ETA; the
        outcome's words once finished.
    style : str
        The bar's style: "" while running, then success, info, warning or danger.
    """

    phase = t.Unicode("pending")
    status = t.Unicode("pending")
    done = t.Int(0)
    total = t.Int(0)
    elapsed = t.Float(0.0)
    rate = t.Float(None, allow_none=True)
    eta = t.Float(None, allow_none=True)
    text = t.Unicode("")
    style = t.Unicode("")
    finished = t.Bool(False)

    def __init__(self, job: ImportJob, interval: float = POLL_S) -> None:
        super().__init__()
        # Held while the job runs (the bar keeps moving if the caller drops the
        # job), weakly once it ends, so the registry of watchers lets it go.
        self._job: ImportJob | None = job
        self._job_ref = weakref.ref(job)
        self.dry_run = job.dry_run  # its checked rows count every step (progress.py)
        self.interval = interval
        self.outcome: ImportResult | BaseException | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._running_since: tuple[float, int] | None = None  # (time, done) at the start
        self.refresh()

    @property
    def job(self) -> ImportJob | None:
        """The job watched (None once it has ended and nothing else holds it)."""
        return self._job or self._job_ref()

    @property
    def percent(self) -> int:
        """The share done, 0 to 100 (0 while the total is unknown)."""
        return min(100, 100 * self.done // self.total) if self.total else 0

    @property
    def row_rate(self) -> float | None:
        """Rows per second in the current stage (``rate`` is in row steps)."""
        return None if self.rate is None else self.rate / steps_per_checked_row(self.dry_run)

    def refresh(self) -> bool:
        """Read the job once and update every trait; True once it has finished."""
        with self._lock:
            if self.finished:
                return True
            snap = self.job.poll()
            now = time.time()
            finished = snap.state in ("done", "error")
            with self.hold_trait_notifications():
                self.elapsed = max(0.0, now - self.job.submitted_at)
                self.done, self.total = max(self.done, snap.done), self.total or snap.total
                if finished:
                    self._finish()
                else:
                    self._running(snap, now)
            return finished

    def _running(self, snap, now: float) -> None:
        self.status = snap.state
        self.phase = snap.stage or snap.state
        if snap.state == "running" and self._running_since is None:
            self._running_since = (now, self.done)
        rate = eta = None
        if (self._running_since is not None and now - self._running_since[0] > 0.05
                and self.done > self._running_since[1]):  # no rate before any progress
            rate = (self.done - self._running_since[1]) / (now - self._running_since[0])
            if self.total and rate > 0:
                eta = (self.total - self.done) / rate
        self.rate, self.eta = rate, eta
        if snap.stage:
            words = [count_words(self.done, self.total, snap.stage, dry_run=self.dry_run)]
            if self.total:
                words.append(f"{self.percent}%")
            words.append(f"{clock(self.elapsed)} elapsed")
            if rate is not None:
                words.append(f"{self.row_rate:,.0f} rows/s")
            if self.total:
                words.append(f"ETA {clock(eta)}")
            text = " · ".join(words)
        else:
            text = f"{snap.message or snap.state} · {clock(self.elapsed)} elapsed"
        if self.job.fallback_reason:
            text += f" (here: {self.job.fallback_reason})"
        self.text = text

    def _finish(self) -> None:
        self.outcome = outcome = self.job.outcome()
        self.done = self.total = max(self.total, self.done)
        self.rate = self.eta = None
        took = f" · took {clock(self.elapsed)}"
        if isinstance(outcome, ImportResult):
            self.status, self.phase = outcome.status, "done"
            self.style = STYLES.get(outcome.status, "danger")
            self.text = outcome.headline + took
        else:
            self.status, self.phase, self.style = "failed", "failed", "danger"
            self.text = f"failed: {getattr(outcome, 'message', outcome)}"
        self.finished = True
        self._job = None

    # ------------------------------------------------------------- the thread
    def start(self) -> JobWatcher:
        """Poll in a background thread, once per ``interval``, until the job ends."""
        with self._lock:
            if self._thread is None and not self.finished:
                self._thread = threading.Thread(target=self._loop, daemon=True,
                                                name=f"folio-watch-{self.job.id}")
                self._thread.start()
        return self

    def _loop(self) -> None:
        while not self.refresh() and not self._stop.wait(self.interval):
            pass

    def stop(self) -> None:
        """Stop polling (views keep the last state)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the watcher has seen the job end; True if it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.finished


_watchers: weakref.WeakKeyDictionary[ImportJob, JobWatcher] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def watch(job: ImportJob) -> JobWatcher:
    """The one watcher of ``job``, polling it in the background.

    Every view of a job shares it, so the job is read once per tick however
    many bars, labels and panels show it.
    """
    with _registry_lock:
        watcher = _watchers.get(job)
        if watcher is None:
            watcher = _watchers[job] = JobWatcher(job)
    return watcher.start()
