"""``folio.progress(job)``: a live bar in a kernel, a text bar in a terminal.

Owns the one decision, made once per call as ``tqdm.auto`` does, between an
ipywidgets display (returns at once; a thread keeps it current) and a text bar
on stderr (blocks until the job ends).
"""

from __future__ import annotations

import sys
import threading
import time

from folio.execution.jobs import ImportJob

POLL_S = 0.2


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can be drawn)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def describe(job: ImportJob) -> tuple[int, str, str]:
    """(percent, style, text) for a job's current state: what any display draws."""
    done, total = job.progress
    status = job.status_message
    if job.done():
        exc = job.exception(0)
        if exc is not None:
            return 100, "danger", f"failed: {getattr(exc, 'message', exc)}"
        result = job.result(0)
        style = {"succeeded": "success", "unchanged": "info", "dry_run": "info",
                 "partially_succeeded": "warning"}.get(result.status, "danger")
        return 100, style, (f"{result.status}: {result.rows_imported} of {result.rows_total} rows "
                            f"imported, {result.rows_rejected} rejected, {result.warnings} warnings")
    pct = int(100 * done / total) if total else 0
    text = f"{status} {done:,}/{total:,} rows" if total else status
    if job.fallback_reason:
        text += f" (local: {job.fallback_reason})"
    return pct, "", text


class JobBar:
    """A progress bar widget bound to one job (state in ``bar`` and ``label``)."""

    def __init__(self, job: ImportJob) -> None:
        import ipywidgets as w

        self.job = job
        self.bar = w.IntProgress(value=0, min=0, max=100, description=job.file[:20])
        self.label = w.Label()
        self.widget = w.HBox([self.bar, self.label])
        self.refresh()

    def refresh(self) -> bool:
        pct, style, text = describe(self.job)
        self.bar.value, self.bar.bar_style, self.label.value = pct, style, text
        return self.job.done()

    def follow(self) -> threading.Thread:
        def loop():
            while not self.refresh():
                time.sleep(POLL_S)

        thread = threading.Thread(target=loop, daemon=True, name=f"folio-progress-{self.job.id}")
        thread.start()
        return thread


def progress(job: ImportJob, *, notebook: bool | None = None, width: int = 30):
    """Show a job's progress: a live widget in a kernel, else a text bar until it ends."""
    if notebook is None:
        notebook = in_kernel()
    if notebook:
        from IPython.display import display

        bar = JobBar(job)
        display(bar.widget)
        bar.follow()
        return bar
    while True:
        pct, _, text = describe(job)
        filled = width * pct // 100
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {pct:3d}% {text[:80]:80s}")
        sys.stderr.flush()
        if job.done():
            sys.stderr.write("\n")
            return None
        job.wait(POLL_S)
