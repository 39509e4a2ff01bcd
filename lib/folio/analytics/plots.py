"""Charts of the analytics results: exposures, concentration, stress, changes, history.

Owns how each result is drawn with matplotlib (imported only when a chart is
asked for; a clear ``ConfigError`` says how to install it if missing). Each
function returns a ``matplotlib.figure.Figure`` built without pyplot, so no
global figure state leaks into a notebook or a worker; the Dashboard draws the
same figures in its tabs. The data stays the analytics' own: a chart never
computes a figure the tables do not show.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.changes import Changes
from folio.analytics.exposures import UNVALUED, exposure
from folio.analytics.history import exposure_history, history
from folio.analytics.stress import StressResult
from folio.analytics.valuation import Valuation
from folio.errors import ConfigError

# Neutral colours that read on JupyterLab's light and dark themes alike (a PNG
# cannot follow CSS variables); the background stays transparent.
INK, MAIN, AFTER, BAD, GOOD, LIMIT = "#8c959f", "#4a8fd8", "#e0a030", "#d1495b", "#3fa66b", "#d1495b"


def _figure(width: float = 7.0, height: float = 3.5):
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is a dependency; a broken env says so
        raise ConfigError("charts need matplotlib: pip install matplotlib",
                          setting="matplotlib") from None
    _register_notebook_display(Figure)
    fig = Figure(figsize=(width, height), layout="constrained")
    fig.patch.set_alpha(0.0)
    return fig


def _register_notebook_display(figure_class) -> None:
    """Let a bare Figure show itself as a PNG in IPython (pyplot is never imported)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    if figure_class not in formatter.type_printers:
        formatter.for_type(figure_class, lambda fig: print_figure(fig, "png", dpi=100))


def _style(ax, title: str) -> None:
    ax.set_title(title, color=INK, fontsize=10, loc="left")
    ax.set_facecolor("none")
    ax.tick_params(colors=INK, labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(INK)


def _percent_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def _amount_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))


def _exposure_table(valued: Valuation | pd.DataFrame, by: str) -> pd.DataFrame:
    if isinstance(valued, pd.DataFrame) and {"bucket", "share", "positions"} <= set(valued):
        return valued
    return exposure(valued, by)


def plot_exposure(valued: Valuation | pd.DataFrame, by: str = "issuer", *,
                  top: int | None = 15) -> Any:
    """Bars of each bucket's share of the valued total, largest first.

    Parameters
    ----------
    valued
        A ``Valuation`` (or its positions), or an ``exposure(...)`` table.
    by
        The dimension (when ``valued`` is not already a table).
    top
        Buckets drawn (the rest summed into ``other``); None for all.

    The ``unvalued`` bucket, when it holds positions, is drawn last as an empty
    hatched bar labelled with its count: its value is unknown, not 0.
    """
    table = _exposure_table(valued, by)
    valued_rows = table[table["bucket"] != UNVALUED].sort_values(
        "share", ascending=False, kind="stable")
    if top is not None and len(valued_rows) > top:
        rest = valued_rows.iloc[top - 1:]
        valued_rows = pd.concat([valued_rows.iloc[:top - 1], pd.DataFrame(
            {"bucket": [f"other ({len(rest)})"], "value": [rest["value"].sum()],
             "share": [rest["share"].sum()], "positions": [rest["positions"].sum()]})],
            ignore_index=True)
    unvalued = table[(table["bucket"] == UNVALUED) & (table["positions"] > 0)]
    labels = [str(b) for b in valued_rows["bucket"]]
    heights = valued_rows["share"].fillna(0.0).to_numpy(dtype=float).tolist()
    fig = _figure(7.0, 0.8 + 0.28 * (len(labels) + len(unvalued)))
    ax = fig.add_subplot()
    bars = ax.barh(labels, heights, color=MAIN)
    ax.bar_label(bars, labels=[f"{h:.1%}" for h in heights], color=INK, fontsize=8, padding=2)
    if len(unvalued):
        count = int(unvalued["positions"].iloc[0])
        hole = ax.barh([UNVALUED], [0.0], color="none", edgecolor=BAD, hatch="//")
        ax.bar_label(hole, labels=[f"{count} position{'s' if count != 1 else ''}, no value"],
                     color=BAD, fontsize=8, padding=2)
    ax.invert_yaxis()
    _percent_axis(ax.xaxis)
    _style(ax, f"Exposure by {table.attrs.get('by', by)} (share of valued total)")
    return fig


