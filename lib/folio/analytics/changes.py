"""Changes between two valued snapshots of a portfolio, with value attribution.

Owns matching positions across two dates (by identifier and currency; lines
of the same instrument are summed), their status (added, removed, changed,
unchanged quantity) and the split of each value change into a quantity, a
price and an FX effect.

Attribution
-----------
Write a position's base value as ``V = q * p * x``: quantity ``q``, local value
per unit ``p = local_value / q`` (per-100 bond quoting included) and FX rate
``x`` (base per local unit). From ``V0 = q0 p0 x0`` to ``V1 = q1 p1 x1``::

    quantity effect = (q1 - q0) * p0 * x0      at the old price and rate
    price effect    = q1 * (p1 - p0) * x0      the new quantity, old rate
    fx effect       = q1 * p1 * (x1 - x0)      the new quantity and price

The three telescope to ``V1 - V0`` exactly. In floating point a rounding
residual (about 1e-16 of the value) is added to the largest of the three, so
that they still sum to the change and an unchanged rate gives an FX effect of
exactly 0. An
added position (``q0 = 0``) takes ``p0 = p1`` and ``x0 = x1``: all of its value
is quantity effect; a removed one loses all of its value as quantity effect.
A position whose value is unknown on either date (missing price or FX) gets no
attribution, is counted in ``unattributed``, and the summary counts the
unvalued positions of each date apart (``unvalued_before``, ``unvalued_after``)
rather than as a change to or from 0. Values are clean; the change
of accrued interest is reported beside them.

A position absent from the later snapshot whose row that import rejected is
``rejected``, never ``removed`` (it is in the file, not sold); the summary
says which side is ``incomplete`` and by how many rows and how much value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.completeness import completeness, rejected_identifiers
from folio.analytics.frames import check_columns
from folio.analytics.valuation import Valuation
from folio.errors import ValidationError

# ``rejected``: absent from the later snapshot because its row was rejected at
# import (never "removed"); ``removed_or_rejected``: absent, and the later import
# rejected rows whose identifier could not be read, so it may be one of them.
STATUSES = ("added", "removed", "changed", "unchanged", "rejected", "removed_or_rejected")
_KEY = ["identifier", "currency"]


@dataclass(frozen=True)
class Changes:
    """Position changes between two snapshots.

    Attributes
    ----------
    positions
        One row per (identifier, currency): ``identifier, currency, name,
        status, quantity_before, quantity_after, value_before, value_after,
        change, quantity_effect, price_effect, fx_effect, accrued_change``.
    base_currency
        Currency of every value.
    """

    positions: pd.DataFrame
    base_currency: str
    completeness: dict[str, dict[str, Any]] = field(default_factory=dict)  # before, after
    dates: tuple[date | None, date | None] = (None, None)  # the two as-of dates compared

    def summary(self) -> dict[str, Any]:
        """Counts per status and the total change with its three effects."""
        frame = self.positions
        counts = frame["status"].value_counts()
        attributed = frame["quantity_effect"].notna()
        out: dict[str, Any] = {s: int(counts.get(s, 0)) for s in STATUSES}
        for column in ("value_before", "value_after", "change", "quantity_effect",
                       "price_effect", "fx_effect", "accrued_change"):
            out[column] = float(np.nansum(frame.loc[attributed, column].to_numpy(dtype=float)))
        out["unattributed"] = int((~attributed).sum())
        for side in ("before", "after"):
            present = frame[f"quantity_{side}"].notna()
            out[f"unvalued_{side}"] = int((present & frame[f"value_{side}"].isna()).sum())
        out["base_currency"] = self.base_currency
        out["as_of_before"], out["as_of_after"] = (d.isoformat() if d else None
                                                   for d in self.dates)
        for side in ("before", "after"):
            figures = self.completeness.get(side) or completeness({}, None)
            out[f"incomplete_{side}"] = figures["incomplete"]
            out[f"rejected_rows_{side}"] = figures["rejected_rows"]
            out[f"rejected_value_{side}"] = figures["rejected_value"]
        return out


def _collapse(valued: pd.DataFrame) -> pd.DataFrame:
    """One line per (identifier, currency): summed quantity, local and base values."""
    check_columns(valued, ("identifier", "currency", "quantity", "local_value", "value",
                           "accrued"), "compare_snapshots")
    frame = valued.assign(
        # A line with unknown value makes the instrument's total unknown.
        _unknown=valued["value"].isna() | valued["local_value"].isna(),
        name=valued["name"] if "name" in valued else pd.Series(pd.NA, index=valued.index),
    )
    grouped = frame.groupby(_KEY, sort=False, dropna=False)
    out = grouped.agg(name=("name", "first"), quantity=("quantity", "sum"),
                      local_value=("local_value", "sum"), value=("value", "sum"),
                      accrued=("accrued", "sum"), unknown=("_unknown", "any"))
    out.loc[out["unknown"], ["local_value", "value"]] = np.nan
    return out.drop(columns="unknown")


def compare_snapshots(before: Valuation, after: Valuation) -> Changes:
    """Positions added, removed and changed, and the value change split in three.

    Parameters
    ----------
    before, after
        Valuations of two snapshots in the same base currency.

    Returns
    -------
    Changes
        See the module docstring for the attribution.
    """
    if before.base_currency != after.base_currency:
        raise ValidationError(f"snapshots valued in {before.base_currency} and "
                              f"{after.base_currency}; value both in one base currency",
                              column="base_currency")
    old, new = _collapse(before.positions), _collapse(after.positions)
    both = old.join(new, how="outer", suffixes=("_0", "_1"))
    present0 = both["quantity_0"].notna().to_numpy()
    present1 = both["quantity_1"].notna().to_numpy()
    q0 = np.nan_to_num(both["quantity_0"].to_numpy(dtype=float))
    q1 = np.nan_to_num(both["quantity_1"].to_numpy(dtype=float))
    v0 = np.where(present0, both["value_0"].to_numpy(dtype=float), 0.0)
    v1 = np.where(present1, both["value_1"].to_numpy(dtype=float), 0.0)
    l0 = both["local_value_0"].to_numpy(dtype=float)
    l1 = both["local_value_1"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p0, p1 = l0 / q0, l1 / q1          # local value per unit
        x0, x1 = v0 / l0, v1 / l1          # FX rate actually applied
    # An instrument absent (or of zero quantity/value) on one date borrows the
    # other date's price and rate, so none of its value is called price or FX.
    p0 = np.where(np.isfinite(p0), p0, p1)
    p1 = np.where(np.isfinite(p1), p1, p0)
    x0 = np.where(np.isfinite(x0), x0, x1)
    x1 = np.where(np.isfinite(x1), x1, x0)
    p0, p1, x0, x1 = (np.nan_to_num(a) for a in (p0, p1, x0, x1))
    total = v1 - v0
    effects = np.stack([(q1 - q0) * p0 * x0, q1 * (p1 - p0) * x0, q1 * p1 * (x1 - x0)])
    # Floating-point rounding leaves a residual of the order of 1e-16 x value;
    # it goes to the largest effect, so an unchanged rate keeps an FX effect of
    # exactly 0 and the three still add up to the change.
    largest = np.argmax(np.abs(effects), axis=0)
    columns = np.arange(len(total))
    effects[largest, columns] += total - effects.sum(axis=0)
    effects[:, np.isnan(total)] = np.nan
    quantity_effect, price_effect, fx_effect = effects
    status = np.select([~present0, ~present1, q0 != q1], ["added", "removed", "changed"],
                       "unchanged").astype(object)
    gone_ids, unidentified = rejected_identifiers(after.rejected, after.as_of)
    if gone_ids or unidentified:
        ids = both.index.get_level_values(0).astype(str).str.upper()
        gone = status == "removed"
        status[gone & ids.isin(gone_ids)] = "rejected"
        if unidentified:
            status[(status == "removed")] = "removed_or_rejected"
        # Its value after is unknown, not 0: no change is attributed to it.
        unknown = status == "rejected"
        total = np.where(unknown, np.nan, total)
        effects[:, unknown] = np.nan
    accrued0 = np.nan_to_num(both["accrued_0"].to_numpy(dtype=float))
    accrued1 = np.nan_to_num(both["accrued_1"].to_numpy(dtype=float))
    out = pd.DataFrame({
        "identifier": both.index.get_level_values(0).astype("str"),
        "currency": both.index.get_level_values(1).astype("str"),
        "name": both["name_1"].fillna(both["name_0"]).to_numpy(),
        "status": pd.array(status, dtype="str"),
        "quantity_before": np.where(present0, q0, np.nan),
        "quantity_after": np.where(present1, q1, np.nan),
        "value_before": np.where(present0, v0, np.nan),
        "value_after": np.where(present1, v1, np.nan),
        "change": total, "quantity_effect": quantity_effect, "price_effect": price_effect,
        "fx_effect": fx_effect, "accrued_change": accrued1 - accrued0,
    })
    order = out["change"].abs().fillna(np.inf)  # unattributed rows first: they need a look
    out = out.assign(_o=order).sort_values(["_o", "identifier"], ascending=[False, True],
                                           kind="stable").drop(columns="_o")
    return Changes(out.reset_index(drop=True), before.base_currency,
                   {"before": completeness(before.rejected, before.as_of),
                    "after": completeness(after.rejected, after.as_of)},
                   (before.as_of, after.as_of))
