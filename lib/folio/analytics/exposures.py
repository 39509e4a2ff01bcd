"""Exposures: how the value of valued positions splits by one attribute.

Owns the buckets (issuer, country, region, currency, asset class, maturity band,
or any other column), the ``unclassified`` bucket for rows without the attribute, the
``unvalued`` bucket for rows without a value, and the exposure table (bucket,
value, share, positions). Nothing is dropped and nothing is counted as 0: an
unvalued position is in the ``unvalued`` bucket, whose value and share are
unknown (NaN); shares are of the valued total.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from folio.analytics.frames import blank_uniques, check_columns, result_frame, to_dates
from folio.analytics.valuation import Valuation, frame_of
from folio.errors import ValidationError

DIMENSIONS = ("issuer", "country", "region", "currency", "asset_class", "maturity")
MATURITY_BUCKETS = ("0-1y", "1-3y", "3-5y", "5-10y", "10y+")
UNCLASSIFIED = "unclassified"
UNVALUED = "unvalued"
# Upper bounds in years of each maturity bucket but the last; a bound belongs to
# the bucket above it (exactly 1 year is 1-3y).
_MATURITY_EDGES = np.array([1.0, 3.0, 5.0, 10.0])
_DAYS_PER_YEAR = 365.25
SORTS = ("value", "share", "bucket", "positions")


def years_to_maturity(maturity_date, as_of) -> np.ndarray:
    """Years from ``as_of`` to ``maturity_date`` (actual days / 365.25); NaN if unknown."""
    days = (to_dates(maturity_date).to_numpy() - to_dates(as_of).to_numpy()) / np.timedelta64(1, "D")
    return np.asarray(days, dtype=float) / _DAYS_PER_YEAR


def maturity_codes(maturity_date, as_of) -> np.ndarray:
    """Index into ``MATURITY_BUCKETS`` per row, -1 where there is no maturity.

    Already-matured paper (negative years) falls in 0-1y: it is cash soon, not a
    long exposure, and a stale file should not make it vanish.
    """
    years = years_to_maturity(maturity_date, as_of)
    codes = np.searchsorted(_MATURITY_EDGES, years, side="right").astype(np.int64)
    codes[np.isnan(years)] = -1
    return codes


def maturity_bucket(maturity_date, as_of) -> pd.Series:
    """Maturity band label per row (``0-1y`` ... ``10y+``, or ``unclassified``)."""
    labels = np.array([*MATURITY_BUCKETS, UNCLASSIFIED], dtype=object)
    return pd.Series(labels[maturity_codes(maturity_date, as_of)], dtype="str")


def bucket_codes(valued: pd.DataFrame, by: str) -> tuple[np.ndarray, list[str]]:
    """Codes and labels of the buckets of ``by``; -1 marks unclassified rows.

    Factorising once and summing with ``bincount`` is what keeps a million rows
    cheap; string group keys would be hashed again for every aggregate.
    """
    if by == "maturity":
        check_columns(valued, ("maturity_date", "as_of"), "maturity exposure")
        return maturity_codes(valued["maturity_date"], valued["as_of"]), list(MATURITY_BUCKETS)
    if by not in valued:
        raise ValidationError(f"cannot group by {by!r}: no such column; dimensions are "
                              f"{', '.join(DIMENSIONS)}", column=by)
    codes, uniques = pd.factorize(valued[by])
    codes = codes.astype(np.int64)
    if len(uniques):
        codes[(codes >= 0) & blank_uniques(uniques)[np.maximum(codes, 0)]] = -1
    labels = [str(u).strip() for u in uniques]
    return codes, labels


def bucket_labels(valued: pd.DataFrame, by: str) -> pd.Series:
    """The bucket label of each row of ``valued`` for dimension ``by``."""
    codes, labels = bucket_codes(valued, by)
    table = np.array([*labels, UNCLASSIFIED], dtype=object)
    return pd.Series(table[codes], index=valued.index, dtype="str")


def _sum_by(codes: np.ndarray, n_labels: int, weights: np.ndarray) -> np.ndarray:
    # Shift by one so that unclassified (-1) lands in slot 0.
    return np.bincount(codes + 1, weights=weights, minlength=n_labels + 1)


def exposure(valued: Valuation | pd.DataFrame, by: str, *, value: str = "value",
             sort: str = "value", ascending: bool | None = None) -> pd.DataFrame:
    """Value and share of total per bucket of one dimension.

    Parameters
    ----------
    valued
        A ``Valuation`` or its positions frame.
    by
        ``issuer``, ``country``, ``region`` (CEMAC, UEMOA, other), ``currency``,
        ``asset_class`` (the taxonomy classes: equity, government bond...; the
        label as written is ``asset_class_label``), ``maturity``, or any other
        column of the frame.
    value
        Column to sum: ``value`` (clean, base currency) or ``dirty_value``.
    sort
        ``value`` (default), ``share``, ``positions`` or ``bucket``. Bucket order
        is the band order for maturity and alphabetical otherwise.
        ``unclassified`` always sorts last under ``bucket``.
    ascending
        Default: descending for numbers, ascending for ``bucket``.

    Returns
    -------
    pandas.DataFrame
        ``bucket, value, share, positions``. Shares are of the valued total
        (unclassified included), so they sum to 1; they are NaN when that
        total is 0. The last row is always the ``unvalued`` bucket: the
        positions without a value, whatever their attribute, with value and
        share NaN (unknown, not 0). Other empty buckets are left out.
    """
    frame = frame_of(valued)
    check_columns(frame, (value,), "exposure")
    if sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}",
                              column="sort", value=sort)
    codes, labels = bucket_codes(frame, by)
    raw = frame[value].to_numpy(dtype=float)
    missing = np.isnan(raw)
    # The unvalued rows get a slot of their own after the labels.
    codes = np.where(missing, len(labels), codes)
    weights = np.where(missing, 0.0, raw)
    sums = _sum_by(codes, len(labels) + 1, weights)
    counts = np.bincount(codes + 1, minlength=len(labels) + 2)
    names = np.array([UNCLASSIFIED, *labels, UNVALUED], dtype=object)
    order = np.arange(len(names))  # natural order: unclassified first, then as met/bands
    total = float(weights.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = sums / total if total != 0 else np.full(len(sums), np.nan)
    sums[-1], shares[-1] = np.nan, np.nan
    table = pd.DataFrame({"bucket": pd.array(names, dtype="str"), "value": sums,
                          "share": shares, "positions": counts, "_natural": order})
    rest, unvalued = table.iloc[:-1], table.iloc[-1:]
    rest = rest[rest["positions"] > 0]
    ordered = sort_exposure(rest, sort, ascending, by)
    return result_frame(pd.concat([ordered, unvalued.drop(columns="_natural")],
                                  ignore_index=True), valued)


def sort_exposure(table: pd.DataFrame, sort: str, ascending: bool | None, by: str) -> pd.DataFrame:
    """Sort an exposure table; ``_natural`` (if present) carries the maturity band order."""
    last = (table["bucket"] == UNCLASSIFIED).to_numpy(dtype=int)
    if sort == "bucket":
        asc = True if ascending is None else ascending
        if by == "maturity" and "_natural" in table:
            key = table["_natural"].to_numpy()
        else:
            key = table["bucket"].str.casefold().to_numpy(dtype=object)
        ordered = table.assign(_last=last, _key=key).sort_values(
            ["_last", "_key"], ascending=[True, asc], kind="stable")
    else:
        asc = False if ascending is None else ascending
        # Ties broken by bucket name so the order is the same on every run.
        ordered = table.assign(_name=table["bucket"].str.casefold()).sort_values(
            [sort, "_name"], ascending=[asc, True], kind="stable")
    return ordered.drop(columns=[c for c in ("_last", "_key", "_name", "_natural")
                                 if c in ordered])


def exposures(valued: Valuation | pd.DataFrame, dims: Iterable[str] = DIMENSIONS, *,
              value: str = "value", sort: str = "value") -> dict[str, pd.DataFrame]:
    """``exposure`` for several dimensions at once, keyed by dimension.

    Maturity defaults to band order (``sort="bucket"``) when ``sort`` is
    ``value``, because a maturity ladder reads best short to long.
    """
    out = {}
    for by in dims:
        out[by] = exposure(valued, by, value=value,
                           sort="bucket" if by == "maturity" and sort == "value" else sort)
    return out
