"""``Dashboard``: one portfolio snapshot at a glance, in tabs.

Owns the dashboard's widgets and what they show: valuation with data-quality
flags, exposures (table and bars), concentration with limit breaches
highlighted, a stress scenario before and after, and the changes between two
dates. The numbers come from ``folio.analytics``; the results are kept in
attributes (``valuation``, ``exposure``, ``breaches``, ``stressed``,
``changes``) apart from their drawing, so tests read them directly.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import ipywidgets as w
import pandas as pd

from folio import analytics
from folio.catalog import portfolios
from folio.config import Settings, get_settings
from folio.errors import FolioError

DEFAULT_LIMITS = {"issuer": 0.10, "country": 0.35}
TABS = ("Valuation", "Exposures", "Concentration", "Stress", "Changes")


def _money(x) -> str:
    return "" if x is None or pd.isna(x) else f"{x:,.0f}"


def _pct(x) -> str:
    return "" if x is None or pd.isna(x) else f"{x:.1%}"


def bars(table: pd.DataFrame, label: str = "bucket", share: str = "share") -> str:
    """A horizontal bar chart in HTML (no plotting library needed in the kernel)."""
    rows = []
    for rec in table.to_dict("records"):
        pct = max(0.0, float(rec[share] or 0)) * 100
        rows.append(f"<tr><td style='padding-right:8px'>{html.escape(str(rec[label]))}</td>"
                    f"<td style='width:320px'><div style='background:#0969da;height:12px;"
                    f"width:{pct:.1f}%'></div></td><td>{pct:.1f}%</td></tr>")
    return "<table class='folio-bars'>" + "".join(rows) + "</table>"


def parse_limits(text: str) -> dict[str, float]:
    """``"issuer=0.10, country=35%"`` -> ``{"issuer": 0.1, "country": 0.35}`` (``0,10`` too)."""
    try:
        return analytics.parse_limits(text)
    except FolioError as exc:
        raise ValueError(exc.message) from None


class Dashboard:
    """Pick a portfolio and a date; the tabs follow."""

    def __init__(self, portfolio: str | None = None, as_of=None, *,
                 limits: Mapping[str, float] = DEFAULT_LIMITS,
                 settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.valuation = self.exposure = self.concentration = self.breaches = None
        self.stressed = self.changes = None
        names = portfolios(settings=self.settings)["name"].tolist()
        self.portfolio = w.Dropdown(options=names, value=portfolio or (names[0] if names else None),
                                    description="Portfolio")
        self.as_of = w.Dropdown(description="As of")
        self.dimension = w.Dropdown(options=list(analytics.DIMENSIONS), value="issuer",
                                    description="By")
        self.limits = w.Text(value=", ".join(f"{k}={v}" for k, v in limits.items()),
                             description="Limits")
        self.scenario = w.Dropdown(options=analytics.list_scenarios(), description="Scenario")
        self.compare = w.Dropdown(description="Compare to")
        self.message = w.HTML()
        self.valuation_view = w.HTML()
        self.exposure_view = w.HTML()
        self.concentration_view = w.HTML()
        self.stress_view = w.HTML()
        self.changes_view = w.HTML()
        self.tabs = w.Tab(children=[
            self.valuation_view, w.VBox([self.dimension, self.exposure_view]),
            w.VBox([self.limits, self.concentration_view]),
            w.VBox([self.scenario, self.stress_view]), w.VBox([self.compare, self.changes_view]),
        ], titles=TABS)
        self.widget = w.VBox([w.HBox([self.portfolio, self.as_of]), self.message, self.tabs])
        self._busy = False
        self.portfolio.observe(self._when_idle(self._load_dates), names="value")
        self.as_of.observe(self._when_idle(self.refresh), names="value")
        self.dimension.observe(self._when_idle(self._show_exposure), names="value")
        self.limits.observe(self._when_idle(self._show_concentration), names="value")
        self.scenario.observe(self._when_idle(self._show_stress), names="value")
        self.compare.observe(self._when_idle(self._show_changes), names="value")
        self._load_dates(as_of)

    # ------------------------------------------------------------------ state
    def _load_dates(self, as_of=None) -> None:
        if not self.portfolio.value:
            self.message.value = "No portfolio yet: import a file first."
            return
        dates = analytics.snapshot_dates(self.portfolio.value, settings=self.settings)
        labels = [d.isoformat() for d in dates]
        wanted = str(as_of) if as_of else (labels[-1] if labels else None)
        with self._quiet():
            self.as_of.options = labels
            self.as_of.value = wanted if wanted in labels else (labels[-1] if labels else None)
        self.refresh()

    def _quiet(self):
        """Change choices without each change redrawing everything."""
        import contextlib

        @contextlib.contextmanager
        def block():
            self._busy = True
            try:
                yield
            finally:
                self._busy = False

        return block()

    def _when_idle(self, fn):
        return lambda _: None if self._busy else fn()

    def refresh(self) -> None:
        """Value the chosen snapshot and redraw every tab."""
        if not self.portfolio.value or not self.as_of.value:
            return
        try:
            self.valuation = analytics.value_snapshot(self.portfolio.value, self.as_of.value,
                                                      settings=self.settings)
        except FolioError as exc:
            self.message.value = f"<span style='color:#cf222e'>{html.escape(exc.message)}</span>"
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
            + ("<p><b>Flagged positions</b></p>" + flagged.to_html(index=False, na_rep="")
               if len(flagged) else "<p>No flagged positions.</p>"))

    def _show_exposure(self) -> None:
        if self.valuation is None:
            return
        table = analytics.exposure(self.valuation, self.dimension.value)
        # The unvalued bucket is shown when it holds positions, not as an empty row.
        self.exposure = table[(table["bucket"] != analytics.UNVALUED) | (table["positions"] > 0)]
        table = self.exposure.assign(value=self.exposure["value"].map(_money),
                                     share=self.exposure["share"].map(_pct))
        self.exposure_view.value = bars(self.exposure) + table.to_html(index=False)

    def _show_concentration(self) -> None:
        if self.valuation is None:
            return
        try:
            limits = parse_limits(self.limits.value)
        except ValueError:
            self.concentration_view.value = "<span style='color:#cf222e'>limits look like " \
                                            "issuer=0.10, country=0.35</span>"
            return
        self.concentration = {d: analytics.concentration(self.valuation, d)
                              for d in ("issuer", "country")}
        self.breaches = analytics.check_limits(self.valuation, limits)
        rows = "".join(
            f"<tr><td>{d}</td><td>{c.names}</td><td>{_pct(c.top.get(1))}</td>"
            f"<td>{_pct(c.top.get(5))}</td><td>{c.hhi:.3f}</td>"
            f"<td>{'' if c.effective_names is None else f'{c.effective_names:.1f}'}</td></tr>"
            for d, c in self.concentration.items())
        table = ("<table><tr><th>by</th><th>names</th><th>top 1</th><th>top 5</th><th>HHI</th>"
                 f"<th>effective names</th></tr>{rows}</table>")
        records = self.breaches.to_dict("records")
        breaches = "".join(
            f"<li style='color:#cf222e'><b>{html.escape(str(b['dimension']))} "
            f"{html.escape(str(b['bucket']))}</b>: {_pct(b['share'])} &gt; limit "
            f"{_pct(b['limit'])}</li>" for b in records if b["status"] == "breach")
        # Too many unvalued positions: a breach on part of the book would mislead.
        unchecked = [b for b in records if b["status"] == "unchecked"]
        self.concentration_view.value = table + (
            f"<p class='folio-unchecked'>Limits not checked: {_pct(unchecked[0]['unvalued_share'])}"
            " of positions have no value.</p>" if unchecked
            else f"<p>Limit breaches:</p><ul class='folio-breaches'>{breaches}</ul>" if breaches
            else "<p>No limit breached.</p>")

    def _show_stress(self) -> None:
        if self.valuation is None or not self.scenario.value:
            return
        self.stressed = analytics.stress(self.valuation, self.scenario.value)
        totals = self.stressed.totals()
        by = self.stressed.by(self.dimension.value)
        shown = by.assign(**{c: by[c].map(_money) for c in ("before", "after", "change")},
                          change_share=by["change_share"].map(_pct))
        self.stress_view.value = (
            f"<p><b>{html.escape(totals['scenario'])}</b>: {_money(totals['before'])} &rarr; "
            f"{_money(totals['after'])} {self.valuation.base_currency} "
            f"({_pct(totals['change_share'])})</p>" + shown.to_html(index=False))

    def _show_changes(self) -> None:
        if self.valuation is None:
            return
        if not self.compare.value:
            self.changes = None
            self.changes_view.value = "<p>No earlier snapshot to compare with.</p>"
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
            f"{self.changes.base_currency}</p>" + moved.to_html(index=False, na_rep=""))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
