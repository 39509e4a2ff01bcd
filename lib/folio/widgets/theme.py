"""How folio's widgets look: one style sheet written in JupyterLab's theme variables.

Owns every colour, border and font the widgets use. Nothing here names a
colour: it names JupyterLab's CSS variables (``--jp-error-color1``...), so the
light and the dark themes both read well. A widget puts ``style()`` among its
children once and marks its parts with the classes below (``text`` for a
message, ``table`` for a small frame).
"""

from __future__ import annotations

import html

import ipywidgets as w
import pandas as pd

from folio import display

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
    """A small frame (a preview) as themed HTML, by the one set of display rules
    every folio table follows (``folio.display``): numbers right-aligned with
    thousands separators and their currency's decimals, dates as dates, one
    missing marker."""
    return display.to_html(frame.head(max_rows))
