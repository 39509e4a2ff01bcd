"""How folio's widgets look: one style sheet written in JupyterLab's theme variables.

Owns every colour, border and font the widgets use. Nothing here names a
colour: it names JupyterLab's CSS variables (``--jp-error-color1``...), so the
light and the dark themes both read well. A widget puts ``style()`` among its
children once and marks its parts with the classes below (``text`` for a
message, ``table`` for a small frame).
"""

from __future__ import annotations

import html
from datetime import date

import ipywidgets as w
import pandas as pd

# The kinds of message a widget shows, each a class of the sheet below.
KINDS = ("error", "warn", "ok", "info", "muted", "title")

CSS = """
.folio-widget { color: var(--jp-ui-font-color1); font-family: var(--jp-ui-font-family); }
.folio-error { color: var(--jp-error-color1); }
.folio-warn { color: var(--jp-warn-color1); }
.folio-ok { color: var(--jp-success-color1); }
.folio-info { color: var(--jp-brand-color1); }
.folio-muted { color: var(--jp-ui-font-color2); font-size: var(--jp-ui-font-size0); }
.folio-title { font-weight: 600; font-size: var(--jp-ui-font-size2); }
.folio-step { border: 1px solid var(--jp-border-color2); border-radius: 4px;
  padding: 6px 10px; background: var(--jp-layout-color1); }
.folio-table { overflow-x: auto; max-width: 100%; }
.folio-table table { border-collapse: collapse; font-size: var(--jp-ui-font-size1);
  color: var(--jp-ui-font-color1); }
.folio-table th { background: var(--jp-layout-color2); text-align: left;
  border-bottom: 1px solid var(--jp-border-color2); padding: 2px 8px; }
.folio-table td { border-bottom: 1px solid var(--jp-border-color3); padding: 2px 8px;
  white-space: nowrap; }
.folio-table td.folio-num { text-align: right; font-variant-numeric: tabular-nums; }
.folio-table th.folio-num { text-align: right; }
.folio-table td { max-width: 28em; overflow: hidden; text-overflow: ellipsis; }
.folio-table tbody tr:hover { background: var(--jp-layout-color2); }
.folio-more { color: var(--jp-ui-font-color2); font-size: var(--jp-ui-font-size0); }
"""


def style() -> w.HTML:
    """The style sheet as a widget: one among a widget's children applies it."""
    return w.HTML(f"<style>{CSS}</style>", layout=w.Layout(display="none"))


def text(message: str, kind: str = "", *, bold: str = "") -> str:
    """``message`` escaped, as HTML of ``kind`` (one of ``KINDS``; "" for plain),
    after ``bold`` (escaped too) if given."""
    if kind and kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {KINDS}")
    lead = f"<b>{html.escape(bold)}</b> " if bold else ""
    body = lead + html.escape(message)
    return f"<span class='folio-{kind}'>{body}</span>" if kind else body


def table(frame: pd.DataFrame, max_rows: int = 10) -> str:
    """A small frame (a preview) as themed HTML: numbers right-aligned with
    thousands separators, missing cells empty."""
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
               for t in shown.dtypes]
    rows = ["<tr>" + "".join(_cell(v, n) for v, n in zip(record, numeric, strict=True))
            + "</tr>" for record in shown.itertuples(index=False)]
    return (f"<div class='folio-table'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _cell(value: object, number: bool) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<td></td>"
    if number:
        shown = f"{int(value):,}" if float(value).is_integer() else f"{value:,.10g}"
        return f"<td class='folio-num'>{shown}</td>"
    if isinstance(value, date):  # a Timestamp too: dates are shown as dates
        value = value.isoformat()[:10]
    return f"<td>{html.escape(str(value))}</td>"
