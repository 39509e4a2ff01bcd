"""``Dashboard``: one portfolio snapshot at a glance, in tabs, as an ipywidgets container.

Owns the dashboard's controls and what each tab shows: valuation with
data-quality flags and the value across snapshots, exposures, concentration
against limits, a stress scenario before and after (with its own "by"), and
the changes between two dates as a waterfall. The numbers come from
``folio.analytics``, the charts from ``folio.analytics.plots``, the tables from
``widgets.Table``. Results are kept in attributes (``valuation``, ``exposure``,
``breaches``, ``stressed``, ``changes``, ``figures``) apart from their drawing,
so tests read them directly. The colours are JupyterLab's theme variables.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Mapping

import ipywidgets as w
import pandas as pd

from folio import analytics, display
from folio.analytics import plots
from folio.catalog import portfolios
from folio.config import Settings, get_settings
from folio.errors import FolioError, NotFound
from folio.widgets.tables import Table
from folio.widgets.theme import style

DEFAULT_LIMITS = {"issuer": 0.10, "country": 0.35}
TABS = ("Valuation", "Exposures", "Concentration", "Stress", "Changes")
CHARTS = ("history", "exposure", "concentration", "stress", "changes")  # one per tab, in order


def _money(x) -> str:
    return "" if x is None or pd.isna(x) else f"{x:,.0f}"


def _pct(x) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.1%}"


def parse_limits(text: str) -> dict[str, float]:
    """``"issuer=0.10, country=35%"`` -> ``{"issuer": 0.1, "country": 0.35}`` (``0,10`` too)."""
    try:
        return analytics.parse_limits(text)
    except FolioError as exc:
        raise ValueError(exc.message) from None


class Dashboard(w.VBox):
    """Pick a portfolio and a date; the tabs follow. A real ``ipywidgets.VBox``.

    Parameters
    ----------
    portfolio, as_of
        What to show first (default: the first portfolio, its latest date).
    limits
        Concentration limits, ``{dimension: share}``.
    settings
        The store to read (default: the settings in force).

    Raises ``NotFound`` for a ``portfolio`` the store does not have.
    """

    def __init__(self, portfolio: str | None = None, as_of=None, *,
                 limits: Mapping[str, float] = DEFAULT_LIMITS,
                 settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.valuation = self.exposure = self.concentration = self.breaches = None
        self.stressed = self.changes = self.everything = None
        self.figures: dict[str, object] = {}
        self._stale: set[str] = set()  # charts whose figure changed since their PNG was drawn
        names = portfolios(settings=self.settings)["name"].tolist()
        if portfolio is not None and portfolio not in names:
            raise NotFound(f"no portfolio {portfolio!r}; portfolios: {', '.join(names) or 'none'}",
                           kind="portfolio", key=portfolio)
        self.portfolio = w.Dropdown(options=names, value=portfolio or (names[0] if names else None),
                                    description="Portfolio")
        self.reload = w.Button(description="Reload", icon="refresh",
                               tooltip="read the list of portfolios again (after an import)",
                               layout=w.Layout(width="100px"))
        self.as_of = w.Dropdown(description="As of")
        self.dimension = w.Dropdown(options=list(analytics.DIMENSIONS), value="issuer",
                                    description="By")
        self.limits = w.Text(value=", ".join(f"{k}={v}" for k, v in limits.items()),
                             description="Limits")
        self.scenario = w.Dropdown(options=analytics.list_scenarios(), description="Scenario")
        self.stress_by = w.Dropdown(options=list(analytics.DIMENSIONS), value="currency",
                                    description="By")
        self.compare = w.Dropdown(description="Compare to")
        self.message = w.HTML()
        self.valuation_view = w.HTML()
        self.concentration_view = w.HTML()
        self.stress_view = w.HTML()
        self.changes_view = w.HTML()
        self.charts = {name: w.Image(format="png", layout=w.Layout(max_width="760px"))
                       for name in CHARTS}
        self.tables = {name: w.VBox() for name in ("positions", "exposure", "stress", "changes")}
        self.tabs = w.Tab(children=[
            w.VBox([self.valuation_view, self.charts["history"], self.tables["positions"]]),
            w.VBox([self.dimension, self.charts["exposure"], self.tables["exposure"]]),
            w.VBox([self.limits, self.concentration_view, self.charts["concentration"]]),
            w.VBox([w.HBox([self.scenario, self.stress_by]), self.stress_view,
                    self.charts["stress"], self.tables["stress"]]),
            w.VBox([self.compare, self.changes_view, self.charts["changes"],
                    self.tables["changes"]]),
        ], titles=TABS)
        super().__init__([style(), w.HBox([self.portfolio, self.as_of, self.reload]),
                          self.message, self.tabs])
        self.add_class("folio-dashboard")
        self._busy = False
        self.portfolio.observe(self._when_idle(self._load_dates), names="value")
        self.as_of.observe(self._when_idle(self.refresh), names="value")
        self.dimension.observe(self._when_idle(self._show_exposure), names="value")
        self.limits.observe(self._when_idle(self._show_concentration), names="value")
        self.scenario.observe(self._when_idle(self._show_stress), names="value")
        self.stress_by.observe(self._when_idle(self._show_stress), names="value")
        self.compare.observe(self._when_idle(self._show_changes), names="value")
        self.reload.on_click(lambda _: self.reload_portfolios())
        self.tabs.observe(lambda _: self._draw_shown(), names="selected_index")
        self._load_dates(as_of)

    # ------------------------------------------------------------------ state
    def reload_portfolios(self) -> list[str]:
        """Read the portfolios again (one imported since shows up); keep the choice."""
        names = portfolios(settings=self.settings)["name"].tolist()
        current = self.portfolio.value
        with self._quiet():
            self.portfolio.options = names
            self.portfolio.value = current if current in names else (names[0] if names else None)
        if self.portfolio.value != current or self.as_of.value is None:
            self._load_dates()
        else:  # the same portfolio may have new dates
            self._load_dates(self.as_of.value)
        return names

    def _load_dates(self, as_of=None) -> None:
        if not self.portfolio.value:
            self.message.value = "No portfolio yet: import a file first, then Reload."
            return
        self.everything = None
        dates = analytics.snapshot_dates(self.portfolio.value, settings=self.settings)
        labels = [d.isoformat() for d in dates]
        wanted = str(as_of) if as_of else (labels[-1] if labels else None)
        with self._quiet():
            self.as_of.options = labels
            self.as_of.value = wanted if wanted in labels else (labels[-1] if labels else None)
        self.refresh()

    @contextlib.contextmanager
    def _quiet(self):
        """Change choices without each change redrawing everything."""
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    def _when_idle(self, fn):
        return lambda _: None if self._busy else fn()

    def refresh(self) -> None:
        """Value the chosen snapshot and redraw every tab."""
        if not self.portfolio.value or not self.as_of.value:
            return
        try:
            self.valuation = analytics.value_snapshot(self.portfolio.value, self.as_of.value,
                                                      settings=self.settings)
            if self.everything is None:  # every date, for the history chart: once a portfolio
                self.everything = analytics.value_snapshot(
                    self.portfolio.value, all_dates=True, settings=self.settings)
        except FolioError as exc:
            self.message.value = f"<span class='folio-error'>{html.escape(exc.message)}</span>"
            return
        self.message.value = ""
        earlier = [d for d in self.as_of.options if d < self.as_of.value]
        with self._quiet():
            self.compare.options = earlier
            self.compare.value = earlier[-1] if earlier else None
        self._show_valuation()
        self._show_exposure()
        self._show_concentration()
        self._show_stress()
        self._show_changes()

    # ---------------------------------------------------------------- drawing
    def _chart(self, name: str, figure) -> None:
        self.figures[name] = figure
        self.charts[name].layout.display = None if figure is not None else "none"
        self._stale.add(name)
        self._draw_shown()

    def _draw_shown(self) -> None:
        """Turn the shown tab's figure into its PNG; the others wait until shown
        (a PNG costs 0.2-0.6 s, and a refresh changes five figures)."""
        name = CHARTS[self.tabs.selected_index or 0]
        if name in self._stale:
            figure = self.figures.get(name)
            self.charts[name].value = plots.png(figure) if figure is not None else b""
            self._stale.discard(name)

    def _table(self, name: str, frame: pd.DataFrame | None, currency: str | None) -> None:
        self.tables[name].children = [] if frame is None else [
            Table(frame, currency=currency, page_size=15)]

    def _show_valuation(self) -> None:
        totals = self.valuation.totals()
        base = self.valuation.base_currency
        frame = self.valuation.positions
        shown = frame[["identifier", "name", "currency", "value", "accrued", "dirty_value",
                       "flagged"] + [f for f in analytics.FLAGS if f in frame.columns]]
        flagged = shown[shown["flagged"]]
        self.valuation_view.value = (
            f"<p><b>{html.escape(self.portfolio.value)}</b> on {self.as_of.value}: "
            f"{_money(totals.get('value'))} {base} clean, {_money(totals.get('dirty_value'))} "
            f"dirty; {_money(totals.get('flagged_value'))} {base} "
            f"({_pct(totals.get('flagged_share'))}) carries a data-quality flag.</p>"
            + ("<p><b>Flagged positions</b></p>" + display.to_html(flagged, currency=base)
               if len(flagged) else "<p>No flagged positions.</p>"))
        self._chart("history", plots.plot_history(self.everything))
        self._table("positions", shown, base)

    def _show_exposure(self) -> None:
        if self.valuation is None:
            return
        table = analytics.exposure(self.valuation, self.dimension.value)
        # The unvalued bucket is shown when it holds positions, not as an empty row.
        self.exposure = table[(table["bucket"] != analytics.UNVALUED) | (table["positions"] > 0)]
        self._chart("exposure", plots.plot_exposure(self.exposure, self.dimension.value))
        self._table("exposure", self.exposure, self.valuation.base_currency)

    def _show_concentration(self) -> None:
        if self.valuation is None:
            return
        try:
            limits = parse_limits(self.limits.value)
        except ValueError:
            self.concentration_view.value = ("<span class='folio-error'>limits look like "
                                             "issuer=0.10, country=0.35</span>")
            return
        self.concentration = {d: analytics.concentration(self.valuation, d)
                              for d in ("issuer", "country")}
        self.breaches = analytics.check_limits(self.valuation, limits)
        summary = pd.DataFrame([{
            "by": d, "names": c.names, "top_1": c.top.get(1), "top_5": c.top.get(5),
            "hhi": c.hhi, "effective_names": c.effective_names}
            for d, c in self.concentration.items()])
        records = self.breaches.to_dict("records")
        breaches = "".join(
            f"<li class='folio-error'><b>{html.escape(str(b['dimension']))} "
            f"{html.escape(str(b['bucket']))}</b>: {_pct(b['share'])} &gt; limit "
            f"{_pct(b['limit'])}</li>" for b in records if b["status"] == "breach")
        # Too many unvalued positions: a breach on part of the book would mislead.
        unchecked = [b for b in records if b["status"] == "unchecked"]
        self.concentration_view.value = display.to_html(summary) + (
            f"<p class='folio-unchecked folio-warn'>Limits not checked: "
            f"{_pct(unchecked[0]['unvalued_share'])} of positions have no value.</p>"
            if unchecked
            else f"<p>Limit breaches:</p><ul class='folio-breaches'>{breaches}</ul>" if breaches
            else "<p class='folio-ok'>No limit breached.</p>")
        by = "issuer" if "issuer" in limits or not limits else next(iter(limits))
        self._chart("concentration",
                    plots.plot_concentration(self.valuation, by, limit=limits.get(by)))

    def _show_stress(self) -> None:
        if self.valuation is None or not self.scenario.value:
            return
        self.stressed = analytics.stress(self.valuation, self.scenario.value)
        totals = self.stressed.totals()
        self.stress_view.value = (
            f"<p><b>{html.escape(totals['scenario'])}</b>: {_money(totals['before'])} &rarr; "
            f"{_money(totals['after'])} {self.valuation.base_currency} "
            f"({_pct(totals['change_share'])})</p>")
        self._chart("stress", plots.plot_stress(self.stressed, self.stress_by.value))
        self._table("stress", self.stressed.by(self.stress_by.value),
                    self.valuation.base_currency)

    def _show_changes(self) -> None:
        if self.valuation is None:
            return
        if not self.compare.value:
            self.changes = None
            self.changes_view.value = "<p>No earlier snapshot to compare with.</p>"
            self._chart("changes", None)
            self._table("changes", None, None)
            return
        self.changes = analytics.snapshot_changes(self.portfolio.value, self.compare.value,
                                                  self.as_of.value, settings=self.settings)
        s = self.changes.summary()
        moved = self.changes.positions[self.changes.positions["status"] != "unchanged"]
        self.changes_view.value = (
            f"<p>{self.compare.value} &rarr; {self.as_of.value}: {s['added']} added, "
            f"{s['removed']} removed, {s['changed']} changed; value change "
            f"{_money(s['change'])} = quantity {_money(s['quantity_effect'])} + price "
            f"{_money(s['price_effect'])} + FX {_money(s['fx_effect'])} "
            f"{self.changes.base_currency}</p>")
        self._chart("changes", plots.plot_changes(self.changes))
        self._table("changes", moved, self.changes.base_currency)
