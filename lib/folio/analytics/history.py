"""History: totals and exposure shares of a portfolio over its as-of dates.

Owns the per-date views of a valuation that spans several snapshots (value all
dates in one ``value_positions`` call: each row uses the rates of its own date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from folio.analytics.completeness import completeness
from folio.analytics.exposures import MATURITY_BUCKETS, UNCLASSIFIED, bucket_labels
from folio.analytics.frames import check_columns, result_frame
from folio.analytics.valuation import FLAGS, Valuation, frame_of


def history(valued: Valuation | pd.DataFrame) -> pd.DataFrame:
    """Totals per as-of date, oldest first.

    Returns
    -------
    pandas.DataFrame
        ``as_of, positions, value, accrued, dirty_value, unvalued_positions,
        unvalued_share, flagged_value, flagged_share, incomplete, rejected_rows,
        rejected_value``: values are sums over the valued positions, the
        unvalued counted apart (share of positions); a date whose import
        rejected rows is ``incomplete``, with their count and readable value
        (a fall there may be rows left out, not a loss).
    """
    frame = frame_of(valued)
    check_columns(frame, ("as_of", "value", "accrued", "dirty_value", *FLAGS), "history")
    work = pd.DataFrame({
        "as_of": frame["as_of"],
        "value": frame["value"].fillna(0.0), "accrued": frame["accrued"].fillna(0.0),
        "dirty_value": frame["dirty_value"].fillna(0.0),
        "unvalued": frame["value"].isna(),
        "flagged_value": frame["value"].fillna(0.0).where(frame["flagged"], 0.0),
    })
    out = work.groupby("as_of", sort=True).agg(
        positions=("value", "size"), value=("value", "sum"), accrued=("accrued", "sum"),
        dirty_value=("dirty_value", "sum"), unvalued_positions=("unvalued", "sum"),
        flagged_value=("flagged_value", "sum"))
    out.insert(out.columns.get_loc("unvalued_positions") + 1, "unvalued_share",
               out["unvalued_positions"] / out["positions"])
    with np.errstate(divide="ignore", invalid="ignore"):
        out["flagged_share"] = np.where(out["value"] != 0, out["flagged_value"] / out["value"],
                                        np.nan)
    out = out.reset_index()
    rejected = getattr(valued, "rejected", {}) or {}
    days = [pd.Timestamp(d).date() for d in out["as_of"]]
    figures = [completeness(rejected, d) for d in days]
    out["incomplete"] = [f["incomplete"] for f in figures]
    out["rejected_rows"] = [f["rejected_rows"] for f in figures]
    out["rejected_value"] = [f["rejected_value"] for f in figures]
    return result_frame(out, valued)


def exposure_history(valued: Valuation | pd.DataFrame, by: str, *,
                     value: str = "value") -> pd.DataFrame:
    """Share of each bucket of ``by`` per as-of date.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``as_of`` (oldest first), one column per bucket (maturity
        bands in band order, others by latest share, ``unclassified`` last), a
        share of that date's valued total in each cell (unvalued positions are
        in no bucket; ``history`` counts them); 0 where a bucket is absent,
        NaN on a date where nothing is valued.
    """
    frame = frame_of(valued)
    check_columns(frame, ("as_of", value), "exposure_history")
    # Shares of each date's valued total: an unvalued position is in no bucket.
    known = frame[value].notna()
    work = pd.DataFrame({"as_of": frame["as_of"], "bucket": bucket_labels(frame, by),
                         "value": frame[value]})[known.to_numpy()]
    table = work.pivot_table(index="as_of", columns="bucket", values="value", aggfunc="sum",
                             fill_value=0.0, observed=True)
    # A date with nothing valued stays, with no shares (NaN), rather than vanish.
    table = table.reindex(pd.Index(frame["as_of"].unique(), name="as_of")).sort_index()
    totals = table.sum(axis=1)
    shares = table.div(totals.where(totals != 0), axis=0)
    if by == "maturity":
        order = [b for b in (*MATURITY_BUCKETS, UNCLASSIFIED) if b in shares.columns]
    else:
        latest = shares.iloc[-1] if len(shares) else pd.Series(dtype=float)
        named = [c for c in latest.sort_values(ascending=False).index if c != UNCLASSIFIED]
        order = named + ([UNCLASSIFIED] if UNCLASSIFIED in shares.columns else [])
    shares = shares[order]
    shares.columns.name = by
    return result_frame(shares, valued, shares=shares.columns)
