"""``Table``: the one table renderer of every folio widget, and ``IssuesView``.

Owns paging, sorting and filtering a frame in the kernel and drawing one page
of it with ``folio.display``'s rules (amounts by currency, shares as %, dates,
one missing marker, ids hidden). Only a page is ever drawn, so a frame of
100,000 rows costs the browser 20 rows (``benchmarks/bench_tables.py``). The
state (``.rows``, ``.page.value``, ``.sort_by.value``...) is apart from the
drawing (``.view.value``), so tests read it without a browser.

``IssuesView`` shows an import's issues as a count by code and column first,
the rows on demand, and writes the CSV through the store's export
(``catalog.export_issues``), never building it in the widget.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w
import pandas as pd

from folio import display
from folio.widgets.theme import style

PAGE_SIZE = 20
NO_SORT = "(as given)"


class Table(w.VBox):
    """A frame, paged, sortable and filterable, formatted by meaning.

    Parameters
    ----------
    frame
        What to show (kept as is in ``.frame``; never changed).
    currency
        The base currency of base amounts (``value``, ``change``...).
    page_size
        Rows per page.
    show_ids
        Show the internal ``id``/``import_id`` columns (a checkbox too).

    Attributes
    ----------
    rows
        The rows that pass the filter, in the chosen order.
    page_rows
        The rows of the current page (``.page.value``, from 1).
    """

    def __init__(self, frame: pd.DataFrame, *, currency: str | None = None,
                 page_size: int = PAGE_SIZE, show_ids: bool = False) -> None:
        self.frame = frame
        self.currency = currency
        self.page_size = max(1, int(page_size))
        self._haystack: pd.Series | None = None
        self.search = w.Text(placeholder="filter: text in any column", description="Filter",
                             continuous_update=False, layout=w.Layout(width="260px"))
        self.sort_by = w.Dropdown(options=[NO_SORT, *map(str, frame.columns)], value=NO_SORT,
                                  description="Sort by", layout=w.Layout(width="240px"))
        self.descending = w.Checkbox(value=False, description="descending", indent=False,
                                     layout=w.Layout(width="110px"))
        self.show_ids = w.Checkbox(value=show_ids, description="ids", indent=False,
                                   layout=w.Layout(width="60px"))
        self.previous = w.Button(description="‹", tooltip="previous page",
                                 layout=w.Layout(width="36px"))
        self.following = w.Button(description="›", tooltip="next page",
                                  layout=w.Layout(width="36px"))
        self.page = w.BoundedIntText(value=1, min=1, max=1, description="Page",
                                     layout=w.Layout(width="130px"))
        self.status = w.Label()
        self.view = w.HTML()
        controls = [self.search, self.sort_by, self.descending]
        if any(c in frame.columns for c in display.HIDDEN):
            controls.append(self.show_ids)
        pager = [self.previous, self.page, self.following, self.status]
        super().__init__([style(), w.HBox(controls), self.view, w.HBox(pager)])
        self.add_class("folio-table-widget")
        self.rows = frame
        for control in (self.search, self.sort_by, self.descending):
            control.observe(lambda _: self._select(), names="value")
        self.show_ids.observe(lambda _: self._draw(), names="value")
        self.page.observe(lambda _: self._draw(), names="value")
        self.previous.on_click(lambda _: self.turn(-1))
        self.following.on_click(lambda _: self.turn(+1))
        self._select()

    # ------------------------------------------------------------------ state
    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.rows) / self.page_size))

    @property
    def page_rows(self) -> pd.DataFrame:
        start = (self.page.value - 1) * self.page_size
        return self.rows.iloc[start:start + self.page_size]

    def turn(self, pages: int) -> None:
        """Go ``pages`` pages on (back if negative), within the first and last."""
        self.page.value = min(self.pages, max(1, self.page.value + pages))

    def _matches(self, text: str) -> pd.Series:
        if self._haystack is None:  # built on the first filter, reused for every later one
            parts = [self.frame[c].astype(str).str.lower() for c in self.frame.columns
                     if c not in display.HIDDEN]
            joined = parts[0] if parts else pd.Series("", index=self.frame.index)
            for part in parts[1:]:
                joined = joined + "\x1f" + part
            self._haystack = joined
        return self._haystack.str.contains(text.lower(), regex=False)

    def _select(self) -> None:
        rows = self.frame
        text = self.search.value.strip()
        if text:
            rows = rows[self._matches(text).to_numpy(dtype=bool)]
        if self.sort_by.value != NO_SORT:
            column = next(c for c in rows.columns if str(c) == self.sort_by.value)
            rows = rows.sort_values(column, ascending=not self.descending.value,
                                    kind="stable", na_position="last")
        self.rows = rows
        with self.hold_sync():
            self.page.max = self.pages
            self.page.value = 1
        self._draw()

    # ---------------------------------------------------------------- drawing
    def _draw(self) -> None:
        shown = self.page_rows
        # The rows before the words about them: a browser that reads "rows 21-40" has them.
        self.view.value = display.to_html(shown, currency=self.currency,
                                          show_ids=self.show_ids.value)
        first = (self.page.value - 1) * self.page_size + 1 if len(shown) else 0
        total = len(self.rows)
        of_all = "" if total == len(self.frame) else f" (filtered from {len(self.frame):,})"
        self.status.value = (f"rows {first:,}–{first + len(shown) - 1:,} of {total:,}{of_all}"
                             if total else f"no rows{of_all}")
        self.previous.disabled = self.page.value <= 1
        self.following.disabled = self.page.value >= self.pages


class IssuesView(w.VBox):
    """An import's issues: the count by code and column, rows on demand, a CSV export.

    Parameters
    ----------
    issues
        The issues a result carries (``row``, ``column``, ``code``, ``value``, ``message``).
    export
        Called with no argument to write every issue of the import to a CSV
        file; returns its path (``lambda: folio.catalog.export_issues(id)``).
        No export button without it.
    total
        How many issues the import has in the store, when more than ``issues``.
    """

    def __init__(self, issues: pd.DataFrame, *, export: Callable[[], Path] | None = None,
                 total: int | None = None) -> None:
        self.issues = issues
        self.counts = display.issue_counts(issues)
        self.export = export
        self.path: Path | None = None
        self.total = max(len(issues), total or 0)
        self.summary = w.HTML()
        self.by_code = Table(self.counts, page_size=10)
        self.show_rows = w.ToggleButton(value=False, description="Show rows",
                                        icon="list", disabled=issues.empty)
        self.write_csv = w.Button(description="Write CSV", icon="download",
                                  disabled=export is None)
        self.written = w.HTML()
        self.rows: Table | None = None
        self.rows_box = w.VBox()
        super().__init__([style(), self.summary, self.by_code,
                          w.HBox([self.show_rows, self.write_csv, self.written]), self.rows_box])
        self.add_class("folio-issues")
        self.show_rows.observe(lambda _: self._toggle_rows(), names="value")
        self.write_csv.on_click(lambda _: self.write())
        shown = "" if self.total == len(issues) else f" ({len(issues):,} shown here)"
        self.summary.value = (f"<b>{self.total:,} issue{'s' if self.total != 1 else ''}</b>"
                              f"{shown}, by code and column:" if self.total
                              else "<span class='folio-ok'>No issues.</span>")

    def _toggle_rows(self) -> None:
        if self.show_rows.value and self.rows is None:  # drawn only when asked for
            self.rows = Table(self.issues)
        self.rows_box.children = [self.rows] if self.show_rows.value else []

    def write(self) -> Path | None:
        """Write the CSV through ``export``; the path is in ``.path`` and shown."""
        if self.export is None:
            return None
        self.write_csv.disabled = True
        try:
            self.path = Path(self.export())
        except Exception as exc:  # shown where the user clicked, not lost in a log
            self.written.value = f"<span class='folio-error'>{html.escape(str(exc))}</span>"
            return None
        finally:
            self.write_csv.disabled = False
        self.written.value = f"written to <code>{html.escape(str(self.path))}</code>"
        return self.path
