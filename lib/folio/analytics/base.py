"""Choosing a new portfolio's base currency from what it holds, and saying why.

Owns the rule: convert each currency's local amount into one yardstick (the
pivot, EUR) at the rates and legal parities of the as-of date, and take the
currency holding the most value. A raw sum of local amounts would let any CFA
franc holding (655.957 to the euro) outweigh a euro fund. A currency that
cannot be converted is named in the reason, and counts for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.fx import lookup_fx


def choose_base_currency(local: Mapping[str, float], as_of: date | str, fx_rates: Any = None,
                         *, pivot: str = "EUR", pegs: Any = None
                         ) -> tuple[str | None, str]:
    """The currency holding the most value once converted, and a sentence saying why.

    Parameters
    ----------
    local
        ``{currency: amount in that currency}`` (absolute values summed).
    as_of
        Date of the rates and parities.
    fx_rates, pegs
        As for ``lookup_fx``.

    Returns
    -------
    (code, reason)
        ``code`` is None when ``local`` is empty or nothing can be converted.
    """
    codes = [str(c).strip().upper() for c in local if str(c).strip()]
    amounts = np.array([float(local[c]) for c in local if str(c).strip()], dtype=float)
    if not codes:
        return None, "no position has a currency"
    rates = lookup_fx(codes, [as_of] * len(codes), pivot, fx_rates, pivot=pivot, pegs=pegs)
    value = amounts * rates["fx_rate"].to_numpy(dtype=float)
    known = ~np.isnan(value)
    unconverted = [c for c, k in zip(codes, known, strict=True) if not k]
    if not known.any():
        return None, (f"no rate or parity converts {', '.join(codes)} on "
                      f"{pd.Timestamp(as_of).date().isoformat()}")
    total = float(value[known].sum())
    order = np.argsort(-np.where(known, value, -np.inf), kind="stable")
    best = codes[order[0]]
    shares = ", ".join(f"{codes[i]} {value[i] / total:.0%}" for i in order if known[i])
    reason = (f"{best} holds the most value converted into {pivot} at the rates and parities "
              f"of {pd.Timestamp(as_of).date().isoformat()} ({shares})")
    if unconverted:
        reason += f"; not counted, no rate: {', '.join(unconverted)}"
    return best, reason
