"""How a folio frame reads: clean dtypes, numbers formatted by what they mean.

Owns the one set of display rules every table follows (the ``Frame`` repr, the
``widgets.Table`` pages, the Dashboard): amounts with thousands separators and
their currency's minor units (none for XAF, XOF, JPY...), shares as percents,
dates as dates, one marker for every kind of missing value, internal ids hidden.
The rules are data (column names to meanings), the frames stay numbers: only
their drawing turns into text. Nothing here imports ipywidgets when loaded (a
Frame's HTML, drawn only in a notebook, borrows the widgets' one stylesheet).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from folio.ingest.currencies import minor_units

MISSING = "–"  # one marker for None, NaN, NaT and <NA> alike
HIDDEN = ("id", "import_id")  # internal keys: shown only when asked for
ROWS_SHOWN = 20  # rows a Frame's repr draws (first and last half)
try:  # the text dtype pandas 3 reads strings as (missing is NaN): one dtype for all text
    TEXT = pd.StringDtype(na_value=np.nan)
except TypeError:  # pandas before 2.3
    TEXT = pd.StringDtype()

# What a column means, by name. Amounts in the row's own currency (column
# ``currency``) and amounts in the base currency (the frame's ``attrs``).
LOCAL_AMOUNTS = frozenset({"market_value", "accrued", "accrued_interest", "cost", "book_value",
                           "unvalued_local"})
BASE_AMOUNTS = frozenset({"value", "dirty_value", "flagged_value", "before", "after", "change",
                          "quantity_effect", "price_effect", "fx_effect", "value_before",
                          "value_after", "unvalued", "total", "limit_value"})
PRICES = frozenset({"price", "fx_rate", "rate", "price_before", "price_after"})
QUANTITIES = frozenset({"quantity", "quantity_before", "quantity_after"})
SHARES = frozenset({"share", "weight", "limit", "excess", "unvalued_share",
                    "flagged_share", "change_share", "top_1", "top_5", "top_10"})


def meaning(column: Any) -> str:
    """``"amount"``, ``"local_amount"``, ``"price"``, ``"quantity"``, ``"share"`` or ``""``."""
    name = str(column)
    if name in LOCAL_AMOUNTS:
        return "local_amount"
    if name in BASE_AMOUNTS or name.endswith(("_value", "_effect")):
        return "amount"
    if name in SHARES or name.endswith("_share"):
        return "share"
    if name in PRICES:
        return "price"
    if name in QUANTITIES:
        return "quantity"
    return ""


# ------------------------------------------------------------------- dtypes


def _looks_like_dates(column: pd.Series) -> bool:
    sample = column.dropna().head(50)
    return len(sample) > 0 and all(isinstance(v, date) for v in sample)


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with one dtype per kind: numbers as numbers (nullable ints stay
    ints), dates as ``datetime64``, text as the ``string`` dtype; so one missing
    marker (``<NA>``/``NaN``/``NaT``) per kind, never ``None`` among values."""
    out = {}
    for name, column in frame.items():
        if column.dtype == object:
            if _looks_like_dates(column):
                column = pd.to_datetime(column, errors="coerce")
                if getattr(column.dt, "tz", None) is not None:
                    column = column.dt.tz_convert("UTC").dt.tz_localize(None)
            else:
                kind = pd.api.types.infer_dtype(column, skipna=True)
                if kind in ("string", "empty"):
                    column = column.astype(TEXT)
                elif kind in ("integer", "floating", "mixed-integer-float", "decimal"):
                    column = pd.to_numeric(column, errors="coerce")
                elif kind == "boolean":
                    column = column.astype("boolean")
        elif isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        out[name] = column
    cleaned = pd.DataFrame(out, index=frame.index, columns=frame.columns)
    cleaned.attrs.update(frame.attrs)
    return cleaned


# ----------------------------------------------------------------- numbers