def plot_concentration(valued: Valuation | pd.DataFrame, by: str = "issuer", *,
                       limit: float | None = None, top: int = 10) -> Any:
    """The ``top`` largest names' shares against ``limit``, HHI in the title.

    Bars over the limit are drawn in the breach colour; the limit is a line.
    """
    table = _exposure_table(valued, by)
    named = table[table["bucket"] != UNVALUED].sort_values("share", ascending=False,
                                                          kind="stable").head(top)
    shares = named["share"].fillna(0.0).to_numpy(dtype=float)
    all_shares = table.loc[table["bucket"] != UNVALUED, "share"].fillna(0.0).to_numpy(float)
    hhi = float(np.sum(all_shares ** 2))
    fig = _figure(7.0, 0.8 + 0.28 * len(named))
    ax = fig.add_subplot()
    colours = [BAD if limit is not None and s > limit else MAIN for s in shares]
    bars = ax.barh([str(b) for b in named["bucket"]], shares.tolist(), color=colours)
    ax.bar_label(bars, labels=[f"{s:.1%}" for s in shares], color=INK, fontsize=8, padding=2)
    if limit is not None:
        ax.axvline(limit, color=LIMIT, linestyle="--", linewidth=1)
        ax.text(limit, -0.6, f" limit {limit:.0%}", color=LIMIT, fontsize=8, va="bottom")
    ax.invert_yaxis()
    _percent_axis(ax.xaxis)
    _style(ax, f"Top {len(named)} by {by}: HHI {hhi:.3f}"
               + (f" ({1 / hhi:.1f} effective names)" if hhi else ""))
    return fig


def plot_stress(result: StressResult, by: str = "currency") -> Any:
    """Value before and after the scenario per bucket of ``by`` (valued buckets)."""
    table = result.by(by)
    table = table[table["bucket"] != UNVALUED]
    labels = [str(b) for b in table["bucket"]]
    y = np.arange(len(labels))
    fig = _figure(7.0, 1.0 + 0.45 * len(labels))
    ax = fig.add_subplot()
    ax.barh(y - 0.2, table["before"].to_numpy(dtype=float), height=0.4, color=MAIN,
            label="before")
    ax.barh(y + 0.2, table["after"].to_numpy(dtype=float), height=0.4, color=AFTER,
            label="after")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    _amount_axis(ax.xaxis)
    ax.legend(fontsize=8, frameon=False, labelcolor=INK)
    _style(ax, f"{result.scenario.name} by {by} ({result.base_currency})")
    return fig


def plot_changes(changes: Changes) -> Any:
    """A waterfall: value before, the quantity, price and FX effects, value after."""
    s = changes.summary()
    steps = [("quantity", s["quantity_effect"]), ("price", s["price_effect"]),
             ("FX", s["fx_effect"])]
    start, end = s["value_before"], s["value_before"] + s["change"]
    labels = ["before", *[name for name, _ in steps], "after"]
    bottoms, heights, colours = [0.0], [start], [MAIN]
    level = start
    for _, move in steps:
        bottoms.append(level if move >= 0 else level + move)
        heights.append(abs(move))
        colours.append(GOOD if move >= 0 else BAD)
        level += move
    bottoms.append(0.0)
    heights.append(end)
    colours.append(MAIN)
    fig = _figure(7.0, 3.2)
    ax = fig.add_subplot()
    bars = ax.bar(labels, heights, bottom=bottoms, color=colours)
    moves = [start, *[m for _, m in steps], end]
    ax.bar_label(bars, labels=[f"{m:+,.0f}" if 0 < i < 4 else f"{m:,.0f}"
                               for i, m in enumerate(moves)], color=INK, fontsize=8,
                 label_type="center")
    _amount_axis(ax.yaxis)
    _style(ax, f"Change {s['change']:+,.0f} {changes.base_currency}: quantity, price and FX")
    return fig


def plot_history(valued: Valuation | pd.DataFrame, by: str | None = None) -> Any:
    """Value across snapshots; with ``by``, each bucket's share beneath it.

    ``valued`` is a valuation of every date (``value_snapshot(..., all_dates=True)``).
    """
    totals = history(valued)
    dates = pd.to_datetime(totals["as_of"])
    fig = _figure(7.0, 4.6 if by else 2.6)
    axes = fig.subplots(2 if by else 1, 1, sharex=True, squeeze=False)[:, 0]
    axes[0].plot(dates, totals["value"].to_numpy(dtype=float), marker="o", color=MAIN,
                 label="value")
    _amount_axis(axes[0].yaxis)
    _style(axes[0], "Value across snapshots")
    if by:
        shares = exposure_history(valued, by)
        for bucket in shares.columns:
            axes[1].plot(pd.to_datetime(shares.index), shares[bucket].to_numpy(dtype=float),
                         marker=".", label=str(bucket))
        _percent_axis(axes[1].yaxis)
        axes[1].legend(fontsize=7, frameon=False, labelcolor=INK, ncols=3)
        _style(axes[1], f"Exposure by {by}")
    fig.autofmt_xdate()
    return fig


def png(fig: Any) -> bytes:
    """The figure as PNG bytes (for an ``ipywidgets.Image``)."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, transparent=True)
    return buffer.getvalue()
