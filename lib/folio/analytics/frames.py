"""Column helpers shared by the analytics modules.

Owns the few conversions every module needs on large frames: dates to one
dtype, blank-text and pattern tests done once per distinct value, and the
check that a frame has the columns a function needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from folio.errors import ValidationError

# The days pandas can hold in nanoseconds, the unit dates are computed in here.
FIRST_DAY, LAST_DAY = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def to_dates(values: Any) -> pd.Series:
    """Dates (``datetime.date``, ISO text, timestamps) as ``datetime64[ns]`` at midnight.

    One dtype everywhere, because ``merge_asof`` and date arithmetic need both
    sides to agree and the store hands back ``datetime.date`` objects.
    """
    out = pd.to_datetime(pd.Series(values), errors="coerce")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_localize(None)
    out = out.dt.normalize()
    # A date nanoseconds cannot hold (a maturity of 9999-12-31 in a store or a
    # reference file) is no date to compute with: unknown, not a crash.
    outside = (out < FIRST_DAY) | (out > LAST_DAY)
    if outside.any():
        out = out.mask(outside)
    return out.astype("datetime64[ns]")


def blank_uniques(uniques) -> np.ndarray:
    """True for each distinct value (from ``pd.factorize``) that is only spaces."""
    if len(uniques) == 0:
        return np.zeros(0, dtype=bool)
    return pd.Series(uniques, dtype="str").str.strip().eq("").to_numpy(dtype=bool)


def blank(series: pd.Series) -> np.ndarray:
    """True where text is missing or only spaces.

    Works on the distinct values, then maps back: a million rows hold a few
    thousand names, and string operations cost per value.
    """
    codes, uniques = pd.factorize(series)
    if len(uniques) == 0:
        return np.ones(len(series), dtype=bool)
    return (codes < 0) | blank_uniques(uniques)[np.maximum(codes, 0)]


def upper(series: pd.Series) -> pd.Series:
    """Text in upper case, computed per distinct value; the input itself if already upper."""
    codes, uniques = pd.factorize(series)
    raised = pd.Series(uniques, dtype="str").str.upper().to_numpy(dtype=object)
    if np.array_equal(raised, np.asarray(uniques, dtype=object)):
        return series.astype("str")
    table = np.append(raised, np.nan)
    return pd.Series(table[codes], index=series.index, dtype="str")


def matches(series: pd.Series, pattern: str) -> np.ndarray:
    """Case-insensitive regex test per row, evaluated once per distinct value."""
    codes, uniques = pd.factorize(series)
    if len(uniques) == 0:
        return np.zeros(len(series), dtype=bool)
    hit = pd.Series(uniques, dtype="str").str.contains(pattern, case=False, regex=True)
    hit = hit.fillna(False).to_numpy(dtype=bool)
    return (codes >= 0) & hit[np.maximum(codes, 0)]


def check_columns(frame: pd.DataFrame, columns: Iterable[str], what: str
                  ) -> None:
    """Raise ValidationError naming the first column ``what`` needs and lacks."""
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValidationError(f"{what} needs column(s) {', '.join(missing)}; "
                              "pass the result of value_positions", column=missing[0])


def result_frame(table: pd.DataFrame, valued: Any = None, *, base_currency: str | None = None,
                 shares: Iterable[Any] = ()) -> pd.DataFrame:
    """A result table as a ``folio.display.Frame``: still a DataFrame of numbers,
    but it prints and displays by folio's display rules (amounts in the base
    currency's minor units, shares as percents, no scientific notation) without
    the user setting pandas options.

    ``base_currency`` defaults to that of ``valued`` (a ``Valuation``), else the
    frame's ``attrs``; ``shares`` names more columns to show as percents.
    """
    from folio.display import Frame  # display rules only: no widgets are loaded

    out = Frame(table)
    currency = base_currency or getattr(valued, "base_currency", None) \
        or getattr(valued, "attrs", {}).get("base_currency")
    if currency:
        out.attrs["base_currency"] = currency
    shares = tuple(shares)
    if shares:
        out.attrs["shares"] = shares
    return out