def _trimmed(x: float, decimals: int) -> str:
    text = f"{x:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _general(x: float) -> str:
    """Six significant digits at most, never scientific notation."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    decimals = min(10, max(0, 5 - math.floor(math.log10(abs(x)))))
    return _trimmed(x, decimals)


def _column_text(frame: pd.DataFrame, name: Any, base_currency: str | None,
                 shares: Iterable[Any] = ()) -> pd.Series:
    column = frame[name]
    missing = column.isna().to_numpy(dtype=bool)
    kind = "share" if name in shares else meaning(name)
    if pd.api.types.is_bool_dtype(column.dtype) or (
            column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "boolean"):
        text = column.map(lambda v: "yes" if v else "no")
    elif pd.api.types.is_datetime64_any_dtype(column.dtype) or (
            column.dtype == object and _looks_like_dates(column)):
        stamps = pd.to_datetime(column, errors="coerce")
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        timed = (stamps.dropna() != stamps.dropna().dt.normalize()).any()
        text = stamps.dt.strftime("%Y-%m-%d %H:%M:%S" if timed else "%Y-%m-%d")
    elif pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        if kind == "share":
            text = [f"{v:.1%}" for v in values]
        elif kind in ("amount", "local_amount"):
            if kind == "local_amount" and "currency" in frame:
                units = frame["currency"].map(lambda c: minor_units(c, default=2)).to_numpy()
            else:
                units = np.full(len(values), minor_units(base_currency, default=2))
            text = [f"{v:,.{int(u)}f}" for v, u in zip(values, units, strict=True)]
        elif kind == "price":  # an FX rate of 0.00152449 keeps its digits
            text = [_general(v) if abs(v) < 1 else _trimmed(v, 6) for v in values]
        elif kind == "quantity":
            text = [_trimmed(v, 6) for v in values]
        elif pd.api.types.is_integer_dtype(column.dtype):
            text = [f"{int(v):,}" if v == v else "" for v in values]
        else:
            text = [_general(v) for v in values]
        text = pd.Series(text, index=column.index, dtype=object)
    else:
        text = column.astype(str)
    return text.where(~missing, MISSING).astype(object)


def base_currency_of(frame: pd.DataFrame, currency: str | None = None) -> str | None:
    """The currency the frame's base amounts are in: given, in ``attrs``, or the
    one currency of a frame in a single currency."""
    if currency:
        return currency
    if frame.attrs.get("base_currency"):
        return frame.attrs["base_currency"]
    if "currency" in frame and frame["currency"].nunique() == 1:
        return str(frame["currency"].dropna().iloc[0])
    return None


def shown_columns(frame: pd.DataFrame, show_ids: bool = False) -> list:
    """The columns drawn: every one but the internal ids, unless asked."""
    return [c for c in frame.columns if show_ids or c not in HIDDEN]


def formatted(frame: pd.DataFrame, *, currency: str | None = None,
              show_ids: bool = False, shares: Iterable[Any] = ()) -> pd.DataFrame:
    """The frame as the text a person reads, column by column (the ids dropped
    unless ``show_ids``).

    Parameters
    ----------
    frame
        Any frame; columns are formatted by what their name means (``meaning``).
    currency
        The base currency of base amounts (``value``, ``change``...); default:
        ``frame.attrs["base_currency"]`` or the frame's single ``currency``.
    show_ids
        Keep ``id`` and ``import_id``.
    shares
        More columns to show as percents (those of ``frame.attrs["shares"]`` too):
        a table of shares whose columns are buckets (``exposure_history``).
    """
    base = base_currency_of(frame, currency)
    columns = shown_columns(frame, show_ids)
    shares = {*shares, *frame.attrs.get("shares", ())}
    return pd.DataFrame({c: _column_text(frame, c, base, shares) for c in columns},
                        index=frame.index, columns=columns)


def numeric_columns(frame: pd.DataFrame) -> list:
    """Columns drawn right-aligned: numbers (not booleans)."""
    return [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c].dtype)
            and not pd.api.types.is_bool_dtype(frame[c].dtype)]


def to_html(frame: pd.DataFrame, *, currency: str | None = None, show_ids: bool = False,
            shares: Iterable[Any] = ()) -> str:
    """An HTML table of ``frame`` formatted by meaning, numbers right-aligned,
    no index; styled by the theme's ``.folio-table`` rules (``widgets.theme``)."""
    text = formatted(frame, currency=currency, show_ids=show_ids, shares=shares)
    right = set(numeric_columns(frame))
    kinds = [" class='folio-num'" if c in right else "" for c in text.columns]
    head = "".join(f"<th{k}>{html.escape(str(c))}</th>"
                   for k, c in zip(kinds, text.columns, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{k}>{html.escape(v)}</td>"
                         for k, v in zip(kinds, row, strict=True)) + "</tr>"
        for row in text.itertuples(index=False, name=None))
    return (f"<div class='folio-table'><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def issue_counts(issues: pd.DataFrame | Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Issues counted by code and column, most first, with the first row and value seen.

    ``issues`` is one frame (a result's), or frames in row order (the store's
    ``issue_frames``, a part at a time: an import may have millions), counted
    part by part and added up, so the counts are the same either way.
    """
    parts = [_counted(f) for f in ([issues] if isinstance(issues, pd.DataFrame) else issues)
             if not f.empty]
    if not parts:
        return pd.DataFrame({"code": [], "column": [], "count": [], "first_row": [],
                             "example": []})
    out = parts[0] if len(parts) == 1 else pd.concat(parts).groupby(
        ["code", "column"], sort=False, dropna=False).agg(
        count=("count", "sum"), first_row=("first_row", "min"),
        example=("example", "first")).reset_index()  # parts in row order: first seen
    return out.sort_values(["count", "first_row"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def _counted(issues: pd.DataFrame) -> pd.DataFrame:
    grouped = issues.assign(column=issues["column"].fillna(MISSING)).groupby(
        ["code", "column"], sort=False, dropna=False)
    return grouped.agg(count=("code", "size"), first_row=("row", "min"),
                       example=("value", "first")).reset_index()


# --------------------------------------------------------------------- Frame


def _shown_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    if len(frame) > ROWS_SHOWN:
        half = ROWS_SHOWN // 2
        frame, hidden = pd.concat([frame.head(half), frame.tail(half)]), len(frame) - ROWS_SHOWN
    else:
        hidden = 0
    # An unnamed row-number index (0..n, or what a filter left of it) says nothing
    # and is left out; any other (a groupby's keys, a history's dates) is shown.
    numbered = all(n is None for n in frame.index.names) and \
        pd.api.types.is_integer_dtype(frame.index.dtype)
    if not numbered:
        frame = pd.DataFrame(frame).reset_index(
            names=[n if n is not None else "" for n in frame.index.names])
    return frame, hidden


class Frame(pd.DataFrame):
    """A DataFrame that reads well as it is: formatted by meaning, ids hidden.

    It is a ``pandas.DataFrame`` in every other way (and what its methods
    return stays one); ``frame.attrs["base_currency"]`` sets the currency of
    its base amounts. ``pd.DataFrame(frame)`` gives a plain frame back.
    """

    @property
    def _constructor(self):
        return Frame

    def _shown(self) -> tuple[pd.DataFrame, int, dict]:
        shown, hidden = _shown_rows(self)
        # Taken from attrs here: the plain frame drawn from the rows does not keep them.
        rules = {"currency": self.attrs.get("base_currency"),
                 "shares": self.attrs.get("shares", ()),
                 "show_ids": bool(self.attrs.get("show_ids"))}
        return pd.DataFrame(shown), hidden, rules

    def _text(self) -> str:
        shown, hidden, rules = self._shown()
        text = formatted(shown, **rules).to_string(index=False, justify="right")
        more = f"\n[{len(self):,} rows; {hidden:,} not shown]" if hidden else ""
        return text + more if len(self.columns) else f"Empty frame, {len(self):,} rows"

    def __repr__(self) -> str:
        return self._text()

    def _repr_html_(self) -> str:
        shown, hidden, rules = self._shown()
        more = (f"<p class='folio-more'>{len(self):,} rows; {hidden:,} not shown "
                "(folio.widgets.Table pages through them)</p>") if hidden else ""
        from folio.widgets.theme import CSS  # the one stylesheet; a notebook has ipywidgets

        return f"<style>{CSS}</style>" + to_html(shown, **rules) + more


def readable(frame: pd.DataFrame, *, currency: str | None = None,
             shares: Iterable[Any] | bool = (), show_ids: bool = False,
             drop: Iterable[str] = ()) -> Frame:
    """``frame`` with clean dtypes (``clean``) as a ``Frame`` that displays well.

    Parameters
    ----------
    frame
        A plain frame.
    currency
        The base currency of its base amounts, kept in ``attrs``.
    shares
        More columns shown as percents; ``True`` for every numeric one.
    show_ids
        Show ``id``/``import_id`` (where the id is what the frame lists: imports).
    drop
        Columns to leave out.
    """
    out = Frame(clean(frame.drop(columns=[c for c in drop if c in frame])))
    out.attrs.update(frame.attrs)
    if currency:
        out.attrs["base_currency"] = currency
    if show_ids:
        out.attrs["show_ids"] = True
    if shares is True:
        shares = numeric_columns(out)
    if shares:
        out.attrs["shares"] = list(shares)
    return out

