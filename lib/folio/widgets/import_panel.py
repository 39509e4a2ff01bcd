"""``ImportPanel``: pick or upload a holdings file, import it, see what failed.

Owns the panel's widgets and what they do: saving uploads safely, submitting
the job (auto, celery or local), following its progress from a thread, and
showing counts, the issues table and a spreadsheet-safe CSV download. State is
in the widgets' values and in ``job``/``result``/``issues``; ``run()`` drives it
from code, so a notebook works headless and tests need no browser.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import threading
import time
from datetime import date
from pathlib import Path

import ipywidgets as w
import pandas as pd

from folio.config import PROJECT_DATA, Settings, get_settings
from folio.errors import ConfigError, FileTooLarge, FolioError
from folio.execution import uploads
from folio.execution.jobs import ImportJob
from folio.execution.submit import submit_import
from folio.result import safe_csv
from folio.widgets.progress import POLL_S, describe

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
SHOWN_ISSUES = 500  # rows of the issues table; the download has every issue the result holds


def save_upload(name: str, content: bytes, settings: Settings | None = None) -> Path:
    """Save uploaded bytes under ``FOLIO_HOME/uploads``, never over another upload.

    The name keeps only letters, digits, ``.``, ``_`` and ``-`` (no folders, no
    ``..``) and is prefixed with the content's hash: two different files with
    the same name never collide, and the same file saved twice is one file.

    Raises
    ------
    FileTooLarge
        Over ``FOLIO_MAX_FILE_MB``.
    StoreError
        The file cannot be written (disk full, uploads not a writable folder).
    """
    settings = settings or get_settings()
    if len(content) > settings.max_file_bytes:
        raise FileTooLarge(f"{name}: {len(content):,} bytes is over the limit of "
                           f"{settings.max_file_bytes:,} (FOLIO_MAX_FILE_MB)", file=name,
                           size=len(content), limit=settings.max_file_bytes)
    base = _SAFE.sub("_", Path(str(name).replace("\\", "/")).name).strip("._") or "upload"
    digest = hashlib.sha256(content).hexdigest()
    target = settings.uploads / f"{digest[:16]}-{base[-120:]}"
    # A file already under that name is trusted only if it holds these bytes.
    return uploads.put(target, digest, lambda out: out.write(content), file=base)


def sample_files() -> list[str]:
    folder = PROJECT_DATA / "holdings"
    if not folder.is_dir():
        return []
    return sorted(str(p) for p in folder.iterdir() if p.suffix.lower() in (".csv", ".txt", ".xlsx"))


def worker_text(settings: Settings) -> str:
    from folio.execution.recovery import FRESH_S
    from folio.store import queries
    from folio.store.db import get_engine

    try:
        live = queries.live_workers(get_engine(settings), settings.queue, FRESH_S)
    except FolioError as exc:
        return f"store unavailable: {exc.message}"
    return f"{len(live)} worker(s) live on queue {settings.queue!r}" if live else "no worker live"


class ImportPanel:
    """The import form. Display it in a notebook, or drive it with ``run()``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings
        self.job: ImportJob | None = None
        self.issues = pd.DataFrame()
        self.uploaded: Path | None = None
        self._watcher: threading.Thread | None = None
        s = self._settings()
        self.upload = w.FileUpload(accept=".csv,.txt,.xlsx", multiple=False,
                                   description="Upload")
        self.path = w.Combobox(options=sample_files(), placeholder="path to a CSV or XLSX",
                               description="File", layout=w.Layout(width="60%"),
                               ensure_option=False)
        self.portfolio = w.Text(description="Portfolio", placeholder="e.g. TRESO-SN")
        self.as_of = w.DatePicker(description="As of")
        self.via = w.ToggleButtons(options=["auto", "celery", "local"], value=s.execution,
                                   description="Run")
        self.worker = w.HTML(worker_text(s))
        self.button = w.Button(description="Import", button_style="primary", icon="upload")
        self.bar = w.IntProgress(value=0, min=0, max=100, description="Progress")
        self.status = w.HTML("")
        self.counts = w.HTML("")
        self.table = w.HTML("")
        self.download = w.HTML("")
        self.upload.observe(self._on_upload, names="value")
        self.via.observe(lambda _: self._refresh_worker(), names="value")
        self.button.on_click(lambda _: self.start())
        self.widget = w.VBox([
            w.HBox([self.path, self.upload]), w.HBox([self.portfolio, self.as_of]),
            w.HBox([self.via, self.worker]), self.button, self.bar, self.status,
            self.counts, self.download, self.table,
        ])

    # ----------------------------------------------------------------- actions
    def _settings(self) -> Settings:
        return self.settings or get_settings()

    def _refresh_worker(self) -> None:
        self.worker.value = worker_text(self._settings())

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        try:
            self.uploaded = save_upload(item["name"], bytes(item["content"]), self._settings())
        except FolioError as exc:
            self._show_error(exc)
            return
        self.path.value = str(self.uploaded)

    def start(self) -> ImportJob | None:
        """Submit what the form says; progress and results follow in the widgets."""
        self.issues = pd.DataFrame()
        self.table.value = self.counts.value = self.download.value = ""
        self.bar.value, self.bar.bar_style = 0, ""
        try:
            if not self.path.value.strip():
                raise ConfigError("choose or upload a file first", setting="path", value="")
            self.job = submit_import(self.path.value.strip(), self.portfolio.value,
                                     as_of=self.as_of.value, via=self.via.value,
                                     settings=self.settings)
        except FolioError as exc:
            self.job = None
            self._show_error(exc)
            return None
        self.status.value = html.escape(f"import {self.job.id} via {self.job.via}")
        self._watcher = threading.Thread(target=self._follow, daemon=True,
                                         name=f"folio-panel-{self.job.id}")
        self._watcher.start()
        return self.job

    def run(self, path: str | Path, portfolio: str, as_of: date | str | None = None,
            via: str | None = None, timeout: float | None = 300) -> ImportJob | None:
        """Fill the form, press Import, and wait until the panel shows the outcome."""
        self.path.value = str(path)
        self.portfolio.value = portfolio
        self.as_of.value = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
        if via:
            self.via.value = via
        job = self.start()
        if job is not None:
            self.wait(timeout)
        return job

    def wait(self, timeout: float | None = None) -> None:
        if self._watcher is not None:
            self._watcher.join(timeout)

    # ----------------------------------------------------------------- drawing
    def _follow(self) -> None:
        job = self.job
        while True:
            finished = job.done()
            pct, style, text = describe(job)
            self.bar.value, self.bar.bar_style = pct, style
            self.status.value = html.escape(f"{job.id}: {text}")
            if finished:
                break
            time.sleep(POLL_S)
        error = job.exception(0)
        if error is not None:
            self._show_error(error)
            return
        result = job.result(0)
        self.counts.value = (
            f"<b>{html.escape(result.status)}</b> via {html.escape(result.via)}"
            + (f" ({html.escape(result.fallback_reason)})" if result.fallback_reason else "")
            + f": {result.rows_total} rows read, {result.rows_imported} imported, "
            f"{result.rows_rejected} rejected, {result.warnings} warnings"
            + (f"; mapping {html.escape(result.mapping_name)!s}" if result.mapping_name else ""))
        self.issues = result.issues.copy()
        if not self.issues.empty:
            shown = self.issues[["row", "column", "code", "severity", "value", "message"]]
            # A page of HTML, not a hundred thousand rows of it.
            self.table.value = shown.head(SHOWN_ISSUES).to_html(index=False, escape=True,
                                                                na_rep="")
            payload = base64.b64encode(safe_csv(self.issues).encode("utf-8")).decode("ascii")
            part = (f" (the first {len(self.issues)} of {result.issues_total}; all: folio "
                    f"issues {html.escape(str(result.import_id))} --csv)"
                    if result.issues_total > len(self.issues) else "")
            self.download.value = (f"<a download='issues-{job.id}.csv' "
                                   f"href='data:text/csv;base64,{payload}'>Download issues as "
                                   f"CSV</a>{part}")
        self._refresh_worker()

    def _show_error(self, exc: BaseException) -> None:
        self.bar.bar_style = "danger"
        message = getattr(exc, "message", str(exc))
        self.status.value = f"<span style='color:#cf222e'>{html.escape(message)}</span>"

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
