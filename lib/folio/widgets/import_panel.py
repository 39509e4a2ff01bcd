"""``ImportPanel``: pick or upload a holdings file, map it if need be, import it.

Owns the panel's widgets and what they do: uploads of any size (``Upload``,
kept under ``FOLIO_HOME/uploads`` and shown by the file's own name), the
options the CLI has (sheet, preset, base currency, as-of, where to run, dry
run), what the file states before importing (its sheets, its as-of date),
submitting the job and following it from a thread, the outcome in words,
the issues counted by code and column with their rows on demand and a CSV the
store writes (``tables.IssuesView``), and, when folio cannot
map the file's columns, the mapping step (``mapping_step``). ``ImportPanel``
is an ipywidgets ``VBox``; its state is in the widgets' values and in
``job``, ``result``, ``issues``, ``message`` (the status line as text) and
``mapping`` (a ``MappingState``), so
``run()`` drives it from code, a notebook works headless and tests need no
browser.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import date
from pathlib import Path

import ipywidgets as w
import pandas as pd

from folio.catalog import export_issues
from folio.config import PROJECT_DATA, Settings, get_settings
from folio.errors import ConfigError, FileTooLarge, FolioError, MappingError
from folio.execution import uploads
from folio.execution.jobs import ImportJob
from folio.execution.submit import submit_import
from folio.result import ImportResult
from folio.widgets import theme
from folio.widgets.mapping_step import MappingState, MappingStep
from folio.widgets.panel_text import file_facts, worker_text
from folio.widgets.tables import IssuesView
from folio.widgets.upload import Upload
from folio.widgets.watcher import JobWatcher, watch

AUTOMATIC = ""  # the sheet or preset folio chooses itself
# The status line's colour (``theme.text`` kinds) by an import's final status.
KINDS = {"succeeded": "ok", "partially_succeeded": "warn", "unchanged": "info",
         "dry_run": "info", "failed": "error"}


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
    digest = hashlib.sha256(content).hexdigest()
    target = uploads.target_for(settings.uploads, name, digest)
    # A file already under that name is trusted only if it holds these bytes.
    return uploads.put(target, digest, lambda out: out.write(content),
                       file=uploads.safe_name(name))


def sample_files() -> dict[str, Path]:
    """The sample holdings files shipped in ``data/holdings``, by name."""
    folder = PROJECT_DATA / "holdings"
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir())
            if p.suffix.lower() in (".csv", ".txt", ".xlsx")}


class ImportPanel(w.VBox):
    """The import form, an ipywidgets ``VBox``. Display it, or drive it with ``run()``."""

    def __init__(self, settings: Settings | None = None, **kwargs) -> None:
        self.settings = settings
        self.job: ImportJob | None = None
        self.result: ImportResult | None = None
        self.issues = pd.DataFrame()
        self.mapping: MappingState | None = None
        self.message = ""  # the status line, as plain text
        self.file_says = ""  # what the chosen file states (its as-of date), as plain text
        self.uploaded: Path | None = None
        # The files offered by name: uploads (kept under a hashed name) and samples.
        self.files: dict[str, Path] = sample_files()
        self._shown: threading.Event | None = None  # set once a job's outcome is shown
        self._unobserve = lambda: None
        s = self._settings()
        self.upload = Upload(settings=self._settings)
        self.path = w.Combobox(options=list(self.files), placeholder="a sample, an upload or a path",
                               description="File", layout=w.Layout(width="60%"),
                               ensure_option=False)
        self.facts = w.HTML("")
        self.sheet = w.Dropdown(options=[("first with a header", AUTOMATIC)], value=AUTOMATIC,
                                description="Sheet", layout=w.Layout(display="none"))
        self.preset = w.Dropdown(description="Preset", options=self._preset_options(),
                                 value=AUTOMATIC)
        self.portfolio = w.Text(description="Portfolio", placeholder="e.g. TRESO-SN")
        self.as_of = w.DatePicker(description="As of")
        # Shown only when the name differs from an existing portfolio's by case or
        # accents ("did you mean TRESO-SN?"): ticked, the import creates it anyway.
        self.new_portfolio = w.Checkbox(value=False, indent=False,
                                        layout=w.Layout(display="none"))
        self.base_currency = w.Text(description="Base ccy", placeholder="new portfolio: XOF",
                                    layout=w.Layout(width="220px"))
        self.via = w.ToggleButtons(options=["auto", "celery", "local"], value=s.execution,
                                   description="Run")
        self.worker = w.HTML(theme.text(worker_text(s), "muted"))
        self.dry_button = w.Button(description="Dry run", icon="search")
        self.button = w.Button(description="Import", button_style="primary", icon="upload")
        self.bar = w.IntProgress(value=0, min=0, max=100, description="Progress")
        self.status = w.HTML("")
        self.counts = w.HTML("")
        self.ident = w.HTML("")  # the import id: secondary, for `folio status ID`
        self.step = w.VBox([])  # the mapping step, when a file needs one
        self.table = w.HTML("")
        self.issues_view: IssuesView | None = None  # the last import's issues, when it had some
        self.issues_box = w.VBox([])
        self.upload.observe(self._on_upload, names=["state", "received"])
        self.path.observe(lambda _: self._new_file(), names="value")
        self.sheet.observe(lambda _: self._inspect(sheets=False), names="value")
        self.via.observe(lambda _: self._refresh_worker(), names="value")
        self.portfolio.observe(lambda _: self._offer_new_portfolio(None), names="value")
        self.button.on_click(lambda _: self.start())
        self.dry_button.on_click(lambda _: self.start(dry_run=True))
        super().__init__([
            theme.style(), w.HBox([self.path, self.upload]), self.facts,
            w.HBox([self.sheet, self.preset]),
            w.HBox([self.portfolio, self.as_of, self.base_currency]), self.new_portfolio,
            w.HBox([self.via, self.worker]), w.HBox([self.dry_button, self.button]),
            self.bar, self.status, self.counts, self.ident, self.step, self.issues_box,
            self.table,
        ], **kwargs)
        self.add_class("folio-widget")
        # Classes name the parts for a page's scripts and browser tests.
        for part in ("path", "facts", "portfolio", "status", "counts", "button", "dry_button"):
            getattr(self, part).add_class(f"folio-{part.replace('_', '-')}")

    # ----------------------------------------------------------------- actions
    def _settings(self) -> Settings:
        return self.settings or get_settings()

    def _preset_options(self) -> list[tuple[str, str]]:
        from folio.catalog import presets

        try:
            found = presets(settings=self.settings)
        except FolioError:
            found = []
        return [("automatic", AUTOMATIC)] + [
            (f"{p['name']} (yours)" if p.get("user") else p["name"], p["name"]) for p in found]

    def _refresh_presets(self) -> None:
        keep = self.preset.value
        self.preset.options = self._preset_options()
        self.preset.value = keep if keep in dict(self.preset.options).values() else AUTOMATIC

    def _refresh_worker(self) -> None:
        self.worker.value = theme.text(worker_text(self._settings()), "muted")

    def _offer_new_portfolio(self, alike: str | None) -> None:
        """Show the "new portfolio" box when the name is refused as like ``alike``;
        hide and untick it when the name changes (it was for that name only)."""
        self.new_portfolio.value = False
        self.new_portfolio.description = (
            f"create {self.portfolio.value.strip()!r} as a new portfolio (not {alike})"
            if alike else "")
        self.new_portfolio.layout.display = "" if alike else "none"

    def source(self) -> tuple[Path, str]:
        """(path, the name to show) of the file the form names: one it offers by
        name, or any path."""
        value = self.path.value.strip()
        if value in self.files:  # an upload is kept under a hashed name, shown by its own
            return self.files[value], value
        path = Path(value).expanduser()
        return path, path.name

    def _on_upload(self, change) -> None:
        up = self.upload
        if up.state == "uploading":
            self._say(f"uploading {up.file_name}: {up.received / 2**20:,.1f} of "
                      f"{up.size / 2**20:,.1f} MB", "muted")
        elif up.state == "failed" and change["name"] == "state":
            self._show_error(up.error)
        elif up.state == "done" and change["name"] == "state":
            self.uploaded = Path(up.path)
            self.files = {up.file_name: self.uploaded,
                          **{k: v for k, v in self.files.items() if k != up.file_name}}
            self.path.options = list(self.files)
            self.path.value = up.file_name
            self._say(f"uploaded {up.file_name} ({up.size / 2**20:,.1f} MB)", "ok")

    def _new_file(self) -> None:
        self.mapping, self.step.children = None, ()  # a mapping step was for the last file
        self._inspect()

    def _inspect(self, sheets: bool = True) -> None:
        """Show what the chosen file states before it is imported."""
        path, name = self.source()
        self.file_says = self.facts.value = ""
        if not self.path.value.strip() or not path.is_file():
            return
        try:
            found, self.file_says = file_facts(path, name, self.sheet.value or None)
        except FolioError as exc:
            self.file_says = exc.message
            self.facts.value = theme.text(exc.message, "warn")
            return
        self.facts.value = theme.text(self.file_says, "muted")
        if sheets:
            keep = self.sheet.value if self.sheet.value in found else AUTOMATIC
            self.sheet.options = [("first with a header", AUTOMATIC)] + [(s, s) for s in found]
            self.sheet.value = keep
            self.sheet.layout.display = "" if found else "none"

    def start(self, dry_run: bool = False) -> ImportJob | None:
        """Submit what the form says; progress and results follow in the widgets."""
        self.issues, self.result = pd.DataFrame(), None
        self.table.value = self.counts.value = self.ident.value = ""
        self.issues_view, self.issues_box.children = None, ()
        self.bar.value, self.bar.bar_style = 0, ""
        options = self.mapping.submit_options() if self.mapping is not None else {}
        if self.preset.value and "preset" not in options:
            options["preset"] = self.preset.value
        try:
            if not self.path.value.strip():
                raise ConfigError("choose or upload a file first", setting="path", value="")
            path, name = self.source()
            self.job = submit_import(path, self.portfolio.value, as_of=self.as_of.value,
                                     via=self.via.value, sheet=self.sheet.value or None,
                                     base_currency=self.base_currency.value.strip() or None,
                                     dry_run=dry_run, file_name=name, settings=self.settings,
                                     new_portfolio=self.new_portfolio.value, **options)
        except FolioError as exc:
            self.job = None
            self._show_error(exc)
            alike = getattr(exc, "did_you_mean", None)
            if alike:
                self._offer_new_portfolio(alike)
                self._say(f"portfolio {self.portfolio.value.strip()!r} does not exist; did you "
                          f"mean {alike}? Correct the name, or tick the box to create it as a "
                          f"new portfolio", "error")
            return None
        self._running(True)
        self._say(f"{'dry run of' if dry_run else 'importing'} {name} via "
                  f"{self.job.via}", "muted")
        self._follow(self.job)
        return self.job

    def run(self, path: str | Path, portfolio: str, as_of: date | str | None = None,
            via: str | None = None, timeout: float | None = 300, *,
            dry_run: bool = False) -> ImportJob | None:
        """Fill the form, press Import (or Dry run), and wait until the panel shows
        the outcome."""
        self.path.value = str(path)
        self.portfolio.value = portfolio
        self.as_of.value = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
        if via:
            self.via.value = via
        job = self.start(dry_run=dry_run)
        if job is not None:
            self.wait(timeout)
        return job

    def wait(self, timeout: float | None = None) -> None:
        """Until the running import's outcome is shown (or ``timeout`` seconds)."""
        if self._shown is not None:
            self._shown.wait(timeout)

    # ----------------------------------------------------------------- drawing
    def _follow(self, job: ImportJob) -> None:
        """Draw ``job`` from its one watcher (``watch``): the watcher polls it
        once per tick for every view (a ``JobBar``, ``folio.progress``, this
        panel), and the panel only observes its traits."""
        watcher = watch(job)
        shown = self._shown = threading.Event()
        once = threading.Lock()

        def draw(change=None) -> None:
            if watcher.finished:
                if once.acquire(blocking=False):  # the observer and the check below race
                    self._finished(job, watcher, shown)
                return
            # The watcher's count only goes up and its total is fixed: so does the bar.
            self.bar.value = max(self.bar.value, watcher.percent)
            self._say(f"{job.file}: {watcher.text}", "muted")

        watcher.observe(draw, names=["text", "done", "total", "finished"])
        self._unobserve = lambda: watcher.unobserve(draw, names=["text", "done", "total",
                                                                   "finished"])
        draw()  # it may have finished before the observer was in place

    def _finished(self, job: ImportJob, watcher: JobWatcher, shown: threading.Event) -> None:
        try:
            self._unobserve()
            self.bar.value, self.bar.bar_style = 100, watcher.style
            if isinstance(watcher.outcome, ImportResult):
                self._show(job, watcher.outcome)
            else:
                self._failed(job, watcher.outcome)
            self._refresh_worker()
        finally:
            self._running(False)
            shown.set()

    def _running(self, running: bool) -> None:
        """Disable what would start another import (or change the file) while one runs."""
        self.button.disabled = self.dry_button.disabled = self.upload.disabled = running
        step = self.mapping_step
        if step is not None:
            if running:
                step.import_button.disabled = True
            else:
                step.draw()  # enabled again if the mapping is complete

    def _show(self, job: ImportJob, result: ImportResult) -> None:
        self.result = result
        # One source of words: the result's own headline (as the CLI, the job's repr
        # and the watcher say it), in the colour of its status.
        self._say(result.headline, KINDS.get(result.status, "error"), bold=f"{job.file}:")
        self.counts.value = theme.text(
            f"via {result.via}" + (f" ({result.fallback_reason})" if result.fallback_reason
                                   else "")
            + (f"; as of {result.as_of.isoformat()}" if result.as_of else "")
            + (f" ({result.as_of_source})" if result.as_of_source else "")
            + (f"; preset {result.preset}" if result.preset else "")
            + (f"; mapping {result.mapping_name}" if result.mapping_name
               and result.mapping_name != result.preset else ""), "muted")
        if result.import_id:
            self.ident.value = theme.text(f"import id {result.import_id}", "muted")
        if result.status == "dry_run" and result.preview is not None:
            self.table.value = theme.table(result.preview)
        if result.ok and self.mapping is not None and not job.dry_run:
            self.mapping = None  # imported: the step is done
            self.step.children = ()
        self.issues = result.issues.copy()
        if not self.issues.empty:
            # Counted by code and column, the rows on demand; the CSV is written by the
            # store (every issue, streamed), not built here. A dry run stored none.
            import_id, settings = result.import_id, self.settings
            self.issues_view = IssuesView(
                self.issues, total=result.issues_total,
                export=(lambda: export_issues(import_id, settings=settings)) if import_id else None)
            self.issues_box.children = [self.issues_view]

    def _failed(self, job: ImportJob, error: BaseException) -> None:
        found = getattr(error, "found", None)
        if isinstance(error, MappingError) and found:
            path, name = self.source()
            self.mapping = MappingState.from_error(path, error, file_name=name,
                                                   sheet=self.sheet.value or None)
            try:
                self.mapping.read_samples()
            except FolioError:
                pass  # the step works without them: they only help choose
            step = MappingStep(self.mapping, on_import=self.start,
                               portfolio=lambda: self.portfolio.value,
                               as_of=lambda: self.as_of.value, settings=self.settings,
                               on_saved=lambda _: self._refresh_presets())
            self.step.children = (step,)
            self.bar.bar_style = "warning"
            self._say(
                "folio cannot map every column of this file: choose the field each column "
                "holds below (pre-set to folio's guesses), check the preview, then import",
                "warn", bold=f"{job.file}:")
            step.refresh()
            return
        self._show_error(error)

    @property
    def mapping_step(self) -> MappingStep | None:
        """The mapping step on show, if the file needs one."""
        return self.step.children[0] if self.step.children else None

    def _say(self, message: str, kind: str = "", *, bold: str = "") -> None:
        """Show ``message`` as the panel's status; ``self.message`` keeps it as text."""
        self.message = f"{bold} {message}" if bold else message
        self.status.value = theme.text(message, kind, bold=bold)

    def _show_error(self, exc: BaseException | str) -> None:
        self.bar.bar_style = "danger"
        message = exc if isinstance(exc, str) else getattr(exc, "message", str(exc))
        self._say(message, "error")
