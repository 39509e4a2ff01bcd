"""What is valued and what is not: totals, the unvalued share, ``strict``.

Owns the totals of a valuation (sums over the valued positions, the unvalued
counted apart by reason, never as 0), the unvalued share analytics compare
with ``max_unvalued_share`` before trusting a concentration or a limit check,
and the ``strict`` refusal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.valuation import FLAGS, UNVALUED_REASONS, Valuation
from folio.errors import Unvalued


def max_unvalued(value: float | None) -> float:
    """``value``, or the setting ``max_unvalued_share`` (``FOLIO_MAX_UNVALUED_SHARE``)."""
    if value is not None:
        return float(value)
    from folio.config import get_settings

    return get_settings().max_unvalued_share


def unvalued_share(valued: pd.DataFrame) -> float:
    """Share of positions (by count) without a value; 0 for no positions.

    By count because their value is what is unknown: a share of value cannot
    be given for them.
    """
    n = len(valued)
    return float(np.isnan(valued["value"].to_numpy(dtype=float)).sum() / n) if n else 0.0


def totals(valued: pd.DataFrame, base_currency: str) -> dict[str, Any]:
    """Totals of valued positions, with the unvalued ones counted apart.

    ``value``, ``accrued`` and ``dirty_value`` are sums over the valued
    positions only. Unvalued positions are counted (``unvalued_positions``,
    by reason under ``unvalued``, ``unvalued_share`` of the positions) with
    the local amounts known for them (``unvalued_local``, per currency:
    a value that could not be converted). Per flag: positions, the value of
    those valued and how many are unvalued (``value`` is None when none is).
    """
    value = valued["value"].to_numpy(dtype=float)
    missing = np.isnan(value)
    known = np.nan_to_num(value)
    total = float(known.sum())
    flagged = valued["flagged"].to_numpy(dtype=bool)
    dates = valued["as_of"].dropna().unique() if "as_of" in valued else []
    flags = {}
    for flag in FLAGS:
        mask = valued[flag].to_numpy(dtype=bool)
        some = bool((mask & ~missing).any())
        flags[flag] = {"positions": int(mask.sum()),
                       "value": float(known[mask].sum()) if some else None,
                       "unvalued_positions": int((mask & missing).sum())}
    flagged_value = float(known[flagged].sum())
    reasons = valued["unvalued_reason"].value_counts() if "unvalued_reason" in valued else {}
    local = valued.loc[missing, ["currency", "local_value"]].dropna()
    return {
        "base_currency": base_currency,
        "as_of": pd.Timestamp(dates[0]).date().isoformat() if len(dates) == 1 else None,
        "positions": int(len(valued)),
        "valued_positions": int((~missing).sum()),
        "value": total,
        "accrued": float(np.nansum(valued["accrued"].to_numpy(dtype=float))),
        "dirty_value": float(np.nansum(valued["dirty_value"].to_numpy(dtype=float))),
        "unvalued_positions": int(missing.sum()),
        "unvalued_share": unvalued_share(valued),
        "unvalued": {r: int(reasons.get(r, 0)) for r in UNVALUED_REASONS},
        "unvalued_local": {str(c): float(v) for c, v in
                           local.groupby("currency", sort=True)["local_value"].sum().items()},
        "flagged_positions": int(flagged.sum()),
        "flagged_value": flagged_value,
        "flagged_share": flagged_value / total if total else None,
        "flags": flags,
    }


def require_valued(valuation: Valuation, what: str = "report") -> None:
    """Raise ``Unvalued`` if any position of ``valuation`` has no value (``strict=True``)."""
    frame = valuation.positions
    missing = frame["unvalued"].to_numpy(dtype=bool)
    if not missing.any():
        return
    reasons = frame.loc[missing, "unvalued_reason"].value_counts()
    counts = {r: int(reasons.get(r, 0)) for r in UNVALUED_REASONS if reasons.get(r, 0)}
    ids = sorted({str(i) for i in frame.loc[missing, "identifier"]})
    said = ", ".join(f"{n} {r}" for r, n in counts.items())
    raise Unvalued(f"strict: will not {what}: {int(missing.sum())} of {len(frame)} position(s) "
                   f"have no value ({said}): {', '.join(ids[:5])}"
                   + (f" and {len(ids) - 5} more" if len(ids) > 5 else ""),
                   positions=int(missing.sum()), reasons=counts, identifiers=ids[:20])


