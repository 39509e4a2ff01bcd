"""``folio.progress(job)``: a live bar in a kernel, a text bar in a terminal.

Owns the two drawings of a job's ``JobWatcher`` and the one decision, made once
per call as ``tqdm.auto`` does, between them: an ipywidgets bar (returns at
once; the watcher's thread keeps it current) and a text bar in tqdm's layout
on a stream (blocks until the job ends). Both draw the same watcher, so they
say the same thing: one monotone count, its fixed total, elapsed, rate, ETA.
"""

from __future__ import annotations

import shutil
import sys
from typing import TextIO

import ipywidgets as w

from folio.execution.jobs import ImportJob
from folio.widgets.watcher import POLL_S, JobWatcher, watch

__all__ = ["JobBar", "in_kernel", "progress", "text_line"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (where widgets can be drawn)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class JobBar(w.HBox):
    """A progress bar widget drawing one job's watcher; a real ipywidget, so it
    composes (``VBox([JobBar(job), ...])``).

    State: ``bar`` (an ``IntProgress``: ``value`` the percent done, never going
    back; ``bar_style`` the outcome's style) and ``label`` (the watcher's line).
    """

    def __init__(self, job: ImportJob, watcher: JobWatcher | None = None, **kwargs) -> None:
        self.job = job
        self.watcher = watcher or watch(job)
        self.bar = w.IntProgress(value=0, min=0, max=100, description=job.file[:20],
                                 layout=w.Layout(flex="0 0 auto"))
        self.label = w.Label()
        super().__init__([self.bar, self.label], **kwargs)
        self.watcher.observe(self._draw, names=["text", "done", "total", "style"])
        self._draw()

    @property
    def widget(self) -> JobBar:
        """The widget to display (the bar itself)."""
        return self

    def _draw(self, change=None) -> None:
        watcher = self.watcher
        # The watcher's count only goes up and its total is fixed: so does the bar.
        value = 100 if watcher.finished else watcher.percent
        self.bar.value = max(self.bar.value, value)
        self.bar.bar_style, self.label.value = watcher.style, watcher.text


def text_line(watcher: JobWatcher, width: int = 100, ascii: bool = False) -> str:
    """One line in tqdm's layout: ``checking  41%|████      | 812,345/2,000,000 rows
    [00:03<00:04, 260,000 rows/s]``; without a total, no bar."""
    if watcher.finished and watcher.style == "danger":
        return watcher.text[:width]
    if watcher.finished:
        return _with_bar(watcher, 100, f" {watcher.text}", width, ascii)
    if not watcher.total:
        return watcher.text[:width]
    from folio.ingest.progress import stage_rows
    from folio.widgets.watcher import clock

    rows_done, rows = stage_rows(watcher.done, watcher.total, watcher.phase,
                                 dry_run=watcher.dry_run)
    rate = f"{watcher.row_rate:,.0f} rows/s" if watcher.rate is not None else "? rows/s"
    tail = (f" {rows_done:,}/{rows:,} rows [{clock(watcher.elapsed)}<{clock(watcher.eta)}, "
            f"{rate}]")
    return _with_bar(watcher, watcher.percent, tail, width, ascii)


def _with_bar(watcher: JobWatcher, percent: int, tail: str, width: int, ascii: bool) -> str:
    head = f"{watcher.phase} {percent:3d}%|"
    cells = max(10, min(40, width - len(head) - len(tail) - 1))
    filled = cells * percent // 100
    bar = ("#" if ascii else "\u2588") * filled + " " * (cells - filled)
    return f"{head}{bar}|{tail}"[:width]


def follow_text(job: ImportJob, stream: TextIO | None = None) -> JobWatcher:
    """Draw a job's text bar on ``stream`` (stderr) until it ends; one line,
    redrawn in place, then a newline."""
    stream = stream or sys.stderr
    watcher = watch(job)
    encoding = (getattr(stream, "encoding", None) or "ascii").lower()
    ascii = "utf" not in encoding
    width = shutil.get_terminal_size((100, 20)).columns - 1
    last = ""
    while True:
        finished = watcher.wait(POLL_S) if not watcher.finished else True
        line = text_line(watcher, width, ascii)
        if line != last:
            stream.write("\r" + line.ljust(len(last)))
            stream.flush()
            last = line
        if finished:
            stream.write("\n")
            stream.flush()
            return watcher


def progress(job: ImportJob, *, notebook: bool | None = None, stream: TextIO | None = None):
    """Show a job's progress: a live widget in a kernel, else a text bar until it ends.

    Parameters
    ----------
    job
        The job to follow (``folio.submit_import``'s).
    notebook
        Draw a widget (True) or text (False); by default, a widget in a kernel.
    stream
        Where the text bar goes (stderr by default).

    Returns
    -------
    JobBar or None
        The widget (its state in ``.bar`` and ``.label``); None after a text bar.
    """
    if notebook is None:
        notebook = in_kernel()
    if notebook:
        from IPython.display import display

        bar = JobBar(job)
        display(bar)
        return bar
    follow_text(job, stream)
    return None
