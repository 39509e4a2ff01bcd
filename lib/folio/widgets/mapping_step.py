"""The import panel's mapping step: say which field each column of a file holds.

Owns ``MappingState`` (the step's state as plain data: the file's columns,
the field chosen for each, constants, the last preview) and ``MappingStep``
(the widgets that draw it: one dropdown per column pre-set to folio's guess,
constants, a preview of the first rows as they would be stored, a name to
save the mapping as a preset, and Import). The preview is a dry run of the
pipeline with the mapping chosen, never a parse of its own, so what it shows
is what the import will store. Tests drive ``MappingState`` without a browser.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ipywidgets as w
import pandas as pd

from folio.config import Settings, get_settings
from folio.errors import FolioError, MappingError
from folio.ingest.columns import FIELDS, IGNORE, guess, missing_fields
from folio.result import ImportResult
from folio.widgets import theme

CONSTANT_FIELDS = ("currency", "country", "asset_class")  # what a whole file often leaves unsaid
PREVIEW_TIMEOUT_S = 120
PREVIEW_PORTFOLIO = "(preview)"  # a dry run needs a portfolio's name; it writes nothing


@dataclass
class MappingState:
    """A file's columns and the field chosen for each: what the step shows and saves.

    Build it with ``from_error`` from the ``MappingError`` an import raised.
    """

    path: Path
    file_name: str
    found: tuple[str, ...]
    choices: dict[str, str]  # file column -> field, or IGNORE
    sheet: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    result: ImportResult | None = None  # the last preview's dry run
    problem: str = ""  # why the last preview could not be made
    saved_as: str | None = None
    samples: dict[str, str] = field(default_factory=dict)  # column -> its first values

    @classmethod
    def from_error(cls, path: str | Path, error: MappingError, *, file_name: str | None = None,
                   sheet: str | None = None) -> MappingState:
        """The step for a file folio could not map, pre-set to folio's guesses."""
        found = tuple(str(c) for c in error.found)
        # An ambiguous header carries no guesses: folio's guess keeps the first
        # of the columns that mean one field.
        guesses = getattr(error, "guesses", None) or guess(found, {})
        return cls(path=Path(path), file_name=file_name or Path(path).name, found=found,
                   choices={c: guesses.get(c, IGNORE) for c in found}, sheet=sheet)

    def read_samples(self, count: int = 3) -> dict[str, str]:
        """Each column's first ``count`` non-empty values as the file writes them,
        shown beside its dropdown (what a column holds tells which field it is)."""
        from folio.ingest.readers import read_blocks

        blocks = read_blocks(self.path, sheet=self.sheet, display_name=self.file_name)
        try:
            first = next(blocks)
        finally:
            blocks.close()
        for column in self.found:
            if column in first.frame:
                values = [str(v).strip() for v in first.frame[column].head(50).dropna()]
                self.samples[column] = ", ".join([v for v in values if v][:count])
        return self.samples

    @property
    def mapping(self) -> dict[str, str]:
        """``{"file column": "field"}`` for the columns not ignored."""
        return {c: f for c, f in self.choices.items() if f != IGNORE}

    @property
    def missing(self) -> list[str]:
        """Required fields neither a column nor a constant gives."""
        return missing_fields([*self.mapping.values(), *self.constants])

    @property
    def repeated(self) -> list[str]:
        """Fields chosen for more than one column."""
        chosen = list(self.mapping.values())
        return sorted({f for f in chosen if chosen.count(f) > 1})

    @property
    def preview(self) -> pd.DataFrame | None:
        return None if self.result is None else self.result.preview

    def choose(self, column: str, field_name: str) -> None:
        if column not in self.choices:
            raise MappingError(f"{self.file_name}: no column {column!r}; columns: "
                               f"{', '.join(self.found)}", file=self.file_name,
                               found=self.found, missing=(column,))
        if field_name != IGNORE and field_name not in FIELDS:
            raise MappingError(f"{field_name!r} is not a field; fields are {', '.join(FIELDS)}",
                               file=self.file_name, found=self.found, missing=(),
                               value=field_name)
        self.choices[column] = field_name
        self.saved_as = None  # what was saved is no longer what is shown

    def set_constant(self, field_name: str, value: str) -> None:
        value = value.strip()
        if value:
            self.constants[field_name] = value.upper() if field_name == "currency" else value
        else:
            self.constants.pop(field_name, None)
        self.saved_as = None

    def submit_options(self) -> dict:
        """What ``submit_import`` is given to read the file this way: the saved
        preset once there is one, else the mapping and constants."""
        if self.saved_as:
            return {"preset": self.saved_as}
        # Every column, those set to "ignore" too: the pipeline maps the columns a
        # mapping leaves by folio's aliases, so an ignored one must say so.
        return {"mapping": dict(self.choices), "constants": dict(self.constants) or None}

    def refresh(self, portfolio: str = "", as_of=None, *,
                settings: Settings | None = None) -> ImportResult | None:
        """Dry-run the file with this mapping; keep the result (or the problem)."""
        self.result, self.problem = self.dry_run(portfolio, as_of, settings=settings)
        return self.result

    def dry_run(self, portfolio: str = "", as_of=None, *,
                settings: Settings | None = None) -> tuple[ImportResult | None, str]:
        """(the dry run's result, or None and why not) for the file read this way,
        changing nothing here: a step may run several at once and keep the last."""
        from folio.execution.submit import submit_import

        problems = [f"choose a column or give a constant for {', '.join(self.missing)}"
                    if self.missing else "",
                    f"one column each for {', '.join(self.repeated)}" if self.repeated else ""]
        if any(problems):
            return None, "; ".join(p for p in problems if p)
        try:
            job = submit_import(self.path, portfolio.strip() or PREVIEW_PORTFOLIO, as_of=as_of,
                                via="local", dry_run=True, sheet=self.sheet,
                                file_name=self.file_name, settings=settings,
                                mapping=dict(self.choices),  # as imported: "ignore" too
                                constants=dict(self.constants) or None)
            return job.result(PREVIEW_TIMEOUT_S), ""
        except FolioError as exc:
            return None, exc.message

    def save(self, name: str, *, settings: Settings | None = None) -> str:
        """Save the mapping as a user preset, applied unasked to files of this header."""
        from folio.catalog import file_header, save_mapping

        header = file_header(self.path, sheet=self.sheet)
        save_mapping(name, self.mapping, header=header, constants=self.constants,
                     settings=settings)
        self.saved_as = name.strip()
        return self.saved_as


class MappingStep(w.VBox):
    """The widgets of one ``MappingState``: ``on_import()`` is called by its Import
    button, ``on_saved(name)`` once the mapping is saved as a preset."""

    def __init__(self, state: MappingState, *, on_import: Callable[[], object],
                 portfolio: Callable[[], str] = str, as_of: Callable[[], object] = lambda: None,
                 on_saved: Callable[[str], object] = lambda name: None,
                 settings: Settings | None = None) -> None:
        self.state, self.settings, self._on_saved = state, settings, on_saved
        self._portfolio, self._as_of = portfolio, as_of
        self._lock = threading.Lock()
        self._generation = 0
        self._threads: list[threading.Thread] = []
        self.title = w.HTML()
        self.dropdowns: dict[str, w.Dropdown] = {}
        rows = []
        for column in state.found:
            self.dropdowns[column] = box = w.Dropdown(
                options=[IGNORE, *FIELDS], value=state.choices[column],
                layout=w.Layout(width="200px"))
            box.observe(lambda change, c=column: self._chose(c, change["new"]), names="value")
            sample = w.HTML(theme.text(state.samples.get(column, ""), "muted"))
            rows.append(w.HBox([w.Label(column, layout=w.Layout(width="240px")), box, sample]))
            rows[-1].add_class("folio-column")
        self.constants = {name: w.Text(description=name.replace("_", " "),
                                       placeholder="for the whole file",
                                       value=state.constants.get(name, ""),
                                       continuous_update=False)
                          for name in CONSTANT_FIELDS}
        for name, box in self.constants.items():
            box.observe(lambda change, n=name: self._constant(n, change["new"]), names="value")
        self.preview = w.HTML()
        self.note = w.HTML()
        self.name = w.Text(description="Save as", placeholder="e.g. my-custodian")
        self.save_button = w.Button(description="Save as preset", icon="save",
                                    layout=w.Layout(width="auto"))
        self.import_button = w.Button(description="Import with this mapping",
                                      button_style="primary", icon="upload",
                                      layout=w.Layout(width="auto"))
        self.save_button.on_click(lambda _: self.save())
        self.import_button.on_click(lambda _: on_import())
        super().__init__([
            self.title, w.VBox(rows), w.HBox(list(self.constants.values())),
            w.HTML(theme.text("Preview: the first rows as they would be stored", "muted")),
            self.preview, self.note, w.HBox([self.name, self.save_button]), self.import_button,
        ])
        self.add_class("folio-step")
        for name, box in self.constants.items():
            box.add_class(f"folio-constant-{name}")
        for part in ("preview", "note", "name", "save_button", "import_button"):
            getattr(self, part).add_class(f"folio-step-{part.replace('_', '-')}")
        self.draw()

    def _chose(self, column: str, field_name: str) -> None:
        self.state.choose(column, field_name)
        self.refresh()

    def _constant(self, name: str, value: str) -> None:
        self.state.set_constant(name, value)
        self.refresh()

    def refresh(self) -> threading.Thread:
        """Re-compute the preview on a thread (a later change wins over an earlier)."""
        with self._lock:
            self._generation += 1
            generation = self._generation
        self.note.value = theme.text("previewing...", "muted")

        def run() -> None:
            outcome = self.state.dry_run(self._portfolio(), self._as_of(),
                                         settings=self.settings)
            with self._lock:
                if generation == self._generation:  # else a later change's preview is due
                    self.state.result, self.state.problem = outcome
                    self.draw()

        thread = threading.Thread(target=run, daemon=True, name="folio-mapping-preview")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return thread

    def wait(self, timeout: float | None = PREVIEW_TIMEOUT_S) -> None:
        """Until every preview started is over (the latest one drawn)."""
        for thread in list(self._threads):
            thread.join(timeout)

    def save(self) -> str | None:
        try:
            name = self.state.save(self.name.value, settings=self.settings or get_settings())
        except FolioError as exc:
            self.note.value = theme.text(exc.message, "error")
            return None
        self.note.value = theme.text(f"saved as preset {name!r}: files with this header are "
                                     f"read with it from now on", "ok")
        self._on_saved(name)
        return name

    def draw(self) -> None:
        state = self.state
        left = state.missing
        self.title.value = (theme.text(f"Map the columns of {state.file_name}", "title")
                            + (" " + theme.text(f"(missing: {', '.join(left)})", "warn")
                               if left else ""))
        preview = state.preview
        self.preview.value = (theme.table(preview) if preview is not None and not preview.empty
                              else "")
        result = state.result
        if state.problem:
            self.note.value = theme.text(state.problem, "error")
        elif result is not None:
            # The dry run's own words (ImportResult.headline), as the panel says them.
            self.note.value = theme.text(result.headline,
                                         "ok" if not result.rows_rejected else "warn")
        else:
            self.note.value = ""
        self.import_button.disabled = bool(left or state.repeated)
